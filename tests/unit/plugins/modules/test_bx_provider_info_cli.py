# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One core, two front ends: bx_provider_info and the bx-provider command agree.

Each row of the table is run through the module (``run_module``) and through
the command (``_cli.main``, JSON output) on the same fake providers; both
must give the outcome docs/protocol.md states: the same ``params``, or the same
``error`` and ``message``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli
from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_info
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, raw
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner

FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'S3cret!', 'task_id': 't1'}
CONFIGS = {'status': 'enabled', 'configurations': [{'id': '1', 'descr': 'one'}]}


def task(holder, task_id, content=''):
    os.makedirs(os.path.join(holder, 'tasks'), exist_ok=True)
    with open(os.path.join(holder, 'tasks', task_id), 'w') as handle:
        handle.write(content)


def mtime(root, name, task_id):
    return int(os.stat(os.path.join(root, name, 'tasks', task_id)).st_mtime)


def world(root):
    """The providers every row sees."""
    holder = make_provider(root, 'sp', {
        'configs': CONFIGS,
        'order_status': {'status': 'in_progress'},
        'order_status t1': FINISHED,
        'order_status t3': {'status': ''},
    })
    task(holder, 't1')
    task(holder, 't2', 'error: pool_not_created')
    make_provider(root, 'off', help_reply={'options': ['configs', 'order_status'], 'status': 'disabled'})
    make_provider(root, 'bare', help_reply={'options': ['help']})
    make_provider(root, 'noexec', executable=False)
    make_provider(root, 'coded', {'configs': {'error': '2', 'error_message': 'quota'}})
    make_provider(root, 'garbled', {'configs': raw('<html>', stderr='proxy error')})
    make_provider(root, 'slow', {'configs': raw('{}', sleep=20)})
    empty = make_provider(root, 'empty')
    os.makedirs(os.path.join(empty, 'tasks'))
    os.makedirs(os.path.join(root, 'space prov', 'bin'))


def ok(params):
    return lambda root: ('ok', params(root) if callable(params) else params)


def error(message, code=1):
    return lambda root: ('error', code, message(root) if callable(message) else message)


def execute(root, name):
    return os.path.join(root, name, 'bin', name)


# (id, query, provider, task_id, expected outcome)
TABLE = [
    ('list', 'list', None, None, ok({'providers': {
        'sp': {'status': 'enabled'}, 'off': {'status': 'disabled'}, 'bare': {'status': 'exists'},
        'coded': {'status': 'enabled'}, 'garbled': {'status': 'enabled'}, 'slow': {'status': 'enabled'},
        'empty': {'status': 'enabled'},
        'noexec': {'error': 1, 'message': 'bxProvider::optionsProvider: Provider noexec not exist on the host'},
        'space prov': {'error': 1, 'message': "bxenv: invalid provider name 'space prov': must not contain "
                                              "whitespace or control characters (found ' ')"}}})),
    ('status', 'status', 'bare', None, ok(lambda root: {'provider_options': {'bare': {
        'name': 'bare', 'status': 'exists', 'config': 'not_exists',
        'files': {'holder': os.path.join(root, 'bare'), 'execute': execute(root, 'bare'),
                  'config': os.path.join(root, 'bare', 'etc', 'bare.conf')},
        'options': {'help': 1, 'init': 0, 'configs': 0, 'order': 0, 'order_status': 0}}}})),
    ('status-missing', 'status', 'ghost', None,
     error('bxProvider::optionsProvider: Provider ghost not exist on the host')),
    ('configs', 'configs', 'sp', None, ok({'provider_configs': {'sp': CONFIGS}})),
    ('configs-disabled', 'configs', 'off', None,
     error('bxProvider::configsProvider: Provider off disabled on the host')),
    ('configs-missing', 'configs', 'noexec', None,
     error('bxProvider::configsProvider: Provider noexec not_exists on the host')),
    ('configs-unsupported', 'configs', 'bare', None,
     error("bxProvider::configsProvider: Provider bare doesn't support configs option")),
    ('configs-provider-code', 'configs', 'coded', None,
     error(lambda root: 'cmd=`%s configs` return quota' % execute(root, 'coded'), code='2')),
    ('configs-not-json', 'configs', 'garbled', None, error(lambda root: (
        'bxProvider::executeProviderCmd: Command `%s configs` (provider garbled, action configs) did not return '
        'one JSON object: Expecting value: line 1 column 1 (char 0) (exit status 0); stderr: proxy error'
        % execute(root, 'garbled')))),
    ('configs-timeout', 'configs', 'slow', None, error(lambda root: (
        'bxProvider::executeProviderCmd: Command `%s configs` timed out after 1 s and was killed '
        '(provider slow, action configs)' % execute(root, 'slow')))),
    ('order_status', 'order_status', 'sp', 't1', ok({'provider_order': {'sp': FINISHED}})),
    ('order_status-overlay', 'order_status', 'sp', 't2', ok({'provider_order': {'sp': {
        'status': 'error', 'error': 1, 'message': 'pool_not_created'}}})),
    ('order_status-no-status', 'order_status', 'sp', 't3',
     error("bxProvider::order_status2Provider: Provider sp doesn't return status for task_id=t3")),
    ('order_status-unsupported', 'order_status', 'bare', 't1',
     error("bxProvider::order_status2Provider: Provider bare doesn't support order_status option")),
    ('order_status-bad-id', 'order_status', 'sp', 'a/b',
     error("bxenv: invalid task_id 'a/b': must not contain '/'")),
    ('orders_list-one', 'orders_list', 'sp', None, ok(lambda root: {'provider_order_list': {'sp': {
        't1': {'error': 0, 'message': '', 'status': 'finished', 'mtime': mtime(root, 'sp', 't1')},
        't2': {'error': 1, 'message': 'pool_not_created', 'status': 'error', 'mtime': mtime(root, 'sp', 't2')}}}})),
    ('orders_list-all', 'orders_list', None, None, ok(lambda root: {'provider_order_list': {'sp': {
        't1': {'error': 0, 'message': '', 'status': 'finished', 'mtime': mtime(root, 'sp', 't1')},
        't2': {'error': 1, 'message': 'pool_not_created', 'status': 'error', 'mtime': mtime(root, 'sp', 't2')}},
        'empty': None}})),
    ('orders_list-one-empty', 'orders_list', 'empty', None, ok({'provider_order_list': None})),
    ('orders_list-disabled', 'orders_list', 'off', None,
     error('bxProvider::listOrders4Provider: Provider off disabled on the host')),
    ('orders_list-no-tasks', 'orders_list', 'coded', None, error(lambda root: (
        'bxProvider: Cannot open dircetory %s: No such file or directory' % os.path.join(root, 'coded', 'tasks')))),
]


