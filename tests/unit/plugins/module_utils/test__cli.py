# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bx-provider command line (``_cli.main``) on real fake providers.

What it prints (JSON and plain) and its exit status, against docs/protocol.md
sections 4, 5, 6 and 11, and the deliberate differences of docs/protocol.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import re

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries
from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli
from ansible_collections.bitrix.bxenv.plugins.module_utils import _naming
from ansible_collections.bitrix.bxenv.plugins.module_utils import _ssh
from ansible_collections.bitrix.bxenv.tests.unit.fakes import (
    add_task, calls, finished_jobs, make_ansible_playbook, make_provider, playbook_calls, raw)
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import FakeResolver, make_pool

CONFIGS = {'status': 'enabled', 'configurations': [
    {'id': '10', 'descr': 'ten'}, {'id': '2', 'descr': 'two'}, {'id': '1', 'descr': 'one'}]}
FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'S3cret!'}


@pytest.fixture
def sp(root):
    """``superprovider``: supports everything; orders get ids t1, t2, ..."""
    return make_provider(root, 'superprovider', {
        'configs': CONFIGS,
        'order': raw('{"task_id": "t{n}", "extra": "kept"}'),
        'order_status': {'status': 'in_progress', 'task_id': 'x'},
    }, config=True)


def run(root, *args, **settings):
    """``bx-provider <args>`` with its settings fixed (``providers_dir`` ``root``): (rc, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    rc = _cli.main(list(args), out, err, runner=Runner(), settings=dict(settings, providers_dir=root))
    return rc, out.getvalue(), err.getvalue()


def run_json(root, *args, **settings):
    rc, out, err = run(root, '-o', 'json', *args, **settings)
    assert '\n' not in out, 'one line, no trailing newline'
    return rc, json.loads(out)


def mtime(holder, task_id):
    return int(os.stat(os.path.join(holder, 'tasks', task_id)).st_mtime)


# Option parsing (docs/protocol.md 5) ------------------------------------------------

@pytest.mark.parametrize('argv, expected', [
    ([], {'action': 'list', 'output': 'plain', 'verbose': False}),
    (['-vo', 'json'], {'verbose': True, 'output': 'json'}),
    (['-ojson', '-astatus'], {'output': 'json', 'action': 'status'}),
    (['--action=configs', '--output', 'txt'], {'action': 'configs', 'output': 'txt'}),
    (['--provider'], {'provider': ''}),
    (['--provider='], {'provider': ''}),
    (['--task_id', '--provider', 'p'], {'task_id': '', 'provider': 'p'}),
    (['-o', '-a', 'list'], {'output': '', 'action': 'list'}),
    (['--config_id', '-'], {'config_id': '-'}),
    (['--archive', '/tmp/p 1.tar.gz', '-h'], {'archive': '/tmp/p 1.tar.gz', 'help': True}),
])
def test_parse_args(argv, expected):
    options, problem = _cli.parse_args(argv)
    assert problem is None
    assert dict((key, options[key]) for key in expected) == expected


def test_options_not_given_are_none():
    options, problem = _cli.parse_args(['-a', 'order'])
    assert (options['provider'], options['config_id'], options['task_id'], options['archive']) == (None,) * 4


@pytest.mark.parametrize('argv, problem', [
    (['--bogus'], 'Unknown option: bogus'),
    (['-vx'], 'Unknown option: x'),
    (['--xyz'], 'Unknown option: xyz'),
    (['--verbose=1'], 'Option verbose does not take an argument'),
    # docs/protocol.md, difference 16: the original's options exactly, each once, and nothing else.
    (['--prov', 'p'], 'Unknown option: prov'),
    (['--a', 'order'], 'Unknown option: a'),
    (['--timeout', '5'], 'Unknown option: timeout'),
    (['--providers_dir=/x'], 'Unknown option: providers_dir'),
    (['--provider', 'a', '--provider', 'b'], 'Option provider given more than once'),
    (['-a', 'status', '--action', 'uninstall'], 'Option action given more than once'),
    (['-vv'], 'Option verbose given more than once'),
    (['-v', '--verbose'], 'Option verbose given more than once'),
    (['list', '-a', 'status'], "Unexpected argument: 'list'"),
    (['--task_id', '1002', 'x'], "Unexpected argument: 'x'"),
    (['--', '-a', 'status'], "Unexpected argument: '--'"),
    (['-a', 'list', '-'], "Unexpected argument: '-'"),
    (['--provider', 'p\n--x'], None),
    (['--bad\x1b[2J'], "Unknown option: 'bad\\x1b[2J'"),
])
def test_parse_args_problems(argv, problem):
    assert _cli.parse_args(argv)[1] == problem


# Usage (docs/protocol.md 5: stdout, rc 0) --------------------------------------------

@pytest.mark.parametrize('args', [
    ['-h'], ['--help', '-a', 'list'], ['-a', 'bogus'], ['-a', ''], ['-o', 'xml'], ['-o', ''],
    ['-a', 'list|x'], ['-a', 'lis.'], ['-a', '(list'],
])
def test_usage(root, args):
    rc, out, err = run(root, *args)
    assert (rc, out, err) == (0, _cli.USAGE % 'fixed in its build', '')
    for option in ('--action', '--output', '--provider', '--config_id', '--task_id', '--archive', '--verbose', '--help'):
        assert option in out


def test_unknown_option_is_an_error_document_not_a_crash(root):
    # docs/protocol.md, difference 1: the original died with status 255 and nothing on stdout.
    assert run_json(root, '--bogus') == (1, {'error': 1, 'message': 'Unknown option: bogus'})
    assert run(root, '-x') == (1, 'message:Unknown option: x\nerror:1\n', '')


def test_unknown_option_wins_over_help(root):
    assert run_json(root, '-h', '--bogus') == (1, {'error': 1, 'message': 'Unknown option: bogus'})


def test_unknown_option_with_bad_format_prints_plain(root):
    assert run(root, '-o', 'xml', '--bogus') == (1, 'message:Unknown option: bogus\nerror:1\n', '')


def test_pool_has_no_handler(root):
    assert run_json(root, '-a', 'pool') == (1, {'error': 1, 'message': 'Unknown action=pool'})
    assert run(root, '-a', 'pool') == (1, 'message:Unknown action=pool\nerror:1\n', '')


@pytest.mark.parametrize('settings, message', [
    ({'timeout': 0}, 'bx-provider-bxenv: timeout must be a whole number of seconds from 1 to 86400, got 0'),
    ({'workers': 0}, 'bx-provider-bxenv: workers must be a whole number from 1 to 64, got 0'),
    ({'max_output': 10 ** 400}, 'bx-provider-bxenv: max_output must be a whole number of bytes from 1024 to'),
])
def test_bad_settings(root, settings, message):
    rc, document = run_json(root, **settings)
    assert (rc, document['error']) == (1, 1) and document['message'].startswith(message)


def test_verbose_is_accepted_and_writes_nothing(root, sp, tmp_path):
    before = sorted(os.listdir(str(tmp_path)))
    assert run(root, '-v') == run(root)
    assert sorted(os.listdir(str(tmp_path))) == before


# list (6.1) -------------------------------------------------------------------

def test_list_default_action_and_plain_format(root, sp):
    make_provider(root, 'off', help_reply={'options': ['help'], 'status': 'disabled'})
    make_provider(root, 'noexec', executable=False)
    make_provider(root, 'quiet', help_reply=raw(''))
    rc, out, err = run(root)
    assert (rc, err) == (0, '')
    assert out == ('provider:status:noexec:error\n'
                   'provider:status:off:disabled\n'
                   'provider:status:quiet:exists\n'
                   'provider:status:superprovider:enabled\n')
    assert run(root, '-a', 'list', '-o', 'text') == (rc, out, err)


def test_list_json(root, sp):
    make_provider(root, 'noexec', executable=False)
    assert run_json(root, '-a', 'list') == (0, {'params': {'providers': {
        'superprovider': {'status': 'enabled'},
        'noexec': {'error': 1, 'message': 'bxProvider::optionsProvider: Provider noexec not exist on the host'},
    }}})


def test_list_empty_root(root):
    assert run_json(root) == (0, {'params': {'providers': {}}})
    assert run(root) == (0, '', '')


def test_list_missing_root(tmp_path):
    missing = str(tmp_path / 'none')
    assert run_json(missing) == (1, {'error': 1, 'message': 'bxProviders: Cannot open dircetory %s: No such file or directory' % missing})


def test_list_broken_provider_is_an_entry(root, sp):
    # docs/protocol.md, difference 1: the original's whole list died on a non-JSON help reply.
    make_provider(root, 'broken', help_reply=raw('not json', stderr='trace here'))
    rc, doc = run_json(root)
    assert rc == 0
    assert doc['params']['providers']['superprovider'] == {'status': 'enabled'}
    broken = doc['params']['providers']['broken']
    assert broken['error'] == 1
    assert 'broken' in broken['message'] and 'help' in broken['message'] and 'trace here' in broken['message']
    assert run(root)[1] == 'provider:status:broken:error\nprovider:status:superprovider:enabled\n'


def test_list_shows_a_folder_with_a_refused_name(root, sp):
    os.makedirs(os.path.join(root, 'space prov', 'bin'))
    assert run(root) == (0, 'provider:status:space prov:error\nprovider:status:superprovider:enabled\n', '')
    rc, doc = run_json(root)
    assert doc['params']['providers']['space prov'] == {'error': 1, 'message': (
        "bxenv: invalid provider name 'space prov': must not contain whitespace or control characters (found ' ')")}


# status (6.2) -----------------------------------------------------------------

def test_status(root, sp):
    rc, doc = run_json(root, '-a', 'status', '--provider', 'superprovider')
    assert rc == 0
    assert doc == {'params': {'provider_options': {'superprovider': {
        'name': 'superprovider', 'status': 'enabled', 'config': 'exists',
        'files': {'holder': sp, 'execute': os.path.join(sp, 'bin', 'superprovider'),
                  'config': os.path.join(sp, 'etc', 'superprovider.conf')},
        'options': {'help': 1, 'init': 0, 'configs': 1, 'order': 1, 'order_status': 1}}}}}
    assert run(root, '-a', 'status', '--provider', 'superprovider') == (
        0, 'provider:options:superprovider:enabled:configs,help,order,order_status\n', '')


def test_status_not_exists(root):
    text = 'bxProvider::optionsProvider: Provider ghost not exist on the host'
    assert run_json(root, '-a', 'status', '--provider', 'ghost') == (1, {'error': 1, 'message': text})
    assert run(root, '-a', 'status', '--provider', 'ghost') == (1, 'message:%s\nerror:1\n' % text, '')


def test_status_without_provider_is_a_clear_error(root):
    # The original went on with an empty name (odd paths); ids are checked now.
    rc, doc = run_json(root, '-a', 'status')
    assert rc == 1 and doc['message'].startswith('bxenv: invalid provider name')


# configs (6.3) ----------------------------------------------------------------

def test_configs_plain_sorted_numerically(root, sp):
    assert run(root, '-a', 'configs', '--provider', 'superprovider') == (0, (
        'provider:configs:superprovider:enabled:1:one\n'
        'provider:configs:superprovider:enabled:2:two\n'
        'provider:configs:superprovider:enabled:10:ten\n'), '')
    assert run_json(root, '-a', 'configs', '--provider', 'superprovider') == (
        0, {'params': {'provider_configs': {'superprovider': CONFIGS}}})


@pytest.mark.parametrize('help_reply, text', [
    ({'options': ['help', 'configs'], 'status': 'disabled'},
     'bxProvider::configsProvider: Provider p disabled on the host'),
    ({'options': ['help', 'order']}, "bxProvider::configsProvider: Provider p doesn't support configs option"),
])
def test_configs_refused(root, help_reply, text):
    make_provider(root, 'p', help_reply=help_reply)
    assert run_json(root, '-a', 'configs', '--provider', 'p') == (1, {'error': 1, 'message': text})


def test_configs_not_exists(root):
    assert run_json(root, '-a', 'configs', '--provider', 'ghost') == (
        1, {'error': 1, 'message': 'bxProvider::configsProvider: Provider ghost not_exists on the host'})


def test_provider_error_code_is_the_exit_status(root):
    holder = make_provider(root, 'p', {'configs': {'error': '2', 'error_message': 'no configs today'}})
    text = 'cmd=`%s configs` return no configs today' % os.path.join(holder, 'bin', 'p')
    assert run_json(root, '-a', 'configs', '--provider', 'p') == (2, {'error': '2', 'message': text})
    assert run(root, '-a', 'configs', '--provider', 'p') == (2, 'message:%s\nerror:2\n' % text, '')
    make_provider(root, 'p', {'configs': {'error': 7, 'error_message': 'seven'}})
    assert run(root, '-a', 'configs', '--provider', 'p')[0] == 7


def test_error_code_beyond_one_byte_still_fails(root):
    make_provider(root, 'p', {'configs': {'error': 256, 'error_message': 'big'}})
    rc, doc = run_json(root, '-a', 'configs', '--provider', 'p')
    assert (rc, doc['error']) == (1, 256)


def test_empty_reply(root):
    holder = make_provider(root, 'p', {'configs': raw('\n')})
    text = 'bxProvider::executeProviderCmd: Command `%s configs` return empty string' % os.path.join(holder, 'bin', 'p')
    assert run_json(root, '-a', 'configs', '--provider', 'p') == (1, {'error': 1, 'message': text})


@pytest.mark.parametrize('reply, cause', [
    (raw('{"a": 1} trailing'), 'did not return one JSON object'),
    (raw('[1, 2]'), 'not an object'),
    ({'error': 'fatal'}, 'bad error reply'),
])
def test_bad_reply_is_an_error_document(root, reply, cause):
    # docs/protocol.md, difference 1: the original died (rc 255, nothing on stdout).
    make_provider(root, 'p', {'configs': reply})
    rc, doc = run_json(root, '-a', 'configs', '--provider', 'p')
    assert (rc, doc['error']) == (1, 1)
    assert cause in doc['message'] and 'provider p, action configs' in doc['message']


def test_stderr_of_a_failed_call_is_in_the_message(root):
    # docs/protocol.md, difference 5.
    make_provider(root, 'p', {'configs': raw('', stderr='disk on fire', rc=3)})
    rc, doc = run_json(root, '-a', 'configs', '--provider', 'p')
    assert rc == 1 and doc['message'].endswith('return empty string; stderr: disk on fire')


def test_timeout_kills_the_provider(root):
    # docs/protocol.md, difference 4.
    make_provider(root, 'slow', {'configs': raw('{}', sleep=30)})
    rc, doc = run_json(root, '-a', 'configs', '--provider', 'slow', timeout=1)
    assert rc == 1
    assert 'timed out after 1 s' in doc['message'] and 'killed' in doc['message']


# order (6.4) ------------------------------------------------------------------

def test_order_plain_has_no_newline_and_writes_the_task_file(root, sp):
    assert run(root, '-a', 'order', '--provider', 'superprovider', '--config_id', '2') == (
        0, 'provider:order:superprovider:t1', '')
    with open(os.path.join(sp, 'tasks', 't1')) as handle:
        assert handle.read() == ''
    # docs/protocol.md, difference 2: exactly these argv items, no shell.
    assert calls(sp)[-1] == ['order', '2']


def test_order_json_places_an_order_every_time(root, sp):
    first = run_json(root, '-a', 'order', '--provider', 'superprovider', '--config_id', '1')
    second = run_json(root, '-a', 'order', '--provider', 'superprovider', '--config_id', '1')
    assert first == (0, {'params': {'provider_order': {'superprovider': {'task_id': 't1', 'extra': 'kept'}}}})
    assert second == (0, {'params': {'provider_order': {'superprovider': {'task_id': 't2', 'extra': 'kept'}}}})
    # What the original lists as orders: the regular files of tasks/ (our bookkeeping is a sub-folder).
    tasks = os.path.join(sp, 'tasks')
    assert sorted(n for n in os.listdir(tasks) if os.path.isfile(os.path.join(tasks, n))) == ['t1', 't2']


def test_order_without_config_id(root, sp):
    assert run_json(root, '-a', 'order', '--provider', 'superprovider') == (
        1, {'error': 1, 'message': 'bxProvider::order2Provider: You must provide config_id for order'})
    assert calls(sp) == []


@pytest.mark.parametrize('help_reply, text', [
    ({'options': ['order'], 'status': 'disabled'}, 'bxProvider::order2Provider: Provider p disabled on the host'),
    ({'options': ['configs']}, "bxProvider::order2Provider: Provider p doesn't support order option"),
])
def test_order_refused(root, help_reply, text):
    make_provider(root, 'p', help_reply=help_reply)
    assert run_json(root, '-a', 'order', '--provider', 'p', '--config_id', '1') == (1, {'error': 1, 'message': text})


def test_order_not_exists(root):
    assert run_json(root, '-a', 'order', '--provider', 'ghost', '--config_id', '1') == (
        1, {'error': 1, 'message': 'bxProvider::order2Provider: Provider ghost not_exists on the host'})


def test_order_without_task_id_in_reply(root):
    make_provider(root, 'p', {'order': {'task_id': ''}})
    assert run_json(root, '-a', 'order', '--provider', 'p', '--config_id', '1') == (
        1, {'error': 1, 'message': "bxProvider::order2Provider: Provider p doesn't return task_id"})


@pytest.mark.parametrize('config_id', ['', '1;touch x', '../x', '3 4', '-v'])
def test_order_bad_config_id_calls_nothing(root, sp, config_id):
    # docs/protocol.md, differences 2, 3: the original split '3 4' into two words or ran a shell.
    rc, doc = run_json(root, '-a', 'order', '--provider', 'superprovider', '--config_id=' + config_id)
    assert (rc, doc['error']) == (1, 1)
    assert doc['message'].startswith('bxenv: invalid config_id')
    assert calls(sp) == [] and not os.path.exists(os.path.join(sp, 'tasks'))


def test_order_bad_task_id_from_provider_writes_nothing(root):
    holder = make_provider(root, 'p', {'order': {'task_id': '../../escape'}})
    rc, doc = run_json(root, '-a', 'order', '--provider', 'p', '--config_id', '1')
    assert rc == 1 and 'invalid task_id returned by provider p' in doc['message']
    assert not os.path.exists(os.path.join(root, 'escape'))
    assert not os.listdir(os.path.join(holder, 'tasks')) if os.path.isdir(os.path.join(holder, 'tasks')) else True


# order_status (6.5) -------------------------------------------------------------

def test_order_status_is_not_masked(root):
    holder = make_provider(root, 'p', {'order_status': FINISHED})
    add_task(holder, 't1')
    assert run_json(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't1') == (
        0, {'params': {'provider_order': {'p': FINISHED}}})
    assert calls(holder)[-1] == ['order_status', 't1']


def test_order_status_overlay_and_plain(root):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'task_id': 't9', 'server': 's'}})
    add_task(holder, 't9', 'error: Host::createHost: cannot use localhost for add')
    rc, doc = run_json(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't9')
    assert rc == 0
    assert doc['params']['provider_order']['p'] == {
        'status': 'error', 'task_id': 't9', 'server': 's', 'error': 1,
        'message': 'Host::createHost: cannot use localhost for add'}
    assert run(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't9') == (0, 'provider:order:p:t9', '')


def test_order_status_complete_file(root):
    holder = make_provider(root, 'p', {'order_status': FINISHED})
    add_task(holder, 't1', 'complete: Server=192.0.2.10 is added to the pool')
    rc, doc = run_json(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't1')
    assert doc['params']['provider_order']['p']['status'] == 'complete'


def test_order_status_without_task_id(root, sp):
    assert run_json(root, '-a', 'order_status', '--provider', 'superprovider') == (
        1, {'error': 1, 'message': 'bxProvider::order_status2Provider: You must provide task_id for status request'})
    assert calls(sp) == []


@pytest.mark.parametrize('help_reply, text', [
    ({'options': ['order_status'], 'status': 'disabled'},
     'bxProvider::order_status2Provider: Provider p disabled on the host'),
    ({'options': ['order']}, "bxProvider::order_status2Provider: Provider p doesn't support order_status option"),
])
def test_order_status_refused(root, help_reply, text):
    make_provider(root, 'p', help_reply=help_reply)
    assert run_json(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't') == (1, {'error': 1, 'message': text})


def test_order_status_without_status(root):
    make_provider(root, 'p', {'order_status': {'status': ''}})
    assert run_json(root, '-a', 'order_status', '--provider', 'p', '--task_id', 't3') == (
        1, {'error': 1, 'message': "bxProvider::order_status2Provider: Provider p doesn't return status for task_id=t3"})


def test_order_status_bad_task_id(root, sp):
    rc, doc = run_json(root, '-a', 'order_status', '--provider', 'superprovider', '--task_id', '../../etc/passwd')
    assert rc == 1 and doc['message'].startswith('bxenv: invalid task_id')
    assert calls(sp) == []


def test_non_ascii_round_trips(root):
    # docs/protocol.md, difference 14: UTF-8 text, not \u escapes and not double encoded.
    holder = make_provider(root, 'p', {'order_status': {'status': 'готово', 'note': 'сервер'}})
    add_task(holder, 'задача')
    rc, out, err = run(root, '-o', 'json', '-a', 'order_status', '--provider', 'p', '--task_id', 'задача')
    assert rc == 0 and 'готово' in out and '\\u' not in out
    assert json.loads(out) == {'params': {'provider_order': {'p': {'status': 'готово', 'note': 'сервер'}}}}
    assert calls(holder)[-1] == ['order_status', 'задача']


# orders_list (6.6) ----------------------------------------------------------

def test_orders_list_one_provider(root):
    holder = make_provider(root, 'p', {'order_status': {'status': 'in_progress'},
                                       'order_status t2': {'status': 'in_progress', 'message': 'ready'},
                                       'order_status t3': {'error': 5, 'error_message': 'gone'},
                                       'order_status t4': {'status': 'failed', 'message': 'no stock'}})
    add_task(holder, 't1')
    add_task(holder, 't4')
    add_task(holder, 't2', 'error: pool_not_created')
    add_task(holder, 't3')
    os.makedirs(os.path.join(holder, 'tasks', 'sub'))
    rc, doc = run_json(root, '-a', 'orders_list', '--provider', 'p')
    execute = os.path.join(holder, 'bin', 'p')
    m1, m2, m3, m4 = (mtime(holder, t) for t in ('t1', 't2', 't3', 't4'))
    assert rc == 0
    assert doc == {'params': {'provider_order_list': {'p': {
        't1': {'error': 0, 'message': '', 'status': 'in_progress', 'mtime': m1},
        't2': {'error': 1, 'message': 'pool_not_created', 'status': 'error', 'mtime': m2},
        't3': {'error': 5, 'message': 'cmd=`%s order_status t3` return gone' % execute, 'mtime': m3},
        't4': {'error': 0, 'message': 'no stock', 'status': 'failed', 'mtime': m4},
    }}}}
    assert run(root, '-a', 'orders_list', '--provider', 'p') == (0, (
        'provider:orders:p:t1:in_progress:%d::\n'
        'provider:orders:p:t2:error:%d:1:pool_not_created\n'
        'provider:orders:p:t3::%d:5:cmd=`%s order_status t3` return gone\n'
        'provider:orders:p:t4:failed:%d::no stock\n') % (m1, m2, m3, execute, m4), '')


def test_orders_list_no_tasks_is_null(root):
    holder = make_provider(root, 'p')
    add_task(holder, 'x')
    os.remove(os.path.join(holder, 'tasks', 'x'))
    assert run(root, '-o', 'json', '-a', 'orders_list', '--provider', 'p') == (0, '{"params":{"provider_order_list":null}}', '')
    assert run(root, '-a', 'orders_list', '--provider', 'p') == (0, '', '')


@pytest.mark.parametrize('help_reply, text', [
    ({'options': ['order_status'], 'status': 'disabled'}, 'bxProvider::listOrders4Provider: Provider p disabled on the host'),
    ({'options': ['order']}, "bxProvider::listOrders4Provider: Provider p doesn't support order_status option"),
])
def test_orders_list_refused(root, help_reply, text):
    make_provider(root, 'p', help_reply=help_reply)
    assert run_json(root, '-a', 'orders_list', '--provider', 'p') == (1, {'error': 1, 'message': text})


def test_orders_list_without_tasks_folder(root):
    holder = make_provider(root, 'p')
    tasks = os.path.join(holder, 'tasks')
    assert run_json(root, '-a', 'orders_list', '--provider', 'p') == (
        1, {'error': 1, 'message': 'bxProvider: Cannot open dircetory %s: No such file or directory' % tasks})


def test_orders_list_all_providers(root, sp):
    add_task(sp, 't1', 'complete: Server=s is added to the pool')
    make_provider(root, 'empty')
    add_task(os.path.join(root, 'empty'), 'gone')
    os.remove(os.path.join(root, 'empty', 'tasks', 'gone'))
    make_provider(root, 'off', help_reply={'options': ['order_status'], 'status': 'disabled'})
    make_provider(root, 'notasks')
    make_provider(root, 'broken', help_reply=raw('garbage'))
    rc, out, err = run(root, '-o', 'json', '-a', 'orders_list')
    assert rc == 0
    assert json.loads(out) == {'params': {'provider_order_list': {
        'superprovider': {'t1': {'error': 0, 'message': '', 'status': 'complete', 'mtime': mtime(sp, 't1')}},
        'empty': None}}}
    # docs/protocol.md, difference 1: the broken provider is left out and named, not a crash.
    assert err.startswith('bx-provider: warning: provider broken left out of orders_list: ')
    assert run(root, '-a', 'orders_list', '--provider=')[1] == (
        'provider:orders:superprovider:t1:complete:%d::\n' % mtime(sp, 't1'))


def test_orders_list_missing_root(tmp_path):
    missing = str(tmp_path / 'none')
    assert run_json(missing, '-a', 'orders_list') == (
        1, {'error': 1, 'message': 'bxProviders: Cannot open directory %s: No such file or directory' % missing})


# order_to_host (6.7, 8) --------------------------------------------------------

SERVER = '192.0.2.50'


class KeyCopy(object):
    """Stands in for the SSH key copy; records its calls."""

    def __init__(self):
        self.made, self.calls, self.log_files = [], [], []

    def key_copier(self, runner, pool_dir, timeout, log_file):
        self.made.append((pool_dir, timeout))
        self.log_files.append(log_file)
        return lambda *args: self.calls.append(args)


@pytest.fixture
def pool(tmp_path, monkeypatch):
    """A pool folder with its key and set-up playbooks, DNS from a table, a
    recording key copy, a jobs folder and a fake ansible-playbook."""
    path = make_pool(tmp_path / 'pool')
    os.makedirs(os.path.join(path, 'keys'))
    for name in ('id_rsa', 'id_rsa.pub', 'common.yml', 'monitor.yml'):
        open(os.path.join(path, 'keys' if name.startswith('id_') else '', name), 'w').close()
    with open(os.path.join(path, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\nprivate_key_file = %s/keys/id_rsa\n' % path)
    monkeypatch.setattr(_naming, 'SystemResolver', FakeResolver)
    copier = KeyCopy()
    monkeypatch.setattr(_ssh, 'key_copier', copier.key_copier)
    jobs = str(tmp_path / 'temp')
    os.makedirs(jobs)
    return {'path': path, 'keys': copier, 'jobs': jobs, 'playbook': make_ansible_playbook(tmp_path / 'bin')}


def to_host(root, pool, *args, **settings):
    settings = dict(dict(pool_dir=pool['path'], jobs_dir=pool['jobs'], ansible_playbook=pool['playbook']), **settings)
    return run(root, '-a', 'order_to_host', '--provider', 'p', *args, **settings)


def only_job(pool, kind='common'):
    """The one finished set-up job in the pool's jobs folder: (name, files)."""
    jobs = finished_jobs(pool['jobs'])
    assert len(jobs) == 1, jobs
    name, files = jobs.popitem()
    assert re.match(r'\A%s_[0-9]{10}\Z' % kind, name), name
    return name, files


