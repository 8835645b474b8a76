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
import shutil
import signal
import time

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries, _order_to_host, _pool, _ssh, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, LINE_LENGTH, one_line, shown
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import add_document
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import FakeTime, make_provider, sequence, set_replies
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import (
    FakeResolver, folder_digest, make_pool)

SERVER = '192.0.2.50'
WOULD_ADD = 'would add Server=%s to the pool as server2 (groups: bitrix-hosts)' % SERVER


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


def run(env, task_id='t1', key_copy=None, pool_dir=None, hostname=None, resolver=None, **kwargs):
    target = _order_to_host.PoolTarget(env['pool'] if pool_dir is None else pool_dir, hostname=hostname,
                                       resolver=resolver or FakeResolver())
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
    # Found before any contact: the order is left as it was (no "error:").
    assert task_file(env) == ''


def test_missing_pool_refused_before_contact(env):
    os.unlink(os.path.join(env['pool'], 'hosts'))
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    key_copy = KeyCopy()
    assert fails(env, key_copy=key_copy).message.startswith('pool_not_created: cannot read %s/hosts: '
                                                            % env['pool'])
    assert key_copy.calls == []
    assert task_file(env) == ''


def test_check_mode_writes_and_contacts_nothing(env):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    before = (folder_digest(env['pool']), folder_digest(env['holder'] + '/tasks'))
    key_copy = KeyCopy()
    result = run(env, key_copy=key_copy, check_mode=True)
    assert result.changed is True
    assert result.message == WOULD_ADD
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
    planned = run(env, check_mode=True)
    assert (planned.state, planned.changed, planned.message) == ('resumed', True, WOULD_ADD)
    assert task_file(env) == ''
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


# ---------------------------------------------------------------- one add per order (issue 21, item 4)

class SlowKeyCopy(object):
    """A key copy that takes about 0.5 s, logging each call to a file (seen from every process)."""

    def __init__(self, log):
        self.log = log

    def __call__(self, server, password, private, public):
        with open(self.log, 'a') as handle:
            handle.write(server + '\n')
        time.sleep(0.5)


def _click(env, barrier, results, log, kwargs):
    barrier.wait()  # every process starts its add at the same moment
    try:
        result = run(env, key_copy=SlowKeyCopy(log), **kwargs)
        results.put((result.state, result.changed))
    except BxError as exc:
        results.put(('failed', exc.message))


def add_at_once(env, count, **kwargs):
    """Run ``count`` adds of order t1 in separate processes at once; their outcomes."""
    context = multiprocessing.get_context('fork')
    barrier, results = context.Barrier(count), context.Queue()
    log = os.path.join(env['holder'], 'key-copies.log')
    procs = [context.Process(target=_click, args=(env, barrier, results, log, kwargs)) for dummy in range(count)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for dummy in procs]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    with open(log) as handle:
        return sorted(outcomes), handle.read().split()


@pytest.mark.parametrize('count', [2, 5])
@pytest.mark.parametrize('before, retry_failed', [('', False), ('error: User enter incorrect password', True)])
def test_the_same_order_added_at_once_is_added_once(env, count, before, retry_failed):
    """A double click: two (or more) adds of one order at once; one adds, the
    others find it complete; never error, one key copy, one pool line."""
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    with open(os.path.join(env['holder'], 'tasks', 't1'), 'w') as handle:
        handle.write(before)
    outcomes, copies = add_at_once(env, count, retry_failed=retry_failed)
    assert outcomes == sorted([('added', True)] + [('complete', False)] * (count - 1))
    assert copies == [SERVER]
    assert task_file(env) == 'complete: Server=%s is added to the pool' % SERVER
    hosts = open(os.path.join(env['pool'], 'hosts')).read()
    assert hosts.count('ansible_ssh_host=%s' % SERVER) == 1
    assert not os.path.exists(_order_to_host.journal_path(env['holder'], 't1'))


def test_add_lock_is_per_order(env):
    providers = Providers(env['root'], Runner())
    with _order_to_host.add_lock(providers, 'p', 't2'):
        # Another order of the same provider is not held up by it.
        assert run(env).changed is True
    with _order_to_host.add_lock(providers, 'p', 'x' * 128):  # a long id gives a short lock name
        pass


