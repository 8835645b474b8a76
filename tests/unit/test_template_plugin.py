# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider plugin template (examples/providers/template), judged by the collection's own core.

A copy of the template in a temporary providers root is probed, ordered
from and waited on with ``_provider``, ``_queries`` and ``_orders``; its
executable is run as a real process (``_runner.run``) for ``order_token``,
parallel orders and hostile arguments; ``make dist`` builds the archive that
``_install`` then installs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import threading

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _install, _orders, _queries, _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import ErrorReply, Providers, parse_reply
from ansible_collections.bitrix.bxenv.tests.unit.fakes import OWNER
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.test__archive import tree_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, 'examples', 'providers', 'template')
NAME = 'template'
TOKEN = 'BX_ORDER_TOKEN'


def write_conf(holder, **settings):
    lines = ['%s = %s' % item for item in sorted(settings.items())]
    with open(os.path.join(holder, 'etc', NAME + '.conf'), 'w') as handle:
        handle.write('\n'.join(lines) + '\n')


@pytest.fixture
def holder(root):
    """The template copied into the providers root, its orders ready after 1 s."""
    path = os.path.join(root, NAME)
    shutil.copytree(TEMPLATE, path, ignore=shutil.ignore_patterns('__pycache__', 'var', 'dist'))
    write_conf(path, order_seconds=1)
    return path


@pytest.fixture
def providers(root):
    return Providers(root, timeout=30)


def run(holder, *args, **environ):
    """``bin/template <args>`` as a process, with ``environ`` added; its parsed reply."""
    result = _runner.run([os.path.join(holder, 'bin', NAME)] + list(args), timeout=30, cwd=holder,
                         environ_update=environ or None)
    assert result.rc == 0 and not result.timed_out, result
    return json.loads(result.stdout.decode('utf-8'))


def stored(holder):
    """The plugin's data file, parsed (it must be valid JSON)."""
    with open(os.path.join(holder, 'var', 'orders.json')) as handle:
        return json.load(handle)


@pytest.fixture(autouse=True)
def no_token(monkeypatch):
    monkeypatch.delenv(TOKEN, raising=False)


def test_probe_shows_every_action_and_configs_pass_the_reply_checks(holder, providers):
    record = providers.probe(NAME)
    assert record['status'] == 'enabled'
    assert record['config'] == 'exists'
    assert record['options'] == {'help': 1, 'init': 0, 'configs': 1, 'order': 1, 'order_status': 1}
    reply = _queries.configs(providers, NAME)[NAME]
    assert reply['status'] == 'enabled'
    assert [c['id'] for c in reply['configurations']] == ['1', '2', '3']
    assert all(isinstance(c['descr'], str) and c['descr'] for c in reply['configurations'])


def test_help_lists_order_token(holder):
    assert 'order_token' in run(holder, 'help')['options']


def test_an_order_placed_by_the_core_finishes_with_a_server(holder, providers):
    outcome = _orders.place(providers, NAME, '2')
    assert outcome.changed and outcome.task_id
    assert os.path.isfile(os.path.join(holder, 'tasks', outcome.task_id))
    first = _queries.order_status_reply(providers, NAME, outcome.task_id)
    assert first['status'] == 'in_progress'
    reply, polls, _elapsed = _orders.wait(providers, NAME, outcome.task_id, timeout=30, interval=1)
    assert reply['status'] == 'finished' and polls >= 1
    assert reply['server'].startswith('192.0.2.') and reply['server_password']
    assert reply['task_id'] == outcome.task_id and reply['config_id'] == '2'


@pytest.mark.parametrize('action, argument, code', [
    ('bogus', None, 1),            # unknown action
    ('order', None, 1),            # missing config id (argv: order alone)
    ('order', '9', 2),             # unknown config id
    ('order', '../etc', 1),        # invalid config id
    ('order', 'a b', 1),
    ('order_status', None, 1),     # missing task id
    ('order_status', '424242', 3),  # unknown task id
    ('order_status', '..', 1),     # invalid task id
    ('order_status', '1001/x', 1),
])
def test_bad_calls_are_error_replies(holder, providers, action, argument, code):
    record = providers.probe(NAME)
    with pytest.raises(ErrorReply) as caught:
        providers.call(record, action, argument)
    assert caught.value.code == code
    assert not os.path.exists(os.path.join(holder, 'var', 'orders.json'))