def test_order_to_host_adds_the_server(root, pool):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER, 'server_password': 'pw'}})
    add_task(holder, 't1')
    assert to_host(root, pool, '--task_id', 't1', '-o', 'json', timeout=7) == (
        0, '{"message":"Server=%s is added to the pool"}' % SERVER, '')
    keys = os.path.join(pool['path'], 'keys', 'id_rsa')
    assert pool['keys'].made == [(pool['path'], 7)]
    assert pool['keys'].log_files == [_ssh.LOG_FILE]  # the setting ssh_log_file's default
    assert pool['keys'].calls == [(SERVER, 'pw', keys, keys + '.pub')]
    with open(os.path.join(holder, 'tasks', 't1')) as handle:
        assert handle.read() == 'complete: Server=%s is added to the pool' % SERVER
    with open(os.path.join(pool['path'], 'hosts')) as handle:
        assert 'ansible_ssh_host=%s' % SERVER in handle.read()
    # docs/protocol.md, difference 15: the set-up playbook ran as the original's background job, recorded.
    name, files = only_job(pool)
    playbook = os.path.join(pool['path'], 'common.yml')
    assert files == {'cmd': 'INITIAL_CMD: %s  %s\n' % (pool['playbook'], playbook),
                     'pid': files['pid'], 'rc': '0\n',
                     'status': 'PLAY [bitrix-hosts] ****\nfake ansible-playbook ends with 0\n'}
    assert re.match(r'\A[0-9]+\n\Z', files['pid'])
    assert playbook_calls(pool['playbook']) == [{'argv': [pool['playbook'], playbook], 'cwd': pool['path']}]
    # docs/protocol.md, difference 7: the command keeps the original's error 1 for a second add.
    assert to_host(root, pool, '--task_id', 't1') == (
        1, 'message:bxProvider::order_to_hostProvider: task_id=t1 already complete: Server=%s is added to the pool\n'
        'error:1\n' % SERVER, '')
    assert to_host(root, pool, '--task_id', 't1', '-o', 'json') == (1, json.dumps(
        {'error': 1, 'message': 'bxProvider::order_to_hostProvider: task_id=t1 already complete: '
                                'Server=%s is added to the pool' % SERVER}, separators=(',', ':')), '')
    assert len(pool['keys'].calls) == 1
    assert len(os.listdir(pool['jobs'])) == 1 and len(playbook_calls(pool['playbook'])) == 1