@pytest.fixture(scope='module')
def shared_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('twofronts') / 'providers')
    os.makedirs(root)
    world(root)
    return root


def through_module(run_module, root, query, provider, task_id):
    args = {'providers_dir': root, 'query': query, 'timeout': 1, 'reveal_secrets': True}
    if provider is not None:
        args['provider'] = provider
    if task_id is not None:
        args['task_id'] = task_id
    result = run_module(bx_provider_info, args)
    if result.get('failed'):
        assert result['msg'] == result['message']
        return ('error', result['error'], result['message'])
    return ('ok', result['params'])


def through_command(root, query, provider, task_id):
    argv = ['-a', query, '-o', 'json']
    if provider is not None:
        argv += ['--provider', provider]
    if task_id is not None:
        argv += ['--task_id', task_id]
    out = io.StringIO()
    rc = _cli.main(argv, out, io.StringIO(), runner=Runner(), settings={'providers_dir': root, 'timeout': 1})
    document = json.loads(out.getvalue())
    if 'error' in document:
        assert rc == int(document['error'])
        return ('error', document['error'], document['message'])
    assert rc == 0
    return ('ok', document['params'])


@pytest.mark.parametrize('query, provider, task_id, expected', [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_module_and_command_agree(run_module, shared_root, query, provider, task_id, expected):
    want = expected(shared_root)
    assert through_command(shared_root, query, provider, task_id) == want
    assert through_module(run_module, shared_root, query, provider, task_id) == want


def test_list_with_a_broken_provider_agrees(run_module, tmp_path):
    root = str(tmp_path / 'providers')
    make_provider(root, 'sp')
    make_provider(root, 'broken', help_reply=raw('[1]'))
    outcome = through_command(root, 'list', None, None)
    assert outcome == through_module(run_module, root, 'list', None, None)
    assert outcome[1]['providers']['broken'] == {'error': 1, 'message': (
        'bxProvider::executeProviderCmd: Command `%s help` (provider broken, action help) returned JSON list, '
        'not an object' % execute(root, 'broken'))}


def test_orders_list_left_out_providers_are_named_by_both(run_module, tmp_path):
    """Over all providers, what is left out is named: on stderr by the command, in ``warnings`` by the module."""
    root = str(tmp_path / 'providers')
    task(make_provider(root, 'sp', {'order_status': {'status': 'in_progress'}}), 't1')
    task(make_provider(root, 'garbled', help_reply=raw('<html>')), 't1')
    task(make_provider(root, 'hung', help_reply=raw('{}', sleep=20)), 't1')
    os.makedirs(os.path.join(root, 'space prov', 'tasks'))
    err = io.StringIO()
    assert _cli.main(['-a', 'orders_list', '-o', 'json'], io.StringIO(), err, runner=Runner(),
                     settings={'providers_dir': root, 'timeout': 1}) == 0
    command = [line[len('bx-provider: warning: '):] for line in err.getvalue().splitlines()]
    result = run_module(bx_provider_info, {'providers_dir': root, 'query': 'orders_list', 'timeout': 1})
    # ansible-core 2.19 reports warnings as objects, older releases as text.
    module = [w if isinstance(w, str) else w.get('msg') or w['event']['msg'] for w in result['warnings']]
    assert sorted(module) == sorted(command)
    assert sorted(text.split(':')[0] for text in command) == [
        'provider garbled left out of orders_list', 'provider hung left out of orders_list',
        'provider space prov left out of orders_list']
    assert list(result['params']['provider_order_list']) == ['sp']
