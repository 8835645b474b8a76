# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""order_to_host on real fake providers and a pool folder; the key copy is a recorder.

Real SSH is covered in tests/lab; here the flow around it: status decisions,
task-file states, refusals before any contact, check mode, interrupted adds,
concurrency.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import signal

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _order_to_host, _pool
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import add_document
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, set_replies
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import (
    FakeResolver, folder_digest, make_pool)

SERVER = '192.0.2.50'


class KeyCopy(object):
    """Records key copies; fails with ``error`` when given one."""

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def __call__(self, server, password, private, public):
        self.calls.append((server, password, private, public))
        if self.error:
            raise self.error


@pytest.fixture
def env(tmp_path):
    root = str(tmp_path / 'providers')
    pool = make_pool(tmp_path / 'pool')
    os.makedirs(os.path.join(pool, 'keys'))
    for name in ('id_rsa', 'id_rsa.pub'):
        open(os.path.join(pool, 'keys', name), 'w').close()
    with open(os.path.join(pool, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\n# private_key_file = /nowhere\nprivate_key_file = %s/keys/id_rsa\n' % pool)
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    os.makedirs(os.path.join(holder, 'tasks'))
    open(os.path.join(holder, 'tasks', 't1'), 'w').close()
    return {'root': root, 'pool': pool, 'holder': holder}


def run(env, task_id='t1', key_copy=None, **kwargs):
    target = _order_to_host.PoolTarget(env['pool'], resolver=FakeResolver())
    return _order_to_host.order_to_host(Providers(env['root'], Runner()), 'p', task_id, target,
                                        key_copy or KeyCopy(), **kwargs)


def task_file(env, task_id='t1'):
    with open(os.path.join(env['holder'], 'tasks', task_id)) as handle:
        return handle.read()


def reply(env, value):
    set_replies(env['holder'], {'order_status': value})


def fails(env, **kwargs):
    with pytest.raises(BxError) as info:
        run(env, **kwargs)
    return info.value


def test_adds_a_finished_server(env):
    result = run(env)
    assert result.changed is True
    assert add_document(result) == {'message': 'Server=%s is added to the pool' % SERVER}
    assert result.host['name'] == 'server2'
    assert result.host['address'] == SERVER
    assert result.host['groups'] == ['bitrix-hosts']
    assert task_file(env) == 'complete: Server=%s is added to the pool' % SERVER
    pool = _pool.read_pool(env['pool'])
    assert _pool.find_host(pool, address=SERVER)['name'] == 'server2'
    assert not os.path.exists(_order_to_host.journal_path(env['holder'], 't1'))


def test_second_run_changes_nothing(env):
    run(env)
    digest = folder_digest(env['pool'])
    result = run(env)
    assert result.changed is False
    assert result.message == (
        'bxProvider::order_to_hostProvider: task_id=t1 already complete: Server=%s is added to the pool' % SERVER)
    assert result.host['name'] == 'server2'
    assert folder_digest(env['pool']) == digest


@pytest.mark.parametrize('status', ['in_progress', 'queued', 'creating', 'Finished'])
def test_not_ready_returns_the_reply(env, status):
    reply(env, {'status': status, 'eta': 5})
    result = run(env)
    assert (result.state, result.changed, result.reply) == ('pending', False, {'status': status, 'eta': 5})
    assert add_document(result) == {'params': {'provider_order': {'p': {'status': status, 'eta': 5}}}}
    assert task_file(env) == ''


@pytest.mark.parametrize('status', ['error', 'failed'])
def test_failed_orders_fail_with_the_provider_message(env, status):
    reply(env, {'status': status, 'message': 'out of stock'})
    error = fails(env)
    assert error.message == 'Order task_id=t1 of provider p %s: out of stock' % status
    assert task_file(env) == ''


@pytest.mark.parametrize('status, text', [('5', '5'), (5, '5'), (0, '0'), ('42', '42')])
def test_numeric_status(env, status, text):
    reply(env, {'status': status})
    assert fails(env).message == 'Unknown status=%s for p' % text


def test_missing_task_file(env):
    assert fails(env, task_id='t2').message == (
        'bxProvider::order_to_hostProvider: Not found saved task_id=t2 on this server')


def test_needs_task_id(env):
    assert fails(env, task_id=None).message == (
        'bxProvider::order_to_hostProvider: You must provide task_id for status request')


def test_unusable_provider(env):
    set_replies(env['holder'], help_reply={'status': 'disabled', 'options': ['order_status']})
    assert fails(env).message == 'bxProvider::order_to_hostProvider: Provider p disabled on the host'
    set_replies(env['holder'], help_reply={'options': ['order']})
    assert fails(env).message == "bxProvider::order_to_hostProvider: Provider p doesn't support order_status option"


def test_status_missing(env):
    reply(env, {'server': SERVER})
    assert fails(env).message == "bxProvider::order_to_hostProvider: Provider p doesn't return status for task_id=t1"


def test_unexpected_task_file_content_is_an_error(env):
    with open(os.path.join(env['holder'], 'tasks', 't1'), 'w') as handle:
        handle.write('pending')
    assert 'has unexpected content' in fails(env).message
    assert task_file(env) == 'pending'


def test_error_state_fails_then_retry_runs_again(env):
    with open(os.path.join(env['holder'], 'tasks', 't1'), 'w') as handle:
        handle.write('error: User enter incorrect password')
    assert fails(env).message == (
        'bxProvider::order_to_hostProvider: task_id=t1 already error: User enter incorrect password')
    assert run(env, retry_failed=True).changed is True
    assert task_file(env).startswith('complete:')


def test_key_copy_gets_password_and_pool_key(env):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': '0'})
    key_copy = KeyCopy()
    run(env, key_copy=key_copy)
    key = os.path.join(env['pool'], 'keys', 'id_rsa')
    assert key_copy.calls == [(SERVER, '0', key, key + '.pub')]


def test_key_copy_failure_is_recorded(env):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'bad'})
    digest = folder_digest(env['pool'])
    error = fails(env, key_copy=KeyCopy(BxError('User enter incorrect password', 2)))
    assert (error.code, error.message) == (2, 'User enter incorrect password')
    assert task_file(env) == 'error: User enter incorrect password'
    assert folder_digest(env['pool']) == digest