def test_order_to_host_monitor_job_and_its_failure(root, pool, tmp_path):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1')
    os.makedirs(os.path.join(pool['path'], 'group_vars'))
    with open(os.path.join(pool['path'], 'group_vars', 'bitrix-hosts.yml'), 'w') as handle:
        handle.write('---\nmonitoring_status: enable\n')
    pool['playbook'] = make_ansible_playbook(tmp_path / 'failing', rc=2)
    assert to_host(root, pool, '--task_id', 't1') == (0, 'message:Server=%s is added to the pool\n' % SERVER, '')
    name, files = only_job(pool, 'monitor')
    assert files['cmd'] == 'INITIAL_CMD: %s  %s/monitor.yml\n' % (pool['playbook'], pool['path'])
    assert (files['rc'], files['status']) == ('2\n', 'PLAY [bitrix-hosts] ****\nfake ansible-playbook ends with 2\n')


@pytest.mark.parametrize('change, warning', [
    (lambda pool: os.rmdir(pool['jobs']), 'cannot open the jobs folder {jobs}: No such file or directory'),
    (lambda pool: os.remove(pool['playbook']), '{playbook} is not an executable file'),
    (lambda pool: os.remove(os.path.join(pool['path'], 'common.yml')),
     'the playbook {pool}/common.yml does not exist'),
])
def test_order_to_host_without_a_job_still_adds_and_says_why(root, pool, change, warning):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1')
    change(pool)
    assert to_host(root, pool, '--task_id', 't1', '-o', 'json') == (
        0, '{"message":"Server=%s is added to the pool"}' % SERVER,
        'bx-provider: warning: pool set-up job not started: %s\n'
        % warning.format(jobs=pool['jobs'], playbook=pool['playbook'], pool=pool['path']))
    assert playbook_calls(pool['playbook']) == []
    assert not os.path.isdir(pool['jobs']) or os.listdir(pool['jobs']) == []


