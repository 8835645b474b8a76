# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bx-provider actions on real fake providers: documents and messages (docs/protocol.md 6, 7, 11)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries, _orders
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import add_task, calls, make_provider, raw, tree
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner

FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'pw'}


def prov(root, timeout=20):
    return Providers(root, Runner(), timeout=timeout)


def error_of(func, *args):
    with pytest.raises(BxError) as info:
        func(*args)
    return info.value.code, info.value.message


# list -------------------------------------------------------------------

def test_list_empty_root(root):
    assert _queries.list_providers(prov(root)) == {}


def test_list_missing_root(tmp_path):
    missing = str(tmp_path / 'nope')
    assert error_of(_queries.list_providers, prov(missing)) == (
        1, 'bxProviders: Cannot open dircetory %s: No such file or directory' % missing)


def test_list_entries(root):
    make_provider(root, 'good')
    make_provider(root, 'off', help_reply={'status': 'disabled'})
    make_provider(root, 'mute', help_reply=raw(''))
    make_provider(root, 'gone', executable=False)
    make_provider(root, 'broken', help_reply=raw('[]'))
    providers = _queries.list_providers(prov(root))
    assert providers['good'] == {'status': 'enabled'}
    assert providers['off'] == {'status': 'disabled'}
    assert providers['mute'] == {'status': 'exists'}
    assert providers['gone'] == {'error': 1, 'message': 'bxProvider::optionsProvider: Provider gone not exist on the host'}
    assert providers['broken']['error'] == 1
    assert 'provider broken, action help' in providers['broken']['message']
    assert sorted(providers) == ['broken', 'gone', 'good', 'mute', 'off']


def test_list_names_a_folder_with_a_refused_name(root):
    make_provider(root, 'good')
    os.makedirs(os.path.join(root, 'space prov', 'bin'))
    os.makedirs(os.path.join(root, '.good.staging-x'))
    open(os.path.join(root, 'a file'), 'w').close()
    providers = _queries.list_providers(prov(root))
    assert providers == {'good': {'status': 'enabled'}, 'space prov': {'error': 1, 'message': (
        "bxenv: invalid provider name 'space prov': must not contain whitespace or control characters (found ' ')")}}


def test_list_same_with_1_and_8_workers(root):
    for i in range(12):
        make_provider(root, 'p%02d' % i, help_reply={'status': 's%d' % i} if i % 3 else raw('x'))
    assert _queries.list_providers(prov(root), 1) == _queries.list_providers(prov(root), 8)


# status -----------------------------------------------------------------

def test_status_not_exist(root):
    assert error_of(_queries.status, prov(root), 'ghost') == (
        1, 'bxProvider::optionsProvider: Provider ghost not exist on the host')


def test_status_disabled_is_not_an_error(root):
    make_provider(root, 'p', help_reply={'status': 'disabled', 'options': ['help']})
    record = _queries.status(prov(root), 'p')['p']
    assert record['status'] == 'disabled'
    assert record['options']['help'] == 1


@pytest.mark.parametrize('name', ['../etc', 'a/b', '..', '.hidden', '-x', 'a b', ''])
def test_hostile_provider_names(root, name):
    code, message = error_of(_queries.status, prov(root), name)
    assert message.startswith("bxenv: invalid provider name %r" % name)


# configs ----------------------------------------------------------------

def test_configs(root):
    reply = {'status': 'enabled', 'configurations': [{'id': 2, 'descr': 'big'}, {'id': 1, 'descr': 'small'}]}
    make_provider(root, 'p', {'configs': reply})
    assert _queries.configs(prov(root), 'p') == {'p': reply}


@pytest.mark.parametrize('kwargs, status', [({'executable': False}, 'not_exists'),
                                            ({'help_reply': {'status': 'disabled', 'options': ['configs']}}, 'disabled')])
def test_configs_unusable(root, kwargs, status):
    make_provider(root, 'p', **kwargs)
    assert error_of(_queries.configs, prov(root), 'p') == (
        1, 'bxProvider::configsProvider: Provider p %s on the host' % status)


