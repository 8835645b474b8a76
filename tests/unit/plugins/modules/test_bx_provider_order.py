# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_provider_order through ``main()``: results, labels, concurrency, waiting, failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

import ansible_collections
from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders
from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_info, bx_provider_order
from ansible_collections.bitrix.bxenv.tests.unit.fakes import (
    FakeTime, calls, make_provider, raw, sequence, set_replies, tree,
)

IN_PROGRESS = {'status': 'in_progress'}
FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'S3cret!'}
REPLIES = {'order': {'task_id': 'T-{n}', 'server_password': 'early'}, 'order_status': IN_PROGRESS}


def args_for(root, **kwargs):
    args = {'providers_dir': root, 'provider': 'p', 'config_id': '2'}
    args.update(kwargs)
    return args


def order_calls(holder):
    return [argv for argv in calls(holder) if argv[0] == 'order']


def warning_texts(result):
    # ansible-core 2.19 reports warnings as objects, older releases as text.
    return [w if isinstance(w, str) else w.get('msg') or w['event']['msg'] for w in result.get('warnings', [])]


# placing ----------------------------------------------------------------

def test_order_result(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    result = run_module(bx_provider_order, args_for(root))
    assert result['changed'] is True
    assert result['task_id'] == 'T-1'
    assert result['params'] == {'provider_order': {'p': {'task_id': 'T-1', 'server_password': '********'}}}
    assert 'order_status' not in result and 'polls' not in result
    assert calls(holder) == [['help'], ['order', '2']]
    with open(os.path.join(holder, 'tasks', 'T-1'), 'rb') as handle:
        assert handle.read() == b''


def test_numeric_task_id_is_text_at_the_top_and_kept_in_params(run_module, root):
    make_provider(root, 'p', {'order': {'task_id': 42}})
    result = run_module(bx_provider_order, args_for(root))
    assert result['task_id'] == '42'
    assert result['params']['provider_order']['p'] == {'task_id': 42}


def test_without_name_every_run_orders(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    ids = [run_module(bx_provider_order, args_for(root))['task_id'] for dummy in range(2)]
    assert ids == ['T-1', 'T-2']
    assert len(order_calls(holder)) == 2


def test_same_name_twice_places_one_order(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    first = run_module(bx_provider_order, args_for(root, name='web-1'))
    second = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (first['changed'], second['changed']) == (True, False)
    assert first['task_id'] == second['task_id'] == 'T-1'
    assert second['order_status'] == IN_PROGRESS
    assert second['params'] == {'provider_order': {'p': IN_PROGRESS}}
    assert order_calls(holder) == [['order', '2']]


def test_existing_name_with_a_missing_task_file_warns(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    run_module(bx_provider_order, args_for(root, name='web-1'))
    os.unlink(os.path.join(holder, 'tasks', 'T-1'))
    result = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (result['changed'], result['task_id']) == (False, 'T-1')
    assert any('task file %s/tasks/T-1 is missing' % holder in text for text in warning_texts(result))


def test_warnings_are_kept_on_failure(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    run_module(bx_provider_order, args_for(root, name='web-1'))
    os.unlink(os.path.join(holder, 'tasks', 'T-1'))
    set_replies(holder, dict(REPLIES, order_status={'error': 3, 'error_message': 'unknown task'}))
    result = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (result['failed'], result['error'], result['task_id']) == (True, 3, 'T-1')
    assert result['msg'] == result['message'] == 'cmd=`%s/bin/p order_status T-1` return unknown task' % holder
    assert any('task file %s/tasks/T-1 is missing' % holder in text for text in warning_texts(result))


ORDER_PROCESS = '''
import sys
sys.path.insert(0, sys.argv[2])
from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_order
import os, time
while not os.path.exists(sys.argv[3]):
    time.sleep(0.005)
sys.argv = sys.argv[:2]
bx_provider_order.main()
'''


@pytest.mark.parametrize('seconds', [1.0, 2.0])
def test_same_name_from_ten_processes_places_one_order(root, tmp_path, seconds):
    # The order call is silent as long as a cloud API call, so the runs
    # overlap while one is ordering (and a runner that drops an answer after
    # a second of silence would make every run order again).
    holder = make_provider(root, 'p', {'order': raw('{"task_id": "T-{n}"}', sleep=seconds),
                                       'order_status': IN_PROGRESS})
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args_for(root, name='web-1')}))
    go = str(tmp_path / 'go')
    collections_root = os.path.dirname(list(ansible_collections.__path__)[0])
    procs = [subprocess.Popen([sys.executable, '-c', ORDER_PROCESS, str(args_file), collections_root, go],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for dummy in range(10)]
    time.sleep(0.5)
    open(go, 'w').close()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(json.loads(out))
    assert [r.get('failed', False) for r in results] == [False] * 10, results
    assert sorted(r['changed'] for r in results) == [False] * 9 + [True]
    assert set(r['task_id'] for r in results) == {'T-1'}
    assert order_calls(holder) == [['order', '2']]
    assert sorted(os.listdir(os.path.join(holder, 'tasks'))) == ['.bxenv', 'T-1']


def test_order_is_listed_and_reported_by_bx_provider_info(run_module, root):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=FINISHED))
    placed = run_module(bx_provider_order, args_for(root, name='web-1'))
    listed = run_module(bx_provider_info, {'providers_dir': root, 'query': 'orders_list'})
    orders = listed['params']['provider_order_list']
    assert list(orders) == ['p'] and list(orders['p']) == [placed['task_id']]
    assert orders['p']['T-1']['status'] == 'finished'
    with open(os.path.join(holder, 'tasks', 'T-1'), 'w') as handle:
        handle.write('complete: Server=192.0.2.10 is added to the pool')
    status = run_module(bx_provider_info, {'providers_dir': root, 'query': 'order_status',
                                           'provider': 'p', 'task_id': 'T-1'})
    again = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert status['params']['provider_order']['p']['status'] == 'complete'
    assert again['order_status'] == status['params']['provider_order']['p']
    assert again['params'] == status['params']


# check mode -------------------------------------------------------------

@pytest.mark.parametrize('name', [None, 'web-1'])
def test_check_mode_writes_nothing(run_module, root, name):
    holder = make_provider(root, 'p', REPLIES)
    before = tree(root)
    result = run_module(bx_provider_order, args_for(root, name=name, wait=True), check_mode=True)
    assert result['changed'] is True
    assert 'task_id' not in result and 'params' not in result and 'polls' not in result
    assert result['would_order'] == {'provider': 'p', 'config_id': '2', 'name': name}
    assert result['msg'] == 'would order configuration 2 of p' + ('' if name is None else ' (name web-1)')
    assert tree(root) == before
    assert calls(holder) == [['help']]


def test_check_mode_with_an_existing_name(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    run_module(bx_provider_order, args_for(root, name='web-1'))
    before = tree(root)
    result = run_module(bx_provider_order, args_for(root, name='web-1', wait=True), check_mode=True)
    assert (result['changed'], result['task_id'], result['order_status']) == (False, 'T-1', IN_PROGRESS)
    assert 'polls' not in result and 'would_order' not in result
    assert tree(root) == before
    assert len(order_calls(holder)) == 1


# waiting ----------------------------------------------------------------

def test_wait_until_finished(run_module, root):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=sequence(IN_PROGRESS, IN_PROGRESS, FINISHED)))
    result = run_module(bx_provider_order, args_for(root, name='web-1', wait=True, poll_interval=1))
    assert (result['changed'], result['task_id'], result['polls']) == (True, 'T-1', 3)
    assert result['order_status'] == dict(FINISHED, server_password='********')
    assert result['params'] == {'provider_order': {'p': {'task_id': 'T-1', 'server_password': '********'}}}
    assert isinstance(result['elapsed'], float)
    assert len(order_calls(holder)) == 1