def test_order_to_host_no_setup_job(root, pool):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1')
    assert to_host(root, pool, '--task_id', 't1', setup_job=False) == (
        0, 'message:Server=%s is added to the pool\n' % SERVER, '')
    assert os.listdir(pool['jobs']) == [] and playbook_calls(pool['playbook']) == []


def test_order_to_host_key_copy_logs_where_the_settings_say(root, pool):
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1')
    assert to_host(root, pool, '--task_id', 't1', setup_job=False, ssh_log_file='/srv/logs/keycopy.log')[0] == 0
    assert pool['keys'].log_files == ['/srv/logs/keycopy.log']


def test_order_to_host_default_job_places(root, pool, monkeypatch):
    """Without the settings: /opt/webdir/temp and /usr/bin/ansible-playbook, as the original."""
    started = []
    monkeypatch.setattr(_cli._setup_job, 'start', lambda *args: started.append(args))
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1')
    assert run(root, '-a', 'order_to_host', '--provider', 'p', '--task_id', 't1', pool_dir=pool['path'])[0] == 0
    assert started == [(pool['path'], '/opt/webdir/temp', '/usr/bin/ansible-playbook')]


def test_order_to_host_not_ready_prints_the_order(root, pool):
    holder = make_provider(root, 'p', {'order_status': {'status': 'in_progress', 'task_id': 't1'}})
    add_task(holder, 't1')
    assert to_host(root, pool, '--task_id', 't1') == (0, 'provider:order:p:t1', '')
    assert to_host(root, pool, '--task_id', 't1', '-o', 'json') == (
        0, '{"params":{"provider_order":{"p":{"status":"in_progress","task_id":"t1"}}}}', '')
    assert os.listdir(pool['jobs']) == []


