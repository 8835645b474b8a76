# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrent pool adds from separate processes, and the pool lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import stat
import subprocess
import sys

import ansible_collections.bitrix.bxenv as collection
from ansible_collections.bitrix.bxenv.plugins.module_utils import _pool
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import exclusive_lock
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import (
    HOSTS, make_pool)

# The folder that holds ansible_collections/, for the child processes.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(list(collection.__path__)[0])))

CHILD = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils import _pool
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

class NoDns(object):
    def reverse(self, address):
        return None

    def forward(self, name):
        return []

pool_dir, server, go, timeout = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
while go and not os.path.exists(go):
    time.sleep(0.002)
try:
    print(json.dumps({'name': _pool.add_host(server, pool_dir, resolver=NoDns(),
                                             lock_timeout=timeout)['name']}))
except BxError as exc:
    print(json.dumps(exc.document()))
'''

HOLDER = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import exclusive_lock
with exclusive_lock(sys.argv[2]):
    print('locked', flush=True)
    time.sleep(600)
'''


def start_adds(pool_dir, servers, go, timeout=120):
    return [subprocess.Popen([sys.executable, '-c', CHILD, ROOT, pool_dir, server, go, str(timeout)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            for server in servers]


def outcomes(procs):
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def run_together(pool_dir, servers, tmp_path):
    go = str(tmp_path / 'go')
    procs = start_adds(pool_dir, servers, go)
    open(go, 'w').close()  # release them all at once
    return outcomes(procs)


def test_twenty_processes_add_twenty_addresses(tmp_path):
    pool_dir = make_pool(tmp_path / 'pool', mode=0o640)
    servers = ['192.0.2.%d' % n for n in range(100, 120)]
    results = run_together(pool_dir, servers, tmp_path)
    names = [r['name'] for r in results]
    assert sorted(names) == sorted('server%d' % n for n in range(2, 22))
    pool = _pool.read_pool(pool_dir)
    assert pool.exists()
    assert len(pool.members) == 21
    for server, name in zip(servers, names):
        host = _pool.find_host(pool, address=server)
        assert host['name'] == name and host['groups'] == ['bitrix-hosts']
        assert _pool.load_yaml_file(host['host_vars_file'])['bx_netaddr'] == server
    # Every original byte is still there, in order, around the 20 new lines.
    text = pool.text
    header = '[bitrix-hosts]\n'
    cut = HOSTS.index(header) + len(header)
    new_lines = text[cut:len(text) - (len(HOSTS) - cut)]
    assert text[:cut] == HOSTS[:cut] and text.endswith(HOSTS[cut:])
    assert sorted(new_lines.splitlines()) == sorted('%s ansible_ssh_host=%s' % (n, s)
                                                    for n, s in zip(names, servers))
    assert stat.S_IMODE(os.stat(os.path.join(pool_dir, 'hosts')).st_mode) == 0o640


def test_ten_processes_add_the_same_address_once(tmp_path):
    pool_dir = make_pool(tmp_path / 'pool')
    results = run_together(pool_dir, ['192.0.2.50'] * 10, tmp_path)
    added = [r for r in results if 'name' in r]
    refused = [r for r in results if 'error' in r]
    assert added == [{'name': 'server2'}]
    assert refused == [{'error': 1, 'message': 'Host::createHost: 192.0.2.50 is already in the pool as server2'}] * 9
    text = _pool.read_pool(pool_dir).text
    assert text.count('192.0.2.50') == 1
    assert sorted(os.listdir(os.path.join(pool_dir, 'host_vars'))) == ['server1', 'server2']


def test_add_waits_for_the_lock_and_times_out(tmp_path):
    pool_dir = make_pool(tmp_path / 'pool')
    with exclusive_lock(os.path.join(pool_dir, _pool.LOCK_NAME)):
        result = outcomes(start_adds(pool_dir, ['192.0.2.60'], '', timeout=0.3))[0]
        assert result['error'] == 1
        assert result['message'].startswith('bxenv: Timed out after 0.3 s waiting for the lock ')
        assert _pool.read_pool(pool_dir).text == HOSTS
    assert outcomes(start_adds(pool_dir, ['192.0.2.60'], '', timeout=5))[0] == {'name': 'server2'}


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    pool_dir = make_pool(tmp_path / 'pool')
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, ROOT, os.path.join(pool_dir, _pool.LOCK_NAME)],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline() == 'locked\n'
        assert 'error' in outcomes(start_adds(pool_dir, ['192.0.2.70'], '', timeout=0.2))[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert outcomes(start_adds(pool_dir, ['192.0.2.70'], '', timeout=5))[0] == {'name': 'server2'}
