# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_order_to_host through ``main()``, without root or network.

A stand-in ``ssh`` first on PATH answers as OpenSSH would for the key copy
(key login refused, password login adding the key, key login working) and
runs the remote command in a folder standing for the server's home; it
never connects. The provider is a fake whose order is finished; the pool is
a folder. The real OpenSSH: tests/e2e/test_bx_order_to_host_lab.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _naming
from ansible_collections.bitrix.bxenv.plugins.modules import bx_order_to_host
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, sequence, set_replies, tree
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import (
    FakeResolver, folder_digest, make_pool)

SERVER = '192.0.2.50'
PASSWORD = 'S3cret pw'
PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxenvBxenvBxenvBxenvBxenvBxenvBxenvBxenvBxenv pool@appliance'
FINISHED = {'status': 'finished', 'server': SERVER, 'server_password': PASSWORD}
ADDED = 'Server=%s is added to the pool' % SERVER

# Reads fake_ssh.json beside it ({"password", "home"}) and appends its argv
# to calls.log there. Records the host key on first contact, as
# StrictHostKeyChecking=accept-new does. BatchMode=yes is the key login: it
# works once the key of IdentityFile is in <home>/.ssh/authorized_keys.
# Otherwise it asks SSH_ASKPASS for the password (the askpass helper reads
# ssh's stdin) and, when it is right, runs the remote command with HOME=<home>.
FAKE_SSH = r'''
import json, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'fake_ssh.json')) as handle:
    config = json.load(handle)
argv = sys.argv[1:]
with open(os.path.join(here, 'calls.log'), 'a') as handle:
    handle.write(json.dumps(argv) + '\n')
options = dict(value.split('=', 1) for flag, value in zip(argv, argv[1:]) if flag == '-o')
end = argv.index('--')
server, command = argv[end + 1], argv[end + 2]
user = argv[argv.index('-l') + 1]

known_hosts = options['UserKnownHostsFile']
lines = open(known_hosts).read().splitlines() if os.path.exists(known_hosts) else []
if not any(line.split()[0] == server for line in lines if line.strip()):
    with open(known_hosts, 'a') as handle:
        handle.write('%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheFakeServer\n' % server)
    sys.stderr.write("Warning: Permanently added '%s' (ED25519) to the list of known hosts.\n" % server)


def remote(command):
    env = {'HOME': config['home'], 'PATH': '/usr/bin:/bin'}
    sys.exit(subprocess.call(['/bin/sh', '-c', command], env=env, stdin=subprocess.DEVNULL))


def denied():
    sys.stderr.write('%s@%s: Permission denied (publickey,password).\n' % (user, server))
    sys.exit(255)


if options.get('BatchMode') == 'yes':
    authorized = os.path.join(config['home'], '.ssh', 'authorized_keys')
    blob = open(options['IdentityFile'] + '.pub').read().split()[1]
    if os.path.exists(authorized) and blob in open(authorized).read():
        remote(command)
    denied()
answer = subprocess.run([os.environ['SSH_ASKPASS'], "%s@%s's password: " % (user, server)],
                        stdout=subprocess.PIPE, check=False)
if answer.returncode != 0 or answer.stdout != (config['password'] + '\n').encode():
    denied()
remote(command)
'''


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Providers root with provider p and its order t1 (finished), a pool with
    its key, the server's home folder and the stand-in ssh first on PATH."""
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'p', {'order_status': FINISHED})
    os.makedirs(os.path.join(holder, 'tasks'))
    open(os.path.join(holder, 'tasks', 't1'), 'w').close()
    pool = make_pool(tmp_path / 'pool')
    key = os.path.join(pool, 'keys', 'id_ed25519')
    os.makedirs(os.path.dirname(key))
    with open(key, 'w') as handle:
        handle.write('not read: only its public half goes to the server\n')
    with open(key + '.pub', 'w') as handle:
        handle.write(PUBLIC_KEY + '\n')
    open(os.path.join(pool, 'common.yml'), 'w').close()
    with open(os.path.join(pool, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\nprivate_key_file = %s\n' % key)
    home = str(tmp_path / 'server-home')
    os.makedirs(home)
    bin_dir = str(tmp_path / 'bin')
    os.makedirs(bin_dir)
    ssh = os.path.join(bin_dir, 'ssh')
    with open(ssh, 'w') as handle:
        handle.write('#!%s\n%s' % (sys.executable, FAKE_SSH))
    os.chmod(ssh, 0o755)
    with open(os.path.join(bin_dir, 'fake_ssh.json'), 'w') as handle:
        json.dump({'password': PASSWORD, 'home': home}, handle)
    monkeypatch.setenv('PATH', bin_dir + os.pathsep + os.environ.get('PATH', os.defpath))
    monkeypatch.setattr(_naming, 'SystemResolver', FakeResolver)  # no DNS
    return {'root': root, 'holder': holder, 'pool': pool, 'key': key, 'home': home, 'bin': bin_dir,
            'tmp': str(tmp_path)}


def args(world, **extra):
    values = {'provider': 'p', 'task_id': 't1', 'providers_dir': world['root'], 'pool_dir': world['pool']}
    values.update(extra)
    return values


def ssh_calls(world):
    path = os.path.join(world['bin'], 'calls.log')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def read(*parts):
    with open(os.path.join(*parts)) as handle:
        return handle.read()


def test_adds_the_server_then_changes_nothing(run_module, world):
    result = run_module(bx_order_to_host, args(world))
    assert result['changed'] is True, result
    assert (result['msg'], result['message'], result['task_id']) == (ADDED, ADDED, 't1')
    assert (result['status'], result['server']) == ('finished', SERVER)
    assert result['host'] == {'name': 'server2', 'address': SERVER, 'connect': 'ipv4', 'groups': ['bitrix-hosts'],
                              'host_vars_file': os.path.join(world['pool'], 'host_vars', 'server2')}
    known_hosts = os.path.join(world['pool'], '.ssh', 'known_hosts')
    assert result['known_hosts_file'] == known_hosts
    assert result['pool_key_file'] == world['key']
    assert result['setup_playbook'] == {'path': os.path.join(world['pool'], 'common.yml'), 'name': 'common.yml',
                                        'exists': True, 'monitoring': False}
    assert not set(result) & {'params', 'resumed', 'diff', 'polls', 'elapsed', 'failed'}
    assert PASSWORD not in json.dumps(result)
    # The host is in the pool, the order is complete, the key is on the "server" once.
    assert 'server2 ansible_ssh_host=%s' % SERVER in read(world['pool'], 'hosts')
    assert 'bx_netaddr: %s\n' % SERVER in read(world['pool'], 'host_vars', 'server2')
    assert read(world['holder'], 'tasks', 't1') == 'complete: ' + ADDED
    assert read(world['home'], '.ssh', 'authorized_keys') == PUBLIC_KEY + '\n'
    assert read(known_hosts).startswith(SERVER + ' ssh-ed25519 ')
    # key login refused, password login adding the key, key login proving it
    calls = ssh_calls(world)
    assert [call[call.index('--') + 2].split()[0] for call in calls] == ['echo', 'sh', 'echo']
    assert ['BatchMode=yes', 'BatchMode=no', 'BatchMode=yes'] == [
        value for call in calls for value in call if value.startswith('BatchMode=')]
    assert all(call[call.index('--') + 1] == SERVER and PASSWORD not in ' '.join(call) for call in calls)

    tasks = os.path.join(world['holder'], 'tasks')
    digest = (folder_digest(world['pool']), folder_digest(tasks), folder_digest(world['home']))
    again = run_module(bx_order_to_host, args(world))
    assert again['changed'] is False
    assert again['msg'] == 'bxProvider::order_to_hostProvider: task_id=t1 already complete: ' + ADDED
    assert again['host']['name'] == 'server2'
    assert (folder_digest(world['pool']), folder_digest(tasks), folder_digest(world['home'])) == digest
    assert len(ssh_calls(world)) == 3


def test_check_mode_says_what_it_would_add_and_changes_nothing(run_module, world):
    before = tree(world['tmp'])
    result = run_module(bx_order_to_host, args(world, _ansible_diff=True), check_mode=True)
    assert result['changed'] is True
    would = 'would add Server=%s to the pool as server2 (groups: bitrix-hosts)' % SERVER
    assert (result['msg'], result['message']) == (would, would)
    assert (result['task_id'], result['status'], result['server']) == ('t1', 'finished', SERVER)
    assert result['host']['name'] == 'server2'
    assert 'server2 ansible_ssh_host=%s' % SERVER in result['diff']['after']
    assert SERVER not in result['diff']['before']
    assert result['pool_key_file'] == world['key']
    assert tree(world['tmp']) == before
    assert ssh_calls(world) == []


def test_not_finished_returns_the_masked_reply(run_module, world):
    set_replies(world['holder'], {'order_status': {'status': 'in_progress', 'root_password': 'x'}})
    result = run_module(bx_order_to_host, args(world))
    assert (result['changed'], result['status'], result['task_id']) == (False, 'in_progress', 't1')
    assert result['params'] == {'provider_order': {'p': {'status': 'in_progress', 'root_password': '********'}}}
    assert 'host' not in result and 'msg' not in result
    assert read(world['holder'], 'tasks', 't1') == ''


def test_wait_then_add(run_module, world):
    set_replies(world['holder'], {'order_status': sequence({'status': 'in_progress'}, FINISHED)})
    result = run_module(bx_order_to_host, args(world, wait=True, poll_interval=1))
    assert (result['changed'], result['status'], result['polls']) == (True, 'finished', 2)
    assert isinstance(result['elapsed'], float)
    assert read(world['holder'], 'tasks', 't1') == 'complete: ' + ADDED


def test_wrong_password_fails_and_marks_the_order(run_module, world):
    set_replies(world['holder'], {'order_status': dict(FINISHED, server_password='wrong')})
    result = run_module(bx_order_to_host, args(world))
    assert result['failed'] is True
    assert (result['msg'], result['message'], result['error']) == (('User enter incorrect password',) * 2 + (2,))
    assert result['task_id'] == 't1'
    assert read(world['holder'], 'tasks', 't1') == 'error: User enter incorrect password'
    assert SERVER not in read(world['pool'], 'hosts')


def test_without_ssh_fails_naming_it(run_module, world, monkeypatch):
    empty = os.path.join(world['tmp'], 'empty')
    os.makedirs(empty)
    monkeypatch.setenv('PATH', empty)
    result = run_module(bx_order_to_host, args(world))
    assert result['failed'] is True
    assert result['msg'] == 'bxenv: the OpenSSH client (ssh) is needed to copy the pool key'
    assert (result['error'], result['task_id']) == (1, 't1')
    assert SERVER not in read(world['pool'], 'hosts')
    assert ssh_calls(world) == []
    # Found before any contact: the order stays as it was, to be added once ssh is installed.
    assert read(world['holder'], 'tasks', 't1') == ''


def test_refusal_leaves_the_order_as_it_was(run_module, world):
    set_replies(world['holder'], {'order_status': dict(FINISHED, server='127.0.0.2')})
    result = run_module(bx_order_to_host, args(world))
    assert (result['failed'], result['msg'], result['task_id']) == (
        True, 'Host::createHost: cannot use 127.0.0.2 for add', 't1')
    assert read(world['holder'], 'tasks', 't1') == ''
    assert ssh_calls(world) == []