def test_configs_unsupported(root):
    make_provider(root, 'p', help_reply={'options': ['order']})
    assert error_of(_queries.configs, prov(root), 'p') == (
        1, "bxProvider::configsProvider: Provider p doesn't support configs option")


def test_configs_error_reply_is_the_output(root):
    holder = make_provider(root, 'p', {'configs': {'error': 5, 'error_message': 'API down'}})
    assert error_of(_queries.configs, prov(root), 'p') == (
        5, 'cmd=`%s/bin/p configs` return API down' % holder)


# order_status -----------------------------------------------------------

def test_order_status_needs_task_id(root):
    assert error_of(_queries.order_status, prov(root), 'p', None) == (
        1, 'bxProvider::order_status2Provider: You must provide task_id for status request')


@pytest.mark.parametrize('task_id', ['../x', '1;touch /tmp/pwned', '$(id)', 'a\nb', '-rf', '.x', '..', 'x' * 129, 'a b', ''])
def test_order_status_hostile_task_id_never_reaches_provider(root, task_id):
    holder = make_provider(root, 'p', {'order_status': FINISHED})
    code, message = error_of(_queries.order_status, prov(root), 'p', task_id)
    assert message.startswith('bxenv: invalid task_id')
    assert calls(holder) == []


def test_order_status_unusable_and_unsupported(root):
    make_provider(root, 'off', help_reply={'status': 'disabled', 'options': ['order_status']})
    make_provider(root, 'noopt', help_reply={'options': ['order']})
    assert error_of(_queries.order_status, prov(root), 'off', 't')[1] == (
        'bxProvider::order_status2Provider: Provider off disabled on the host')
    assert error_of(_queries.order_status, prov(root), 'ghost', 't')[1] == (
        'bxProvider::order_status2Provider: Provider ghost not_exists on the host')
    assert error_of(_queries.order_status, prov(root), 'noopt', 't')[1] == (
        "bxProvider::order_status2Provider: Provider noopt doesn't support order_status option")


@pytest.mark.parametrize('reply', [{}, {'status': ''}, {'status': None}])
def test_order_status_without_status(root, reply):
    make_provider(root, 'p', {'order_status': reply})
    assert error_of(_queries.order_status, prov(root), 'p', 't9') == (
        1, "bxProvider::order_status2Provider: Provider p doesn't return status for task_id=t9")


@pytest.mark.parametrize('content, expected', [
    ('', FINISHED),
    ('error: key copy failed', dict(FINISHED, status='error', message='key copy failed', error=1)),
    ('error:   spaced\n', dict(FINISHED, status='error', message='spaced', error=1)),
    ('error: one\ntwo', FINISHED),
    ('error:', FINISHED),
    ('complete: Server=192.0.2.10 is added to the pool', dict(FINISHED, status='complete')),
    ('completely different', dict(FINISHED, status='complete')),
    ('pending', FINISHED),
])
def test_order_status_overlay(root, content, expected):
    holder = make_provider(root, 'p', {'order_status': FINISHED})
    add_task(holder, 't1', content)
    assert _queries.order_status(prov(root), 'p', 't1') == {'p': expected}


def test_overlay_ignores_provider_status(root):
    holder = make_provider(root, 'p', {'order_status': {'status': 'in_progress'}})
    add_task(holder, 't1', 'error: boom')
    reply = _queries.order_status(prov(root), 'p', 't1')['p']
    assert reply == {'status': 'error', 'message': 'boom', 'error': 1}


def test_order_status_non_ascii(root):
    holder = make_provider(root, 'p', {'order_status': {'status': 'в работе'}})
    add_task(holder, 'заказ', 'error: ключ не скопирован')
    reply = _queries.order_status(prov(root), 'p', 'заказ')['p']
    assert reply == {'status': 'error', 'message': 'ключ не скопирован', 'error': 1}


# order ------------------------------------------------------------------

def test_order_needs_config_id(root):
    assert error_of(_orders.place, prov(root), 'p', None) == (
        1, 'bxProvider::order2Provider: You must provide config_id for order')