@pytest.mark.parametrize('server, message', [
    ('127.0.0.5', 'Host::createHost: cannot use 127.0.0.5 for add'),
    ('localhost', 'Host::createHost: cannot use localhost for add'),
    ('192.0.2.1', 'Host::createHost: 192.0.2.1 is already in the pool as server1'),
])
def test_refusals_before_any_contact(env, server, message):
    reply(env, {'status': 'finished', 'server': server, 'server_password': 'pw'})
    key_copy = KeyCopy()
    assert fails(env, key_copy=key_copy).message == message
    assert key_copy.calls == []
    assert task_file(env) == 'error: ' + message


def test_missing_pool_refused_before_contact(env):
    os.unlink(os.path.join(env['pool'], 'hosts'))
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    key_copy = KeyCopy()
    assert fails(env, key_copy=key_copy).message == 'pool_not_created'
    assert key_copy.calls == []


def test_check_mode_writes_and_contacts_nothing(env):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    before = (folder_digest(env['pool']), folder_digest(env['holder'] + '/tasks'))
    key_copy = KeyCopy()
    result = run(env, key_copy=key_copy, check_mode=True)
    assert result.changed is True
    assert result.host['name'] == 'server2'
    assert 'server2 ansible_ssh_host=%s' % SERVER in result.diff['after']
    assert 'server2' not in result.diff['before']
    assert key_copy.calls == []
    assert (folder_digest(env['pool']), folder_digest(env['holder'] + '/tasks')) == before


def _killed_after_pool_write(env):
    """Child process: run the add, SIGKILL itself when the task file is about to be completed."""
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _tasks
    real = _tasks.write_task_file

    def write(holder, task_id, content):
        if content.startswith('complete'):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(holder, task_id, content)

    _tasks.write_task_file = write
    run(env)


def test_killed_between_pool_write_and_task_file_resumes(env):
    child = multiprocessing.get_context('fork').Process(target=_killed_after_pool_write, args=(env,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert task_file(env) == ''
    assert os.path.exists(_order_to_host.journal_path(env['holder'], 't1'))
    result = run(env)
    assert result.changed is True and result.state == 'resumed'
    assert task_file(env).startswith('complete:')
    hosts = open(os.path.join(env['pool'], 'hosts')).read()
    assert hosts.count('ansible_ssh_host=%s' % SERVER) == 1


def _add_task(args):
    env, task_id = args
    try:
        return run(env, task_id=task_id).changed
    except BxError as exc:
        return exc.message


def test_twenty_concurrent_adds(env):
    table = {'help': {'options': ['order_status'], 'status': 'enabled'}}
    for number in range(20):
        task_id = 'c%02d' % number
        table['order_status ' + task_id] = {'status': 'finished', 'server': '198.51.100.%d' % (number + 10)}
        open(os.path.join(env['holder'], 'tasks', task_id), 'w').close()
    set_replies(env['holder'], table, help_reply=table['help'])
    jobs = [(env, 'c%02d' % n) for n in range(20)]
    with multiprocessing.get_context('fork').Pool(20) as workers:
        assert workers.map(_add_task, jobs) == [True] * 20
    pool = _pool.read_pool(env['pool'])
    assert len(pool.members) == 21
    addresses = sorted(host['address'] for host in pool.hosts.values())
    assert addresses == sorted(['192.0.2.1'] + ['198.51.100.%d' % (n + 10) for n in range(20)])
    with multiprocessing.get_context('fork').Pool(20) as workers:
        assert workers.map(_add_task, jobs) == [False] * 20
    assert len(_pool.read_pool(env['pool']).members) == 21