@pytest.mark.parametrize('reply, content, text', [
    ({'status': '5'}, '', 'Unknown status=5 for p'),
    ({'status': 'finished', 'server': SERVER}, 'error: pool_not_created',
     'bxProvider::order_to_hostProvider: task_id=t1 already error: pool_not_created'),
    ({'status': 'finished', 'server': 'localhost'}, '', 'Host::createHost: cannot use localhost for add'),
    ({'status': ''}, '', "bxProvider::order_to_hostProvider: Provider p doesn't return status for task_id=t1"),
])
def test_order_to_host_errors(root, pool, reply, content, text):
    holder = make_provider(root, 'p', {'order_status': reply})
    add_task(holder, 't1', content)
    assert to_host(root, pool, '--task_id', 't1') == (1, 'message:%s\nerror:1\n' % text, '')
    assert pool['keys'].calls == []
    assert os.listdir(pool['jobs']) == []


def test_order_to_host_needs_a_task_file_and_a_task_id(root, pool):
    make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    assert to_host(root, pool, '--task_id', 't9') == (
        1, 'message:bxProvider::order_to_hostProvider: Not found saved task_id=t9 on this server\nerror:1\n', '')
    assert to_host(root, pool) == (
        1, 'message:bxProvider::order_to_hostProvider: You must provide task_id for status request\nerror:1\n', '')


