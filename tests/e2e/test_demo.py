# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` (tools/demo/demo.sh) end to end, and its refusal without root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from ansible_collections.bitrix.bxenv.tests.e2e import helpers


def run_demo(demo_dir):
    env = dict(os.environ, BXENV_DEMO_DIR=str(demo_dir))
    return subprocess.run(['bash', helpers.DEMO], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)


def steps(output):
    return re.findall(r'(?m)^==> \[ *[0-9.]+s\] step (\d+)/(\d+): ', output)


def test_demo_orders_adds_pings_and_cleans_up(tmp_path):
    if os.geteuid() != 0:
        pytest.fail('the demo needs root')
    before = helpers.netns_names()
    for attempt in (1, 2):   # a second run over the first one's sandbox works too
        demo = run_demo(tmp_path / 'demo')
        assert demo.returncode == 0, demo.stdout
        out = demo.stdout
        assert steps(out) == [(str(n), '13') for n in range(1, 14)]
        assert 'openssh-server' in out.split('\n', 3)[1]   # says what it installs

        # The new server is in [bitrix-hosts] of the printed pool inventory.
        hosts = out[out.index('step 10/13'):out.index('step 11/13')]
        hosts = hosts[hosts.index('[bitrix-hosts]'):hosts.index('[bitrix-mgmt]')]
        member = re.search(r'(?m)^    server2 ansible_ssh_host=(10\.214\.\d+\.2)$', hosts)
        assert member, hosts
        address = member.group(1)
        # The three servers of bitrix.bxenv.pool: ordered at once, added, set up.
        pool = out[out.index('step 9/13'):out.index('step 10/13')]
        added = re.findall(r'"msg": "demo-pool-\d \(netns_lab, config_id 2\): added, ordered, task_id \d+, '
                           r'host (server\d) at (10\.214\.\d+\.2)"', pool)
        assert sorted(name for name, unused in added) == ['server3', 'server4', 'server5'], pool
        for name, server in added:
            assert re.search(r'(?m)^    %s ansible_ssh_host=%s$' % (name, re.escape(server)), hosts), hosts
            assert re.search(r'\(%s at %s\), set-up playbook: common\.yml: rc=0, ' % (name, re.escape(server)), pool)
        assert re.search(r'localhost +: ok=\d+ +changed=4 +unreachable=0 +failed=0 ', pool)
        # ping through the pool inventory: the four new servers and the master.
        ping = out[out.index('step 11/13'):out.index('step 12/13')]
        for name in ('server1', 'server2', 'server3', 'server4', 'server5'):
            assert re.search(r'(?m)^%s \| SUCCESS' % name, ping), ping
        assert ping.count('"ping": "pong"') == 5
        # The orders ended complete; the playbook's summary and second run.
        assert len(re.findall(r'(?m)^    netns_lab order \d+: complete$', out)) == 4
        assert 'Server=%s is added to the pool' % address in out
        assert 'set-up playbook: common.yml rc=0' in out
        again = out[out.index('step 8/13'):out.index('step 9/13')]
        assert re.search(r'localhost +: ok=\d+ +changed=0 ', again) and re.search(r'server2 +: ok=\d+ +changed=0 ', again)
        # Nothing left behind: none of the demo's namespaces, checked here too.
        assert "ip netns list: none of the demo's namespaces" in out
        holder = os.path.join(str(tmp_path / 'demo'), 'appliance', 'providers', 'netns_lab')
        unused, listed = helpers.plugin(holder, 'list')
        assert [o['state'] for o in listed['orders']] == ['destroyed'] * 4
        assert not helpers.our_namespaces(holder) & helpers.netns_names()
        assert helpers.netns_names() - before == set()
        assert 'demo finished' in out.strip().splitlines()[-1]


def test_demo_without_root_stops_at_once_saying_why():
    # A world-readable copy, so an unprivileged user can read the script.
    folder = tempfile.mkdtemp(prefix='bxenv-demo-')
    try:
        os.chmod(folder, 0o755)
        script = os.path.join(folder, 'demo.sh')
        shutil.copy(helpers.DEMO, script)
        os.chmod(script, 0o755)
        proc = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', script],
                              cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60, check=False)
        assert proc.returncode == 1
        assert proc.stdout == ''
        assert 'this needs root, and nothing was done' in proc.stderr
        assert 'network namespaces' in proc.stderr and 'sudo make demo' in proc.stderr
        assert os.listdir(folder) == ['demo.sh']
    finally:
        shutil.rmtree(folder)
