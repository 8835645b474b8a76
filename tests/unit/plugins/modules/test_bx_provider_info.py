# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_provider_info through ``main()``: options, failures, masking, warnings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_info
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, make_script_provider, raw
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.test__provider_replies import HOSTILE

FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'S3cret!',
            'extra': {'root_Password': 'x', 'note': 'kept'}}


@pytest.fixture
def providers(tmp_path):
    """A providers root: superprovider with one order (t1) and a provider that answers help with junk."""
    path = str(tmp_path / 'providers')
    holder = make_provider(path, 'superprovider', {'order_status': FINISHED,
                                                   'configs': {'configurations': [{'id': '1', 'descr': 'a'}]}})
    os.makedirs(os.path.join(holder, 'tasks'))
    open(os.path.join(holder, 'tasks', 't1'), 'w').close()
    make_provider(path, 'broken', help_reply=raw('oops'))
    return path


def test_list(run_module, providers):
    result = run_module(bx_provider_info, {'providers_dir': providers})
    assert result['changed'] is False
    assert result['params']['providers']['superprovider'] == {'status': 'enabled'}
    assert result['params']['providers']['broken']['error'] == 1
    assert 'failed' not in result


def test_check_mode_gives_the_same(run_module, providers):
    args = {'providers_dir': providers, 'query': 'orders_list'}
    normal = run_module(bx_provider_info, args)
    check = run_module(bx_provider_info, args, check_mode=True)
    assert normal['params'] == check['params']


def test_password_masked_by_default(run_module, providers):
    result = run_module(bx_provider_info, {'providers_dir': providers, 'query': 'order_status',
                                           'provider': 'superprovider', 'task_id': 't1'})
    reply = result['params']['provider_order']['superprovider']
    assert reply['server_password'] == '********'
    assert reply['extra'] == {'root_Password': '********', 'note': 'kept'}
    assert 'S3cret!' not in str(result)


def test_reveal_secrets(run_module, providers):
    result = run_module(bx_provider_info, {'providers_dir': providers, 'query': 'order_status', 'reveal_secrets': True,
                                           'provider': 'superprovider', 'task_id': 't1'})
    assert result['params']['provider_order']['superprovider'] == FINISHED


def test_failure_carries_error_and_message(run_module, providers):
    result = run_module(bx_provider_info, {'providers_dir': providers, 'query': 'configs', 'provider': 'ghost'})
    text = 'bxProvider::configsProvider: Provider ghost not_exists on the host'
    assert result['failed'] is True
    assert (result['msg'], result['message'], result['error']) == (text, text, 1)


def test_orders_list_warns_about_broken_provider(run_module, providers):
    result = run_module(bx_provider_info, {'providers_dir': providers, 'query': 'orders_list'})
    assert list(result['params']['provider_order_list']) == ['superprovider']
    # ansible-core 2.19 reports warnings as objects, older releases as text.
    texts = [w if isinstance(w, str) else w.get('msg') or w['event']['msg'] for w in result['warnings']]
    assert any(t.startswith('provider broken left out of orders_list') for t in texts), result['warnings']


@pytest.mark.parametrize('args, text', [
    ({'query': 'status'}, 'query is status but all of the following are missing: provider'),
    ({'query': 'order_status', 'provider': 'p'}, 'query is order_status but all of the following are missing: task_id'),
    ({'workers': 0}, 'workers must be a whole number from 1 to 64, got 0'),
    ({'timeout': 0}, 'timeout must be a whole number of seconds from 1 to 86400, got 0'),
])
def test_bad_options(run_module, providers, args, text):
    args['providers_dir'] = providers
    result = run_module(bx_provider_info, args)
    assert result['failed'] is True
    assert text in result['msg']


def test_list_is_valid_json_with_every_hostile_provider(run_module, tmp_path):
    root = str(tmp_path / 'providers')
    make_provider(root, 'good')
    for kind in ('deep-100000', 'deep-500', 'not-utf8', 'nan'):
        make_script_provider(root, kind, 'exit 0')
        with open(os.path.join(root, kind, 'bin', kind), 'w') as handle:
            handle.write('#!/bin/sh\n%s\n' % HOSTILE[kind][0])
    result = run_module(bx_provider_info, {'providers_dir': root})
    listed = result['params']['providers']
    assert 'failed' not in result and listed['good'] == {'status': 'enabled'}
    assert sorted(k for k, v in listed.items() if v.get('error') == 1) == ['deep-100000', 'deep-500', 'nan',
                                                                           'not-utf8']


SECRET = 'S3cretX'


def _order_status(run_module, tmp_path, reply, **args):
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'sp', {'order_status': reply})
    os.makedirs(os.path.join(holder, 'tasks'))
    open(os.path.join(holder, 'tasks', 't1'), 'w').close()
    args.update(providers_dir=root, query='order_status', provider='sp', task_id='t1')
    return run_module(bx_provider_info, args)


@pytest.mark.parametrize('password', [{'k': SECRET}, [SECRET], {'password': SECRET}, [{'token': SECRET}], True])
@pytest.mark.parametrize('reveal', [False, True])
def test_a_password_of_the_wrong_type_is_never_quoted(run_module, tmp_path, password, reveal):
    result = _order_status(run_module, tmp_path, {'status': 'finished', 'server': '192.0.2.10',
                                                  'server_password': password}, reveal_secrets=reveal)
    assert result['failed'] is True
    assert "returned a bad reply: server_password: ******** is not of type 'string'" in result['msg']
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize('reply, shown', [
    ({'status': {'token': SECRET, 'n': 1}}, "status: {'token': '********', 'n': 1} is not of type"),
    ({'status': [{'Api_Key': SECRET}]}, "status: [{'Api_Key': '********'}] is not of type"),
    ([{'server_password': SECRET}], 'returned JSON list, not an object'),
])
def test_a_value_holding_a_secret_is_quoted_masked(run_module, tmp_path, reply, shown):
    result = _order_status(run_module, tmp_path, reply)
    assert result['failed'] is True and shown in result['msg']
    assert SECRET not in json.dumps(result)


WIDE = {'passwd': 'a', 'pass': 'b', 'client_secret': 'c', 'access_token': 'd', 'api_key': 'e', 'apiKey': 'f',
        'API-KEY': 'g', 'private_key': 'h', 'privateKey': 'i', 'credentials': {'user': 'u'}, 'rootPwd': 'j',
        'Passphrase': 'k'}


def test_every_secret_key_is_masked(run_module, tmp_path):
    reply = dict(WIDE, status='finished', server='192.0.2.10', note='kept', empty_token='', extra={'db_pass': 'l'})
    result = _order_status(run_module, tmp_path, reply)
    shown = result['params']['provider_order']['sp']
    assert shown == dict(dict((key, '********') for key in WIDE), status='finished', server='192.0.2.10',
                         note='kept', empty_token='', extra={'db_pass': '********'})
    revealed = _order_status(run_module, tmp_path / 'again', reply, reveal_secrets=True)
    assert revealed['params']['provider_order']['sp'] == reply


@pytest.mark.parametrize('args, text', [
    ({'timeout': 10 ** 12}, 'timeout must be a whole number of seconds from 1 to 86400, got 1000000000000'),
    ({'max_output': 2 ** 40}, 'max_output must be a whole number of bytes from 1024 to 1073741824, got 1099511627776'),
    ({'workers': 100000}, 'workers must be a whole number from 1 to 64, got 100000'),
])
def test_huge_numbers_are_refused_clearly(run_module, providers, args, text):
    args['providers_dir'] = providers
    result = run_module(bx_provider_info, args)
    assert result['failed'] is True and result['msg'] == text