# ---------------------------------------------------------------- this host and refused names (item 5)

THIS_HOST = ['0.0.0.0', '0.1.2.3', '0', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '::', '::1',
             '::ffff:127.0.0.1', '::ffff:0.0.0.0', '::ffff:7f00:2', '[::1]', 'localhost.', 'LocalHost',
             'db.localhost', 'localhost6', 'ip6-localhost']


@pytest.mark.parametrize('server', THIS_HOST)
def test_this_host_in_any_form_is_refused_before_contact(env, server):
    reply(env, {'status': 'finished', 'server': server, 'server_password': 'pw'})
    key_copy, resolver = KeyCopy(), FakeResolver()
    assert fails(env, key_copy=key_copy, resolver=resolver).message == (
        'Host::createHost: cannot use %s for add' % server)
    assert (key_copy.calls, resolver.asked, task_file(env)) == ([], [], '')


@pytest.mark.parametrize('addresses', [['0.0.0.0'], ['127.0.0.9'], ['192.0.2.60', '127.0.0.1']])
def test_a_name_resolving_to_this_host_is_refused_before_contact(env, addresses):
    reply(env, {'status': 'finished', 'server': 'new.example.com', 'server_password': 'pw'})
    key_copy = KeyCopy()
    error = fails(env, key_copy=key_copy, resolver=FakeResolver(a={'new.example.com': addresses}))
    assert error.message == 'Host::createHost: cannot use new.example.com for add'
    assert (key_copy.calls, task_file(env)) == ([], '')


@pytest.mark.parametrize('ptr, name', [
    ('localhost.lan', 'localhost'), ('all.test', 'all'), ('ungrouped.bx', 'ungrouped'),
    ('bitrix-web.lan', 'bitrix-web'), ('bitrix-hosts.private', 'bitrix-hosts'), ('custom.lan', 'custom'),
    ('2130706433.lan', '2130706433'), ('0x7f000001.lan', '0x7f000001'),
])
def test_refused_inventory_names_from_reverse_dns(env, ptr, name):
    with open(os.path.join(env['pool'], 'hosts'), 'a') as handle:
        handle.write('[custom:children]\nbitrix-web\n')
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    key_copy = KeyCopy()
    error = fails(env, key_copy=key_copy, resolver=FakeResolver(ptr={SERVER: ptr}))
    assert error.message.startswith('Host::createHost: name %s for %s (from the reverse DNS of %s) cannot be '
                                    'used in the pool: ' % (name, SERVER, SERVER))
    assert (key_copy.calls, task_file(env)) == ([], '')


@pytest.mark.parametrize('hostname', ['localhost', 'ALL', 'ungrouped', 'bitrix-web', 'bitrix-mysql'])
def test_refused_inventory_names_from_the_hostname_option(env, hostname):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    key_copy = KeyCopy()
    error = fails(env, key_copy=key_copy, hostname=hostname)
    assert error.message.startswith('Host::createHost: name %s for %s (from the option hostname) cannot be '
                                    'used in the pool: ' % (hostname, SERVER))
    assert (key_copy.calls, task_file(env)) == ([], '')


@pytest.mark.parametrize('hostname', ['127.0.0.1', '192.0.2.9', '0x7f000001', '10.1'])
def test_address_like_hostname_option_is_refused(env, hostname):
    key_copy = KeyCopy()
    assert fails(env, key_copy=key_copy, hostname=hostname).message.startswith(
        "bxenv: invalid hostname %s: " % hostname)
    assert (key_copy.calls, task_file(env)) == ([], '')


def test_a_server_named_like_a_group_is_refused(env):
    reply(env, {'status': 'finished', 'server': 'bitrix-web', 'server_password': 'pw'})
    key_copy = KeyCopy()
    error = fails(env, key_copy=key_copy, resolver=FakeResolver(a={'bitrix-web': ['192.0.2.77']}))
    assert error.message == ('Host::createHost: name bitrix-web for bitrix-web (from the DNS name of the server) '
                             'cannot be used in the pool: it is the name of a group')
    assert (key_copy.calls, task_file(env)) == ([], '')


# ---------------------------------------------------------------- provider values (item 6)