def test_wait_reveals_secrets_when_asked(run_module, root):
    make_provider(root, 'p', dict(REPLIES, order_status=FINISHED))
    result = run_module(bx_provider_order, args_for(root, wait=True, reveal_secrets=True))
    assert result['order_status'] == FINISHED
    assert result['params']['provider_order']['p']['server_password'] == 'early'


def test_wait_on_an_existing_name_goes_on_waiting(run_module, root):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=sequence(IN_PROGRESS, IN_PROGRESS, FINISHED)))
    run_module(bx_provider_order, args_for(root, name='web-1'))
    result = run_module(bx_provider_order, args_for(root, name='web-1', wait=True, poll_interval=1))
    assert (result['changed'], result['task_id'], result['polls']) == (False, 'T-1', 2)
    assert result['order_status']['status'] == 'finished'
    assert result['params'] == {'provider_order': {'p': result['order_status']}}
    assert len(order_calls(holder)) == 1


@pytest.mark.parametrize('final, text', [
    ({'status': 'failed', 'message': 'out of stock'}, 'bxenv: order task_id=T-1 of provider p failed: out of stock'),
    ({'status': 'error', 'message': 'API down'}, 'bxenv: order task_id=T-1 of provider p error: API down'),
])
def test_wait_ending_in_failure(run_module, root, final, text):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=sequence(IN_PROGRESS, final)))
    result = run_module(bx_provider_order, args_for(root, wait=True, poll_interval=1))
    assert result['failed'] is True
    assert (result['msg'], result['message'], result['error']) == (text, text, 1)
    assert (result['task_id'], result['polls'], result['order_status']) == ('T-1', 2, final)
    assert result['params']['provider_order']['p']['task_id'] == 'T-1'
    assert len(order_calls(holder)) == 1


