# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_order_to_host through ``main()`` against real sshd lab hosts (needs root).

A fake provider answers ``finished`` with a lab host's address and password;
the key copy, the pool files and a final ``ansible -m ping`` through the pool
inventory are real.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.bitrix.bxenv.plugins.modules import bx_order_to_host
from ansible_collections.bitrix.bxenv.tests.lab.pytest_lab import lab  # noqa: F401  pylint: disable=unused-import
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, set_replies
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import folder_digest, make_pool

LAB_HOSTS = 3


@pytest.fixture
def appliance(tmp_path):
    """A sandbox appliance: providers folder, pool with a real key pair."""
    pool = make_pool(tmp_path / 'pool', mode=0o644)
    key = os.path.join(pool, 'id_pool')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bxenv-pool', '-f', key], check=True)
    with open(os.path.join(pool, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\n#private_key_file = /elsewhere\nprivate_key_file = %s\n' % key)
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'lab')
    os.makedirs(os.path.join(holder, 'tasks'))
    return {'pool': pool, 'key': key, 'root': root, 'holder': holder}


def order(appliance, task_id, host, password=None):
    """An order placed earlier whose status is finished on ``host``."""
    open(os.path.join(appliance['holder'], 'tasks', task_id), 'w').close()
    reply = {'status': 'finished', 'server': host['address'],
             'server_password': host['password'] if password is None else password}
    table = {}
    fake = os.path.join(appliance['holder'], 'fake.json')
    if os.path.exists(fake):
        import json
        with open(fake) as handle:
            table = json.load(handle)
        table.pop('help', None)
    table['order_status ' + task_id] = reply
    set_replies(appliance['holder'], table)


def args(appliance, task_id, **extra):
    values = {'provider': 'lab', 'task_id': task_id, 'providers_dir': appliance['root'], 'pool_dir': appliance['pool']}
    values.update(extra)
    return values


def task_file(appliance, task_id):
    with open(os.path.join(appliance['holder'], 'tasks', task_id)) as handle:
        return handle.read()


def authorized(host):
    path = os.path.join(host['root_dir'], '.ssh', 'authorized_keys')
    return open(path).read() if os.path.exists(path) else ''


def test_adds_a_lab_host_for_real(run_module, lab, appliance):
    host, other = lab.hosts[0], lab.hosts[1]
    order(appliance, 't-real', host)
    result = run_module(bx_order_to_host, args(appliance, 't-real', _ansible_diff=True))
    assert result['changed'] is True, result
    assert result['message'] == 'Server=%s is added to the pool' % host['address']
    assert result['host']['name'] == 'server2'
    assert result['host']['address'] == host['address']
    assert result['host']['connect'] == 'ipv4'
    assert 'server2 ansible_ssh_host=%s' % host['address'] in result['diff']['after']
    assert host['password'] not in str(result)
    assert task_file(appliance, 't-real') == 'complete: Server=%s is added to the pool' % host['address']
    public = open(appliance['key'] + '.pub').read().split()[1]
    assert authorized(host).count(public) == 1
    assert public not in authorized(other)
    with open(os.path.join(appliance['pool'], 'hosts')) as handle:
        assert handle.read().startswith('# BitrixVM pool inventory\n\n[bitrix-hosts]\nserver2 ansible_ssh_host=%s\n'
                                        % host['address'])
    with open(os.path.join(appliance['pool'], 'host_vars', 'server2')) as handle:
        host_vars = handle.read()
    assert 'bx_netaddr: %s\n' % host['address'] in host_vars and 'bx_connect: ipv4\n' in host_vars
    known_hosts = os.path.join(appliance['pool'], '.ssh', 'known_hosts')
    assert host['address'] in open(known_hosts).read()

    # Reach it through the pool inventory with the pool key alone.
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='True', ANSIBLE_CONFIG=os.path.join(appliance['pool'], 'ansible.cfg'),
               ANSIBLE_SSH_ARGS='-o ControlMaster=no')  # no master left running after the test
    ping = subprocess.run([ansible, '-i', os.path.join(appliance['pool'], 'hosts'), 'server2', '-m', 'ping',
                           '-u', 'root', '--ssh-common-args', '-F /dev/null -o UserKnownHostsFile=%s' % known_hosts],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert ping.returncode == 0, ping.stdout.decode()
    assert b'"ping": "pong"' in ping.stdout

    digest = folder_digest(appliance['pool'])
    again = run_module(bx_order_to_host, args(appliance, 't-real'))
    assert again['changed'] is False
    assert again['message'].endswith('task_id=t-real already complete: Server=%s is added to the pool' % host['address'])
    assert folder_digest(appliance['pool']) == digest
    assert authorized(host).count(public) == 1


def test_wrong_password_then_retry(run_module, lab, appliance):
    host = lab.hosts[2]
    order(appliance, 't-pw', host, password='wrong-password')
    failed = run_module(bx_order_to_host, args(appliance, 't-pw'))
    assert failed['failed'] is True
    assert (failed['error'], failed['msg']) == (2, 'User enter incorrect password')
    assert task_file(appliance, 't-pw') == 'error: User enter incorrect password'

    order(appliance, 't-pw', host)
    with open(os.path.join(appliance['holder'], 'tasks', 't-pw'), 'w') as handle:
        handle.write('error: User enter incorrect password')
    again = run_module(bx_order_to_host, args(appliance, 't-pw'))
    assert again['failed'] is True
    assert again['msg'] == 'bxProvider::order_to_hostProvider: task_id=t-pw already error: User enter incorrect password'
    fixed = run_module(bx_order_to_host, args(appliance, 't-pw', retry_failed=True))
    assert fixed['changed'] is True, fixed
    assert task_file(appliance, 't-pw').startswith('complete: ')


def test_refusals_make_no_connection(run_module, lab, appliance):
    host = lab.hosts[1]
    before = lab.connections(host)
    order(appliance, 't-loop', {'address': '127.0.0.2', 'password': host['password']})
    refused = run_module(bx_order_to_host, args(appliance, 't-loop'))
    assert refused['msg'] == 'Host::createHost: cannot use 127.0.0.2 for add'
    # The address already belongs to server1 in the pool.
    pool_hosts = os.path.join(appliance['pool'], 'hosts')
    with open(pool_hosts) as handle:
        text = handle.read()
    with open(pool_hosts, 'w') as handle:
        handle.write(text.replace('192.0.2.1', host['address']))
    order(appliance, 't-dup', host)
    duplicate = run_module(bx_order_to_host, args(appliance, 't-dup'))
    assert duplicate['msg'] == 'Host::createHost: %s is already in the pool as server1' % host['address']
    # A refusal found before any contact leaves the order as it was (docs/protocol.md section 8, step b).
    assert task_file(appliance, 't-dup') == ''
    assert lab.connections(host) == before


def test_check_mode_contacts_and_writes_nothing(run_module, lab, appliance):
    host = lab.hosts[1]
    order(appliance, 't-check', host)
    before = (folder_digest(appliance['pool']), folder_digest(appliance['holder'] + '/tasks'), lab.connections(host))
    result = run_module(bx_order_to_host, args(appliance, 't-check', _ansible_diff=True), check_mode=True)
    assert result['changed'] is True
    assert result['host']['address'] == host['address']
    assert 'ansible_ssh_host=%s' % host['address'] in result['diff']['after']
    assert 'ansible_ssh_host=%s' % host['address'] not in result['diff']['before']
    after = (folder_digest(appliance['pool']), folder_digest(appliance['holder'] + '/tasks'), lab.connections(host))
    assert after == before


def test_not_finished_returns_masked_params(run_module, appliance):
    open(os.path.join(appliance['holder'], 'tasks', 't-wait'), 'w').close()
    set_replies(appliance['holder'], {'order_status': {'status': 'in_progress', 'root_password': 'x'}})
    result = run_module(bx_order_to_host, args(appliance, 't-wait'))
    assert result['changed'] is False
    assert result['status'] == 'in_progress'
    assert result['params'] == {'provider_order': {'lab': {'status': 'in_progress', 'root_password': '********'}}}