BAD_SERVERS = ['a' * (1 << 20), 'x\nserver9 ansible_ssh_host=10.0.0.1', 'x\r\nerror: y', 'x\x00y', 'x\u2028y',
               'bad server', 'x' * 254]


@pytest.mark.parametrize('server', BAD_SERVERS)
def test_a_server_that_is_no_address_fails_the_order_on_one_short_line(env, server):
    reply(env, {'status': 'finished', 'server': server, 'server_password': 'pw'})
    key_copy = KeyCopy()
    error = fails(env, key_copy=key_copy)
    assert error.message == 'Host::createHost: %s is not a valid DNS name' % shown(server)
    assert len(error.message) < 300
    assert key_copy.calls == []
    content = task_file(env)
    assert content == 'error: ' + error.message
    assert '\n' not in content and '\r' not in content and '\x00' not in content and len(content) <= LINE_LENGTH
    # The order shows as failed, not as "finished" again (no second "add to pool").
    assert _tasks.task_state(content) == 'error'
    entry = _queries.orders_list(Providers(env['root'], Runner()), 'p')['p']['t1']
    assert (entry['status'], entry['message']) == ('error', error.message)


@pytest.mark.parametrize('value, expected', [
    ('192.0.2.10', '192.0.2.10'),
    ('out of stock', 'out of stock'),
    ('a\nb', "'a\\nb'"),
    ('x\x00', "'x\\x00'"),
    ('', "''"),
    (' padded', "' padded'"),
    ('z' * 201, "'%s'... (201 characters)" % ('z' * 200)),
])
def test_shown_quotes_and_cuts_only_odd_values(value, expected):
    assert shown(value) == expected


def test_task_file_is_always_one_short_line(env):
    holder = env['holder']
    normal = 'complete: Server=%s is added to the pool' % SERVER
    _tasks.write_task_file(holder, 't1', normal)
    with open(os.path.join(holder, 'tasks', 't1'), 'rb') as handle:
        assert handle.read() == normal.encode()  # the original's format, byte for byte
    _tasks.write_task_file(holder, 't1', 'error: a\nb\rc\x00' + 'd' * 5000)
    content = task_file(env)
    assert content.startswith('error: a\\nb\\rc\\x00ddd') and content.endswith('...')
    assert len(content) == LINE_LENGTH + 3 and _tasks.overlay({}, content)['status'] == 'error'
    assert one_line('') == ''


def test_key_copy_failure_with_a_multiline_cause_stays_one_line(env):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    fails(env, key_copy=KeyCopy(BxError('The error occurred, error=255: see log; ssh: one\ntwo', 2)))
    assert task_file(env) == 'error: The error occurred, error=255: see log; ssh: one\\ntwo'


def test_already_message_is_bounded(env):
    with open(os.path.join(env['holder'], 'tasks', 't1'), 'w') as handle:
        handle.write('error: ' + 'e' * 100000 + '\nsecond line')
    message = fails(env).message
    assert message.startswith('bxProvider::order_to_hostProvider: task_id=t1 already error: eee')
    assert '\n' not in message and len(message) < LINE_LENGTH + 100


# ---------------------------------------------------------------- local mistakes keep the order (item 11)

def _break_pool(env, what):
    """Break the pool as a local mistake would; return (pool_dir, fix, words of the message)."""
    pool = env['pool']
    moved = pool + '.moved'
    if what == 'wrong pool_dir':
        return pool + '-typo', lambda: None, [pool + '-typo/hosts', 'pool_not_created: ']
    if what == 'empty pool_dir':
        return '', lambda: None, ['pool_not_created: pool_dir is empty']
    if what == 'missing hosts':
        shutil.move(os.path.join(pool, 'hosts'), moved)
        return pool, lambda: shutil.move(moved, os.path.join(pool, 'hosts')), [pool + '/hosts', 'pool_not_created: ']
    if what == 'missing host_vars':
        shutil.move(os.path.join(pool, 'host_vars'), moved)
        return pool, lambda: shutil.move(moved, os.path.join(pool, 'host_vars')), [pool + '/host_vars']
    key = os.path.join(pool, 'keys', 'id_rsa')
    shutil.move(key, moved)
    return pool, lambda: shutil.move(moved, key), ['BX_KEY_VIEW: Record private_key_file found in the config, '
                                                   'but private key does not exist in FS: ' + key]