def test_order_writes_empty_task_file(root):
    old = os.umask(0o022)
    try:
        holder = make_provider(root, 'p', {'order': {'task_id': 'T-{n}', 'note': 'ok'}})
        document = _orders.place(prov(root), 'p', '3').params
    finally:
        os.umask(old)
    assert document == {'provider_order': {'p': {'task_id': 'T-1', 'note': 'ok'}}}
    path = os.path.join(holder, 'tasks', 'T-1')
    assert open(path, 'rb').read() == b''
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o750
    assert calls(holder)[-1] == ['order', '3']


def test_order_numeric_task_id(root):
    holder = make_provider(root, 'p', {'order': {'task_id': 42}})
    assert _orders.place(prov(root), 'p', '1').params['provider_order']['p'] == {'task_id': 42}
    assert os.path.isfile(os.path.join(holder, 'tasks', '42'))


@pytest.mark.parametrize('task_id', ['../x', '../../etc/evil', '/abs', '.hidden'])
def test_order_hostile_task_id_from_provider_writes_nothing(root, task_id):
    holder = make_provider(root, 'p', {'order': {'task_id': task_id}})
    before = tree(holder)
    code, message = error_of(_orders.place, prov(root), 'p', '1')
    assert message.startswith('bxenv: invalid task_id returned by provider p')
    assert tree(holder) == before
    assert os.listdir(root) == ['p']  # our locks live beside the root (docs/protocol.md section 1)
    assert not os.path.exists(os.path.join(holder, 'tasks'))


@pytest.mark.parametrize('reply', [{}, {'task_id': ''}, {'task_id': None}])
def test_order_without_task_id(root, reply):
    make_provider(root, 'p', {'order': reply})
    assert error_of(_orders.place, prov(root), 'p', '1') == (
        1, "bxProvider::order2Provider: Provider p doesn't return task_id")


def test_order_unusable_and_unsupported(root):
    make_provider(root, 'off', help_reply={'status': 'disabled', 'options': ['order']})
    make_provider(root, 'noopt', help_reply={'options': ['configs']})
    assert error_of(_orders.place, prov(root), 'off', '1')[1] == 'bxProvider::order2Provider: Provider off disabled on the host'
    assert error_of(_orders.place, prov(root), 'ghost', '1')[1] == 'bxProvider::order2Provider: Provider ghost not_exists on the host'
    assert error_of(_orders.place, prov(root), 'noopt', '1')[1] == "bxProvider::order2Provider: Provider noopt doesn't support order option"


def test_order_error_reply_makes_no_tasks_folder(root):
    holder = make_provider(root, 'p', {'order': {'error': 4, 'error_message': 'no money'}})
    assert error_of(_orders.place, prov(root), 'p', '1') == (4, 'cmd=`%s/bin/p order 1` return no money' % holder)
    assert not os.path.exists(os.path.join(holder, 'tasks'))


# orders_list ------------------------------------------------------------

def test_orders_list_one_provider(root):
    holder = make_provider(root, 'p', {
        'order_status': {'status': 'in_progress'},
        'order_status t-fail': {'error': 3, 'error_message': 'unknown task'},
        'order_status t-msg': {'status': 'failed', 'message': 'out of stock', 'error': 0},
    })
    add_task(holder, 't-new')
    add_task(holder, 't-done', 'complete: Server=192.0.2.10 is added to the pool')
    add_task(holder, 't-err', 'error: User enter incorrect password')
    add_task(holder, 't-fail')
    add_task(holder, 't-msg')
    add_task(holder, '.dot')
    os.makedirs(os.path.join(holder, 'tasks', 'subdir'))
    os.utime(os.path.join(holder, 'tasks', 't-new'), (1700000000, 1700000000))
    orders = _queries.orders_list(prov(root), 'p')['p']
    mtime = int(os.stat(os.path.join(holder, 'tasks', 't-done')).st_mtime)
    assert sorted(orders) == ['.dot', 't-done', 't-err', 't-fail', 't-msg', 't-new']
    assert orders['t-new'] == {'error': 0, 'message': '', 'status': 'in_progress', 'mtime': 1700000000}
    assert orders['t-done'] == {'error': 0, 'message': '', 'status': 'complete', 'mtime': mtime}
    assert orders['t-err'] == {'error': 1, 'message': 'User enter incorrect password', 'status': 'error', 'mtime': mtime}
    assert orders['t-fail'] == {'error': 3, 'message': 'cmd=`%s/bin/p order_status t-fail` return unknown task' % holder,
                                'mtime': mtime}
    assert orders['t-msg'] == {'error': 0, 'message': 'out of stock', 'status': 'failed', 'mtime': mtime}
    assert orders['.dot']['message'].startswith('bxenv: invalid task_id')
    assert 'status' not in orders['.dot']