def test_order_to_host_has_no_retry_option(root, pool):
    """A failed add is retried with the module (retry_failed), never from the web interface's line."""
    holder = make_provider(root, 'p', {'order_status': {'status': 'finished', 'server': SERVER}})
    add_task(holder, 't1', 'error: pool_not_created')
    assert to_host(root, pool, '--task_id', 't1', '--retry_failed') == (
        1, 'message:Unknown option: retry_failed\nerror:1\n', '')
    assert pool['keys'].calls == [] and os.listdir(pool['jobs']) == []


def test_install_uninstall_dispatch(root, monkeypatch):
    seen = []

    class Plugin(object):
        DEFAULT_OWNER = 'bitrix'

        @staticmethod
        def install(providers, name, src, owner, group):
            seen.append(('install', name, src, owner, group))
            return {'changed': True, 'message': 'bxProvider: Provider data created, you can found it in %s'
                    % providers.holder(name), 'sha256': 'x'}

        @staticmethod
        def remove(providers, name):
            seen.append(('remove', name))
            return {'changed': True, 'message': 'bxProvider: Provider data deleted from %s' % providers.holder(name)}

    monkeypatch.setattr(_cli, '_install', Plugin)
    holder = os.path.join(root, 'p')
    assert run_json(root, '-a', 'install', '--provider', 'p', '--archive', '/tmp/p.tar.gz', owner='web') == (
        0, {'message': 'bxProvider: Provider data created, you can found it in %s' % holder})
    assert run_json(root, '-a', 'uninstall', '--provider', 'p') == (
        0, {'message': 'bxProvider: Provider data deleted from %s' % holder})
    # No --force from the command line: a pasted value cannot remove a provider with pending orders.
    assert run_json(root, '-a', 'uninstall', '--provider', 'p', '--force') == (
        1, {'error': 1, 'message': 'Unknown option: force'})
    assert seen == [('install', 'p', '/tmp/p.tar.gz', 'web', 'bitrix'), ('remove', 'p')]