def test_anything_unexpected_is_an_error_reply_with_the_traceback_on_stderr(holder, providers):
    os.makedirs(os.path.join(holder, 'var'))
    with open(os.path.join(holder, 'var', 'orders.json'), 'w') as handle:
        json.dump({'version': 1, 'tokens': {}, 'orders': {'1001': {'config_id': '1'}}}, handle)
    result = _runner.run([os.path.join(holder, 'bin', NAME), 'order_status', '1001'], timeout=30, cwd=holder)
    assert json.loads(result.stdout.decode('utf-8')) == {
        'error': 4, 'error_message': "internal error: KeyError: 'ready_at'"}
    assert b'Traceback' in result.stderr
    with pytest.raises(ErrorReply):
        providers.call(providers.probe(NAME), 'order_status', '1001')


@pytest.mark.parametrize('content, expected', [
    ('{"orders": [', 'is damaged'),
    ('[]', 'is damaged'),
])
def test_a_damaged_data_file_is_an_error_reply_and_is_left_alone(holder, providers, content, expected):
    os.makedirs(os.path.join(holder, 'var'))
    path = os.path.join(holder, 'var', 'orders.json')
    with open(path, 'w') as handle:
        handle.write(content)
    with pytest.raises(ErrorReply) as caught:
        providers.call(providers.probe(NAME), 'order', '1')
    assert expected in caught.value.message
    with open(path) as handle:
        assert handle.read() == content


@pytest.mark.parametrize('conf, expected', [
    ({'order_secs': '1'}, 'line 1: expected one of data_dir, order_seconds'),
    ({'order_seconds': 'soon'}, 'order_seconds'),
    ({'order_seconds': '-1'}, 'order_seconds'),
    ({'data_dir': 'tasks/.mine'}, 'data_dir must not be under'),
])
def test_a_bad_setting_is_an_error_reply_naming_the_file(holder, providers, conf, expected):
    write_conf(holder, **conf)
    reply = run(holder, 'order', '1')
    assert reply['error'] == 4
    assert expected in reply['error_message'] and 'template.conf' in reply['error_message']
    assert not os.path.exists(os.path.join(holder, 'tasks'))


def test_an_absolute_data_dir_is_used(holder, tmp_path):
    data = str(tmp_path / 'elsewhere')
    write_conf(holder, order_seconds=1, data_dir=data)
    task_id = run(holder, 'order', '1')['task_id']
    with open(os.path.join(data, 'orders.json')) as handle:
        assert list(json.load(handle)['orders']) == [task_id]
    assert not os.path.exists(os.path.join(holder, 'var'))


def test_the_same_token_returns_the_same_order(holder):
    first = run(holder, 'order', '1', **{TOKEN: 'x'})
    second = run(holder, 'order', '1', **{TOKEN: 'x'})
    assert first['task_id'] == second['task_id']
    data = stored(holder)
    assert list(data['orders']) == [first['task_id']]
    assert data['tokens'] == {'x': first['task_id']}


def test_different_tokens_place_different_orders(holder):
    one = run(holder, 'order', '1', **{TOKEN: 'x'})['task_id']
    two = run(holder, 'order', '1', **{TOKEN: 'y.2-Z_'})['task_id']
    assert one != two
    assert sorted(stored(holder)['orders']) == sorted([one, two])


def test_without_a_token_each_call_places_a_new_order(holder):
    ids = [run(holder, 'order', '1')['task_id'] for dummy in range(3)]
    assert len(set(ids)) == 3
    assert sorted(stored(holder)['orders']) == sorted(ids)
    assert stored(holder)['tokens'] == {}


@pytest.mark.parametrize('token', ['', 'a b', 'x' * 129, '../x', 'ü'])
def test_an_invalid_token_orders_nothing(holder, token):
    reply = run(holder, 'order', '1', **{TOKEN: token})
    assert reply['error'] == 1 and TOKEN in reply['error_message']
    assert not os.path.exists(os.path.join(holder, 'var', 'orders.json'))


def test_a_stored_order_is_found_after_the_call_that_stored_it_was_killed(holder):
    """What a killed call leaves: the order and its token stored (one atomic
    write), plus a half-written temporary file. The retry returns that order."""
    first = run(holder, 'order', '3', **{TOKEN: 'retry-me'})
    with open(os.path.join(holder, 'var', '.orders.json.dead'), 'w') as handle:
        handle.write('{"half')
    again = run(holder, 'order', '3', **{TOKEN: 'retry-me'})
    assert again['task_id'] == first['task_id']
    run(holder, 'order', '3')  # a write removes what the dead writer left
    assert not os.path.exists(os.path.join(holder, 'var', '.orders.json.dead'))
    assert len(stored(holder)['orders']) == 2