@pytest.mark.parametrize('what', ['wrong pool_dir', 'empty pool_dir', 'missing hosts', 'missing host_vars',
                                  'missing key'])
@pytest.mark.parametrize('before', ['', 'error: User enter incorrect password'])
def test_a_local_mistake_keeps_the_order_and_the_fixed_retry_adds(env, what, before):
    reply(env, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'})
    with open(os.path.join(env['holder'], 'tasks', 't1'), 'w') as handle:
        handle.write(before)
    pool_dir, fix, words = _break_pool(env, what)
    key_copy = KeyCopy()
    message = fails(env, key_copy=key_copy, pool_dir=pool_dir, retry_failed=True).message
    for word in words:
        assert word in message
    assert (key_copy.calls, task_file(env)) == ([], before)
    fix()
    # The same run, the pool folder put right: no "already error", no retry_failed needed for a fresh order.
    result = run(env, key_copy=key_copy, retry_failed=bool(before))
    assert (result.state, task_file(env)) == ('added', 'complete: Server=%s is added to the pool' % SERVER)
    assert len(key_copy.calls) == 1


# add_order: the run of the module and the command ------------------------

@pytest.fixture
def copier(monkeypatch):
    """``_ssh.key_copier`` replaced by a recorder: ``made`` lists what it was built with."""
    key_copy = KeyCopy()
    key_copy.made = []

    def key_copier(runner, pool_dir, **options):
        key_copy.made.append((pool_dir, options))
        return key_copy
    monkeypatch.setattr(_ssh, 'key_copier', key_copier)
    return key_copy


def add_order(env, **kwargs):
    return _order_to_host.add_order(Providers(env['root'], Runner()), 'p', 't1', env['pool'],
                                    resolver=FakeResolver(), **kwargs)


def fake_wait(**kwargs):
    clock = FakeTime()
    return dict(dict(timeout=60, interval=5, clock=clock.clock, sleep=clock.sleep), **kwargs)


def test_add_order_waits_adds_and_gives_the_pool_facts(env, copier):
    reply(env, sequence({'status': 'in_progress'}, {'status': 'finished', 'server': SERVER, 'server_password': 'pw'}))
    key = os.path.join(env['pool'], 'other_key')
    added = add_order(env, ssh={'timeout': 5, 'port': 2222}, key_file=key, wait=fake_wait())
    message = 'Server=%s is added to the pool' % SERVER
    assert (added.task_id, added.added.state, added.added.message) == ('t1', 'added', message)
    assert added.waited == {'polls': 2, 'elapsed': 5, 'status': 'finished'}
    assert copier.made == [(env['pool'], {'timeout': 5, 'port': 2222})]
    assert copier.calls == [(SERVER, 'pw', key, key + '.pub')]
    assert added.known_hosts_file == os.path.join(env['pool'], '.ssh', 'known_hosts')
    assert added.setup_playbook['path'] == os.path.join(env['pool'], 'common.yml')
    assert added.pool_key_file == key
    assert task_file(env) == 'complete: Server=%s is added to the pool' % SERVER


def test_add_order_pending_has_no_pool_facts(env, copier):
    reply(env, {'status': 'in_progress'})
    added = add_order(env)
    assert (added.added.state, added.waited, added.known_hosts_file, added.pool_key_file) == ('pending', {}, None, None)
    assert copier.calls == []


def test_add_order_failure_details_name_the_task_and_the_wait(env, copier):
    reply(env, {'status': 'finished', 'server': 'localhost'})
    with pytest.raises(BxError) as info:
        add_order(env, wait=fake_wait())
    assert info.value.message == 'Host::createHost: cannot use localhost for add'
    assert info.value.details == {'task_id': 't1', 'polls': 1, 'elapsed': 0, 'status': 'finished'}
    failed = {'status': 'failed', 'message': 'out of stock'}
    reply(env, failed)
    with pytest.raises(BxError) as info:
        add_order(env, wait=fake_wait())
    assert info.value.details == {'task_id': 't1', 'polls': 1, 'elapsed': 0, 'order_status': failed}
    assert copier.calls == [] and task_file(env) == ''
