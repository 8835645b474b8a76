# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab itself: real sshd hosts in network namespaces, isolated from this machine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.bitrix.bxenv.tests.lab import lab as labmod
from ansible_collections.bitrix.bxenv.tests.unit.fakes import wait_gone

# What the lab must never change on the real machine.
MARK = 'bxlab-mark-%d' % os.getpid()
WATCHED = ['/etc/shadow', '/etc/passwd', '/var/log/wtmp', '/var/log/btmp', '/var/log/lastlog']


def _snapshot():
    snap = {}
    for path in WATCHED:
        try:
            with open(path, 'rb') as handle:
                snap[path] = hashlib.sha256(handle.read()).hexdigest()
        except IOError:
            snap[path] = None
    snap['/root/.ssh'] = sorted(
        (name, hashlib.sha256(open(os.path.join('/root/.ssh', name), 'rb').read()).hexdigest())
        for name in os.listdir('/root/.ssh')) if os.path.isdir('/root/.ssh') else None
    snap['/root'] = sorted(os.listdir('/root'))
    return snap


def _netns():
    out = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    return set(line.split()[0] for line in out.splitlines() if line.strip())


@pytest.fixture
def lab_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.fail('the lab needs root')
    path = str(tmp_path / 'lab')
    yield path
    labmod.down(path)


def test_hosts_are_isolated_and_torn_down(lab_dir):
    before = _snapshot()
    state = labmod.up(lab_dir, count=2, password='same-for-both')
    overlay = labmod.add_host(lab_dir, password='0', overlay=True)
    expired = labmod.add_host(lab_dir, expired=True)
    hosts = state['hosts'] + [overlay, expired]
    assert len(set(h['address'] for h in hosts)) == 4
    assert json.load(open(os.path.join(lab_dir, 'lab.json')))['hosts'] == hosts

    for host in hosts[:3]:
        with open(host['log']) as handle:
            assert 'Connection from' not in handle.read()   # nothing connected yet
        proc = labmod.ssh(host, 'id -u; echo $HOME; touch /root/mark /tmp/%s; echo hi > /var/log/%s' % (MARK, MARK))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ['0', '/root']
        with open(host['log']) as handle:
            log = handle.read()
        assert 'Connection from %s' % host['gateway'] in log
        assert 'Accepted password for root' in log
        # the host's own /root is the lab's folder
        assert os.path.exists(os.path.join(host['root_dir'], 'mark'))
    # each host has its own password: another host's is refused
    wrong = dict(hosts[2], password='same-for-both')
    assert labmod.ssh(wrong, 'true').returncode == 255
    # with an overlay, writes to / stay in the host
    proc = labmod.ssh(overlay, 'echo x > /etc/bxlab-overlay-probe && cat /etc/bxlab-overlay-probe')
    assert proc.stdout == 'x\n'
    assert not os.path.exists('/etc/bxlab-overlay-probe')
    # the expired host: lastchg 0 in its private shadow, and sshd enforces it
    with open(os.path.join(expired['host_dir'], 'shadow')) as handle:
        assert [l for l in handle.read().splitlines() if l.startswith('root:')][0].split(':')[2] == '0'
    proc = labmod.ssh(expired, 'id -u')
    assert proc.returncode != 0 and 'Password change required' in proc.stderr

    pids = [h['pid'] for h in hosts]
    labmod.down(lab_dir)
    assert not _netns() & set(h['namespace'] for h in hosts)
    links = subprocess.run(['ip', '-o', 'link'], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    assert not [h for h in hosts if ' %s@' % h['veth'] in links or ' %s:' % h['veth'] in links]
    for pid in pids:
        assert labmod._pid_start(pid, live=True) is None
    assert json.load(open(os.path.join(lab_dir, 'lab.json')))['hosts'] == []
    assert _snapshot() == before
    # the non-overlay hosts' /tmp and /var/log are private too
    assert not os.path.exists('/tmp/' + MARK) and not os.path.exists('/var/log/' + MARK)
    assert os.path.exists(os.path.join(hosts[0]['host_dir'], 'tmp', MARK))


def test_add_host_with_index_and_cli(lab_dir):
    host = labmod.add_host(lab_dir, index=213, password='pw 213')
    assert host['address'] == '10.213.213.2' and host['namespace'] == 'bxlab213'
    with pytest.raises(labmod.LabError, match='taken'):
        labmod.add_host(lab_dir, index=213)
    assert labmod.ssh(host, 'true').returncode == 0
    labmod.remove_host(lab_dir, host['name'])
    assert 'bxlab213' not in _netns()
    # the CLI
    script = labmod.__file__
    proc = subprocess.run([sys.executable, script, 'up', '--dir', lab_dir, '--count', '1'],
                          stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0
    started = json.loads(proc.stdout)['hosts'][0]
    assert labmod.ssh(started, 'true').returncode == 0
    status = json.loads(subprocess.run([sys.executable, script, 'status', '--dir', lab_dir],
                                       stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout)
    assert [h['name'] for h in status['hosts']] == [started['name']]
    assert subprocess.run([sys.executable, script, 'down', '--dir', lab_dir], check=False).returncode == 0
    # Its sshd is gone and the lab is empty (the namespace name itself may
    # already serve another test's host: the lab hands out the lowest free one).
    assert wait_gone(started['pid'])
    status = json.loads(subprocess.run([sys.executable, script, 'status', '--dir', lab_dir],
                                       stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout)
    assert status['hosts'] == []


def test_sweep_stops_orphans(tmp_path):
    if os.geteuid() != 0:
        pytest.fail('the lab needs root')
    kept_dir, lost_dir = str(tmp_path / 'kept'), str(tmp_path / 'lost')
    try:
        kept = labmod.add_host(kept_dir)
        lost = labmod.add_host(lost_dir)
        shutil.rmtree(lost_dir)   # a killed run whose temp folder was cleaned
        removed = labmod.sweep()
        assert lost['namespace'] in removed and kept['namespace'] not in removed
        # The lost host's sshd is gone (its namespace name may already serve
        # another test's host: the lab hands out the lowest free one).
        assert kept['namespace'] in _netns()
        assert labmod._pid_start(lost['pid'], live=True) is None
        assert labmod.ssh(kept, 'true').returncode == 0
    finally:
        labmod.down(kept_dir)