def test_orders_list_empty_tasks_is_null(root):
    holder = make_provider(root, 'p')
    os.makedirs(os.path.join(holder, 'tasks'))
    # The original's document for one provider with no task files.
    assert _queries.orders_list(prov(root), 'p') is None


def test_orders_list_one_provider_errors(root):
    holder = make_provider(root, 'p')
    make_provider(root, 'off', help_reply={'status': 'disabled', 'options': ['order_status']})
    make_provider(root, 'noopt', help_reply={'options': ['order']})
    assert error_of(_queries.orders_list, prov(root), 'p')[1] == (
        'bxProvider: Cannot open dircetory %s/tasks: No such file or directory' % holder)
    assert error_of(_queries.orders_list, prov(root), 'off')[1] == (
        'bxProvider::listOrders4Provider: Provider off disabled on the host')
    assert error_of(_queries.orders_list, prov(root), 'ghost')[1] == (
        'bxProvider::listOrders4Provider: Provider ghost not_exists on the host')
    assert error_of(_queries.orders_list, prov(root), 'noopt')[1] == (
        "bxProvider::listOrders4Provider: Provider noopt doesn't support order_status option")


def test_orders_list_all(root):
    good = make_provider(root, 'good', {'order_status': {'status': 'finished', 'server': 's'}})
    add_task(good, '1')
    empty = make_provider(root, 'empty')
    os.makedirs(os.path.join(empty, 'tasks'))
    make_provider(root, 'notasks')
    off = make_provider(root, 'off', help_reply={'status': 'disabled', 'options': ['order_status']})
    add_task(off, '1')
    broken = make_provider(root, 'broken', help_reply=raw('{"options": 5}'))
    add_task(broken, '1')
    os.makedirs(os.path.join(root, 'space prov', 'tasks'))
    warnings = []
    orders = _queries.orders_list(prov(root), None, 8, warnings)
    assert sorted(orders) == ['empty', 'good']
    assert orders['empty'] is None
    assert orders['good']['1']['status'] == 'finished'
    assert len(warnings) == 2
    assert warnings[0] == ("provider space prov left out of orders_list: bxenv: invalid provider name 'space prov': "
                           "must not contain whitespace or control characters (found ' ')")
    assert warnings[1].startswith('provider broken left out of orders_list: ')


def test_orders_list_all_no_providers_and_missing_root(root, tmp_path):
    assert _queries.orders_list(prov(root)) == {}
    missing = str(tmp_path / 'nope')
    assert error_of(_queries.orders_list, prov(missing)) == (
        1, 'bxProviders: Cannot open directory %s: No such file or directory' % missing)


def test_orders_list_same_with_1_and_8_workers(root):
    for p in range(3):
        holder = make_provider(root, 'p%d' % p, {'order_status': {'status': 'in_progress'},
                                                 'order_status t3': {'error': 2, 'error_message': 'x'}})
        for t in range(6):
            add_task(holder, 't%d' % t, 'complete' if t == 1 else '')
    one = _queries.orders_list(prov(root), None, 1)
    eight = _queries.orders_list(prov(root), None, 8)
    assert one == eight
    assert len(one) == 3