def test_internal_error_is_a_document(root, monkeypatch):
    def boom(providers, workers):
        raise KeyError('oops')

    monkeypatch.setattr(_queries, 'list_providers', boom)
    assert run_json(root) == (1, {'error': 1, 'message': "bx-provider-bxenv: internal error in action list: KeyError: 'oops'"})


# The plain printer alone -------------------------------------------------------

def test_plain_message_and_error_lines():
    assert _cli.render({'message': 'done'}, 'plain') == 'message:done\n'
    assert _cli.render({'error': 3, 'message': ''}, 'plain') == 'error:3\n'
    assert _cli.render({'error': 3, 'message': ''}, 'json') == '{"error":3}'


def test_plain_configs_odd_ids_keep_their_order():
    document = {'params': {'provider_configs': {'p': {'configurations': [
        {'id': 'b', 'descr': 'x'}, {'id': '3', 'descr': None}, {'id': 'a'}, {'id': 1.0, 'descr': True}]}}}}
    assert _cli.render(document, 'plain') == (
        'provider:configs:p::b:x\n'
        'provider:configs:p::a:\n'
        'provider:configs:p::1:1\n'
        'provider:configs:p::3:\n')


# Rendering of hostile numbers (issue 21): never a traceback ----------------

BIG = '9' * 400