def test_wait_timeout(run_module, root):
    holder = make_provider(root, 'p', REPLIES)
    result = run_module(bx_provider_order, args_for(root, wait=True, wait_timeout=0))
    assert result['failed'] is True
    assert result['msg'].startswith('bxenv: order task_id=T-1 of provider p is still in_progress after ')
    assert 'bitrix.bxenv.bx_provider_info' in result['msg']
    assert (result['task_id'], result['polls'], result['order_status']) == ('T-1', 1, IN_PROGRESS)
    assert 'elapsed' in result
    assert len(order_calls(holder)) == 1


def test_wait_uses_poll_interval_and_wait_timeout(run_module, root, monkeypatch):
    make_provider(root, 'p', REPLIES)
    clock = FakeTime()
    monkeypatch.setattr(_orders, 'time', clock)
    result = run_module(bx_provider_order, args_for(root, wait=True, wait_timeout=60, poll_interval=25))
    assert clock.sleeps == [25, 25, 10]
    assert (result['polls'], result['elapsed']) == (4, 60)


def test_status_error_while_waiting_fails_at_once(run_module, root):
    bad = {'error': 3, 'error_message': 'unknown task'}
    holder = make_provider(root, 'p', dict(REPLIES, order_status=sequence(IN_PROGRESS, bad, FINISHED)))
    result = run_module(bx_provider_order, args_for(root, wait=True, poll_interval=1))
    text = 'cmd=`%s/bin/p order_status T-1` return unknown task' % holder
    assert (result['msg'], result['message'], result['error']) == (text, text, 3)
    assert (result['task_id'], result['polls']) == ('T-1', 2)
    assert len([argv for argv in calls(holder) if argv[0] == 'order_status']) == 2


# failures ---------------------------------------------------------------

@pytest.mark.parametrize('kwargs, replies, text', [
    ({'help_reply': {'status': 'disabled', 'options': ['order']}}, REPLIES,
     'bxProvider::order2Provider: Provider p disabled on the host'),
    ({'executable': False}, REPLIES, 'bxProvider::order2Provider: Provider p not_exists on the host'),
    ({'help_reply': {'options': ['configs']}}, REPLIES, "bxProvider::order2Provider: Provider p doesn't support order option"),
    ({}, {'order': {'status': 'ok'}}, "bxProvider::order2Provider: Provider p doesn't return task_id"),
])
def test_original_failures(run_module, root, kwargs, replies, text):
    make_provider(root, 'p', replies, **kwargs)
    result = run_module(bx_provider_order, args_for(root))
    assert result['failed'] is True
    assert (result['msg'], result['message'], result['error']) == (text, text, 1)
    assert 'task_id' not in result