def parallel(count, func):
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def one(index):
        try:
            start.wait()
            results[index] = func(index)
        except Exception as exc:  # reported below
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_eight_parallel_orders_get_eight_ids_and_the_data_file_stays_whole(holder):
    replies = parallel(8, lambda i: run(holder, 'order', str(1 + i % 3)))
    assert all('task_id' in reply for reply in replies), replies
    ids = [reply['task_id'] for reply in replies]
    assert len(set(ids)) == 8
    assert sorted(stored(holder)['orders']) == sorted(ids)


def test_parallel_orders_with_one_token_place_one_order_beside_the_others(holder):
    """Four calls share a token, four have none: five orders, the token's once."""
    replies = parallel(8, lambda i: run(holder, 'order', '1', **({TOKEN: 'same'} if i % 2 else {})))
    with_token = set(reply['task_id'] for reply in replies[1::2])
    without = [reply['task_id'] for reply in replies[0::2]]
    assert len(with_token) == 1 and len(set(without)) == 4 and not with_token & set(without)
    data = stored(holder)
    assert sorted(data['orders']) == sorted(with_token | set(without))
    assert data['tokens'] == {'same': with_token.pop()}


def test_a_full_order_cycle_writes_only_in_the_data_folder(holder):
    tasks = os.path.join(holder, 'tasks')
    os.makedirs(os.path.join(tasks, '.bxenv'))
    with open(os.path.join(tasks, '1001'), 'w') as handle:
        handle.write('')
    before = tree_state(holder)
    task_id = run(holder, 'order', '1', **{TOKEN: 'cycle'})['task_id']
    assert task_id == '1001'
    reply, _polls, _elapsed = _orders.wait(Providers(os.path.dirname(holder), timeout=30), NAME, task_id,
                                           timeout=30, interval=1)
    assert reply['status'] == 'finished'
    after = tree_state(holder)
    changed = set(path for path in set(before) | set(after) if before.get(path) != after.get(path))
    assert changed and all(path == 'var' or path.startswith('var' + os.sep) for path in changed), changed


def test_make_dist_builds_an_archive_the_collection_installs(tmp_path, root):
    source = str(tmp_path / 'source')
    shutil.copytree(TEMPLATE, source, ignore=shutil.ignore_patterns('__pycache__', 'var', 'dist'))
    built = _runner.run(['make', 'dist'], timeout=120, cwd=source)
    assert built.rc == 0, built
    archive = os.path.join(source, 'dist', NAME + '.tar.gz')
    with open(archive, 'rb') as handle:
        first = handle.read()
    os.remove(archive)
    assert _runner.run(['make', 'dist'], timeout=120, cwd=source).rc == 0
    with open(archive, 'rb') as handle:
        assert handle.read() == first  # reproducible
    providers = Providers(root, timeout=30)
    result = _install.install(providers, NAME, archive, **OWNER)
    assert result['changed'] is True
    assert result['files']['added'] == [
        'README.md', 'bin/template', 'etc/template.conf', 'lib/backend.py', 'lib/bxprovider.py']
    assert providers.probe(NAME)['options']['order_status'] == 1
    assert not os.path.exists(os.path.join(root, NAME, 'Makefile'))
    assert _install.install(providers, NAME, archive, **OWNER)['changed'] is False


@pytest.mark.parametrize('argv', [
    [b'order_status', b'\xff\xfe'],   # argv bytes that are not UTF-8
    [b'\xed\xa0\xbd'],                # a surrogate's UTF-8 bytes
    [b'order', b'x' * 5000],
])
def test_hostile_argument_bytes_get_an_error_reply_the_core_accepts(holder, argv):
    result = _runner.run([os.path.join(holder, 'bin', NAME).encode()] + argv, timeout=30, cwd=holder)
    reply = parse_reply(result.stdout)  # the collection's checks: UTF-8, no lone surrogate, ...
    assert reply['error'] == 1
    assert reply['error_message'].startswith(('invalid', 'unknown action'))
    assert len(reply['error_message']) < 400