@pytest.mark.parametrize('ids, lines', [
    # Perl's <=> order: the leading number of a text, 0 for none; ties keep the reply's order
    (['10', BIG, '2x', 'abc', '-1e309', '1.5'], ['-1e309', 'abc', '1.5', '2x', '10', BIG]),
])
def test_configs_plain_with_hostile_text_ids(root, ids, lines):
    configs = {'status': 'enabled', 'configurations': [{'id': i, 'descr': 'd'} for i in ids]}
    make_provider(root, 'p', {'configs': configs})
    rc, out, err = run(root, '-a', 'configs', '--provider', 'p')
    assert (rc, err) == (0, '')
    assert out == ''.join('provider:configs:p:enabled:%s:d\n' % i for i in lines)


def test_configs_plain_with_hostile_number_ids(root):
    """Ids as JSON numbers: 400 digits, floats."""
    make_provider(root, 'p', {'configs': raw(
        '{"status": "enabled", "configurations": [{"id": %s, "descr": "big"}, {"id": -%s, "descr": "small"},'
        ' {"id": 2.5, "descr": "float"}, {"id": 3.0, "descr": "whole"}]}' % (BIG, BIG))})
    rc, out, err = run(root, '-a', 'configs', '--provider', 'p')
    assert (rc, err) == (0, '')
    assert out == ('provider:configs:p:enabled:-%s:small\n' % BIG
                   + 'provider:configs:p:enabled:2.5:float\n'
                   'provider:configs:p:enabled:3:whole\n'
                   + 'provider:configs:p:enabled:%s:big\n' % BIG)


@pytest.mark.parametrize('number', ['1e309', '-1e309', '1' * 5000])
def test_configs_with_numbers_beyond_range_are_refused_not_a_crash(root, number):
    make_provider(root, 'p', {'configs': raw('{"configurations": [{"id": %s}]}' % number)})
    for output in ('plain', 'json'):
        rc, out, err = run(root, '-a', 'configs', '--provider', 'p', '-o', output)
        assert rc == 1 and 'bxProvider::executeProviderCmd' in out


def test_list_plain_with_hostile_numbers(root):
    make_provider(root, 'p', help_reply={'options': ['help'], 'status': 'enabled', 'n': int(BIG)})
    make_provider(root, 'q', help_reply=raw('{"options": ["help"], "status": 1e309}'))
    rc, out, err = run(root)
    assert rc == 0 and out.splitlines() == ['provider:status:p:enabled', 'provider:status:q:error']


@pytest.mark.parametrize('value, text', [
    (None, ''), (True, '1'), (False, '0'), (3.0, '3'), (2.5, '2.5'), (float('inf'), 'Inf'), (float('-inf'), '-Inf'),
    (float('nan'), 'NaN'), (10 ** 400, '1' + '0' * 400), (10 ** 5000, 'Inf'), (-10 ** 5000, '-Inf'),
    ({'a': [1]}, '{"a": [1]}'),
], ids=lambda value: type(value).__name__)  # pytest's own ids cannot show 10 ** 5000
def test_text_of_any_value(value, text):
    assert _cli._text(value) == text


@pytest.mark.parametrize('value, number', [
    ('12abc', 12.0), (' -3.5e1x', -35.0), ('.5', 0.5), ('abc', 0.0), ('', 0.0), (None, 0.0), ({}, 0.0),
    (10 ** 400, float('inf')), (-10 ** 400, float('-inf')), ('9' * 400, float('inf')), (float('nan'), 0.0),
    ('nan', 0.0), (True, 1.0),
], ids=lambda value: type(value).__name__)
def test_number_is_perls_leading_number(value, number):
    assert _cli._number(value) == number


def _json_values():
    from hypothesis import strategies as st
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10 ** 600, max_value=10 ** 600),
                        st.floats(allow_nan=True, allow_infinity=True), st.text())
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(), inner, max_size=3)),
                        max_leaves=8)


def test_plain_rendering_never_raises():
    """Any value where the plain printer reads one gives text (property test)."""
    hypothesis = pytest.importorskip('hypothesis')
    st = hypothesis.strategies
    value = _json_values()

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(configurations=st.lists(st.one_of(value, st.dictionaries(st.sampled_from(['id', 'descr']),
                                                                               value)), max_size=5),
                      status=value, task_id=value, entry=st.dictionaries(
                          st.sampled_from(['status', 'mtime', 'error', 'message']), value),
                      message=value, error=value)
    def check(configurations, status, task_id, entry, message, error):
        document = {'params': {
            'providers': {'p': {'status': status, 'error': error}},
            'provider_configs': {'p': {'status': status, 'configurations': configurations}},
            'provider_order': {'p': {'task_id': task_id}},
            'provider_order_list': {'p': {'t1': entry}}},
            'message': message, 'error': error}
        assert isinstance(_cli.render_plain(document), str)

    check()