def test_error_reply_keeps_the_provider_code(run_module, root):
    holder = make_provider(root, 'p', {'order': {'error': 4, 'error_message': 'no money'}})
    result = run_module(bx_provider_order, args_for(root, name='web-1'))
    text = 'cmd=`%s/bin/p order 2` return no money' % holder
    assert (result['msg'], result['message'], result['error']) == (text, text, 4)


def test_order_that_times_out_is_uncertain_and_the_name_never_orders_again(run_module, root):
    holder = make_provider(root, 'p', {'order': raw('{"task_id": "T-1"}', sleep=30), 'order_status': IN_PROGRESS})
    result = run_module(bx_provider_order, args_for(root, name='web-1', timeout=1))
    assert (result['failed'], result['uncertain'], result['error']) == (True, True, 1)
    assert 'timed out after 1 s and was killed' in result['msg']
    assert 'provider p may have placed the order' in result['msg'] and 'task_id' not in result
    again = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (again['failed'], again['uncertain']) == (True, True)
    assert 'stopped after calling provider p' in again['msg']
    assert order_calls(holder) == [['order', '2']]


def test_reply_with_a_lone_surrogate_is_uncertain_with_its_task_id(run_module, root):
    holder = make_provider(root, 'p', {'order': raw('{"task_id": "T-1", "server_password": "x\\ud83d"}'),
                                       'order_status': IN_PROGRESS})
    result = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (result['failed'], result['uncertain'], result['task_id']) == (True, True, 'T-1')
    assert 'lone surrogate' in result['msg'] and 'may have placed the order as task_id=T-1' in result['msg']
    again = run_module(bx_provider_order, args_for(root, name='web-1'))
    assert (again.get('failed'), again['changed'], again['task_id']) == (None, False, 'T-1')
    assert order_calls(holder) == [['order', '2']]


@pytest.mark.parametrize('config_id', ['1; touch {tmp}/pwned', '$(touch {tmp}/pwned)', '`touch {tmp}/pwned`',
                                       '../x', '1\n2', 'x' * 500, '-h'])
def test_hostile_config_id(run_module, root, tmp_path, config_id):
    holder = make_provider(root, 'p', REPLIES)
    config_id = config_id.format(tmp=tmp_path)
    result = run_module(bx_provider_order, args_for(root, config_id=config_id, name='web-1'))
    assert result['failed'] is True
    # a long id is quoted cut short (_errors.quoted)
    assert result['msg'].startswith(('bxenv: invalid config_id %r: ' % config_id)[:200])
    assert calls(holder) == []
    assert not os.path.exists(str(tmp_path / 'pwned'))
    assert not os.path.exists(os.path.join(holder, 'tasks'))


@pytest.mark.parametrize('args, text', [
    ({'config_id': None}, 'missing required arguments: config_id'),
    ({'provider': None}, 'missing required arguments: provider'),
    ({'wait_timeout': -1}, 'wait_timeout must be a whole number of seconds from 0 to 604800, got -1'),
    ({'poll_interval': -5}, 'poll_interval must be a whole number of seconds from 1 to 3600, got -5'),
    ({'poll_interval': 0}, 'poll_interval must be a whole number of seconds from 1 to 3600, got 0'),
    ({'max_output': 10}, 'max_output must be a whole number of bytes from 1024 to 1073741824, got 10'),
    ({'timeout': 0}, 'timeout must be a whole number of seconds from 1 to 86400, got 0'),
    ({'name': 'web/1'}, "bxenv: invalid name 'web/1': must not contain '/'"),
])
def test_bad_options(run_module, root, args, text):
    holder = make_provider(root, 'p', REPLIES)
    merged = args_for(root)
    merged.update(args)
    result = run_module(bx_provider_order, dict((k, v) for k, v in merged.items() if v is not None))
    assert result['failed'] is True
    assert text in result['msg']
    assert order_calls(holder) == []
