# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile provider replies: each is that provider's error, never a crash.

The providers are real ``/bin/sh`` executables printing the bytes below.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import re

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries, _cli
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import to_json
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    MAX_REPLY_DEPTH, BrokenReply, ErrorReply, Providers, parse_reply,
)
from ansible_collections.bitrix.bxenv.tests.unit.fakes import add_task, make_provider, make_script_provider, raw, set_replies

# name -> (shell that prints the reply, what the error says)
HOSTILE = {
    'deep-100000': ("python3 -c 'import sys; sys.stdout.write(\"[\" * 100000 + \"]\" * 100000)'",
                    'JSON nested too deep'),
    'deep-500': ("python3 -c 'import sys; sys.stdout.write(\"{\\\"a\\\":\" * 500 + \"1\" + \"}\" * 500)'",
                 'JSON nested deeper than %d levels' % MAX_REPLY_DEPTH),
    'not-utf8': (r"printf '{\"status\": \"caf\351\"}'", 'output is not UTF-8 (byte 0xe9 at offset 18)'),
    'nan': ("printf '{\"status\": NaN}'", 'NaN is not JSON'),
    'infinity': ("printf '{\"status\": -Infinity}'", '-Infinity is not JSON'),
    'huge-number': ("printf '{\"status\": 1e999}'", 'number 1e999 is out of range'),
    'duplicate-key': ("printf '{\"status\": \"a\", \"status\": \"b\"}'", 'duplicate key "status"'),
    'flood': ('yes', 'wrote more than 1048576 bytes on stdout and was killed'),
    # A JSON-escaped half of a UTF-16 pair (a Node.js provider that cut an
    # emoji in half): valid JSON syntax, but no UTF-8 output can hold it.
    'surrogate-value': ("printf %s '{\"status\": \"caf\\ud83d\"}'",
                        'lone surrogate \\ud83d in the value at status: not valid Unicode'),
    'surrogate-key': ("printf %s '{\"status\": \"ok\", \"\\udc00x\": 1}'",
                      'lone surrogate \\udc00 in the key at \\udc00x'),
    'surrogate-nested': ("printf %s '{\"configurations\": [{\"id\": \"1\", \"descr\": [\"ok\", \"\\ude80\\ud83d\"]}]}'",
                         'lone surrogate \\ude80 in the value at configurations.0.descr.1'),
}


def providers(root):
    return Providers(root, timeout=20, max_output=1024 * 1024)


@pytest.mark.parametrize('kind', sorted(HOSTILE))
def test_hostile_configs_reply_is_the_providers_error(root, kind):
    script, cause = HOSTILE[kind]
    make_script_provider(root, 'p', script)
    prov = providers(root)
    with pytest.raises(BrokenReply) as info:
        prov.call(prov.probe('p'), 'configs')
    message = info.value.message
    assert message.startswith('bxProvider::executeProviderCmd: Command `%s configs` '
                              % os.path.join(root, 'p', 'bin', 'p'))
    assert cause in message and 'configs' in message


@pytest.mark.parametrize('stdout', ['', '\n'])
def test_empty_reply_is_the_originals_error_reply(root, stdout):
    make_script_provider(root, 'p', "printf '%s'" % stdout.replace('\n', '\\n'))
    prov = providers(root)
    with pytest.raises(ErrorReply) as info:
        prov.call(prov.probe('p'), 'configs')
    assert info.value.message.endswith('configs` return empty string')


def test_list_reports_every_other_provider(root):
    for kind, (script, cause) in HOSTILE.items():
        make_script_provider(root, kind, 'exit 0', help_reply={})
        with open(os.path.join(root, kind, 'bin', kind), 'w') as handle:
            handle.write('#!/bin/sh\n%s\n' % script)
    make_provider(root, 'good')
    listed = _queries.list_providers(providers(root))
    assert listed['good'] == {'status': 'enabled'}
    for kind, (script, cause) in HOSTILE.items():
        assert listed[kind]['error'] == 1 and cause in listed[kind]['message'], kind
        assert 'action help' in listed[kind]['message']


def test_orders_list_keeps_the_good_orders(root):
    holder = make_script_provider(root, 'p', 'case "$2" in good) printf \'{"status": "ok"}\';; *) %s;; esac'
                                  % HOSTILE['deep-100000'][0])
    os.makedirs(os.path.join(holder, 'tasks'))
    for task in ('good', 'bad'):
        open(os.path.join(holder, 'tasks', task), 'w').close()
    orders = _queries.orders_list(providers(root))['p']
    assert orders['good']['status'] == 'ok' and orders['good']['error'] == 0
    assert orders['bad']['error'] == 1 and 'JSON nested too deep' in orders['bad']['message']


def test_command_prints_valid_json_for_every_hostile_reply(root):
    for kind, (script, cause) in HOSTILE.items():
        make_script_provider(root, kind, script)
    for kind, (script, cause) in HOSTILE.items():
        out = io.StringIO()
        rc = _cli.main(['-a', 'configs', '--provider', kind, '-o', 'json'], out, io.StringIO(),
                       settings={'providers_dir': root, 'max_output': 1048576})
        document = json.loads(out.getvalue(), parse_constant=lambda name: pytest.fail('printed %s' % name))
        assert rc == 1 and document['error'] == 1 and cause in document['message'], kind


@pytest.mark.parametrize('text, problem', [
    (b'{"a": [1, 2.5, "x", null, true]}', None),
    (b'[' * (MAX_REPLY_DEPTH + 1) + b']' * (MAX_REPLY_DEPTH + 1), 'nested deeper'),
    (b'[' * MAX_REPLY_DEPTH + b']' * MAX_REPLY_DEPTH, None),
    (b'{"a": Infinity}', 'Infinity is not JSON'),
    (b'"\xff"', 'not UTF-8'),
])
def test_parse_reply_limits(text, problem):
    if problem is None:
        assert parse_reply(text) == json.loads(text)
    else:
        with pytest.raises(ValueError, match=problem):
            parse_reply(text)


# Lone surrogates: every action, every front end ------------------------------

# An order whose reply carries a half emoji: printed with the JSON escape, as
# a Node.js provider does.
HALF_EMOJI = '\\ud83d'


def run_command(root, *argv):
    """The command as the web interface runs it: its stdout must decode as strict UTF-8."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding='utf-8', errors='strict', newline='')
    rc = _cli.main(list(argv) + ['-o', 'json'], out, io.StringIO(), settings={'providers_dir': root})
    out.flush()
    return rc, json.loads(raw.getvalue().decode('utf-8', 'strict'))


@pytest.mark.parametrize('text, where', [
    (b'{"a": "\\ud83d"}', 'in the value at a'),
    (b'{"\\ud83d": 1}', 'in the key at \\ud83d'),
    (b'{"a": {"b": ["x", "y\\udfff"]}}', 'in the value at a.b.1'),
    (b'{"a": [{"\\udc00": null}]}', 'in the key at a.0.\\udc00'),
    (b'"\\ud800"', 'in the text at (reply)'),
])
def test_parse_reply_refuses_lone_surrogates(text, where):
    with pytest.raises(ValueError, match='lone surrogate .* %s: not valid Unicode' % re.escape(where)):
        parse_reply(text)


def test_parse_reply_keeps_a_whole_pair_and_raw_astral_text():
    assert parse_reply(b'{"a": "\\ud83d\\ude80", "b": "\xf0\x9f\x9a\x80"}') == {'a': '\U0001f680', 'b': '\U0001f680'}


@pytest.mark.parametrize('action, argument, reply', [
    ('help', None, '{"options": ["help"], "status": "enabled", "note": "%s"}' % HALF_EMOJI),
    ('configs', None, '{"status": "enabled", "configurations": [{"id": "1", "descr": "1 CPU %s"}]}' % HALF_EMOJI),
    ('order', '1', '{"task_id": "T-1", "message": "ok %s"}' % HALF_EMOJI),
    ('order_status', 'T-1', '{"status": "in_progress", "message": "%s"}' % HALF_EMOJI),
])
def test_lone_surrogate_in_any_reply_is_the_providers_error(root, action, argument, reply):
    make_provider(root, 'p', {action: raw(reply)})
    prov = providers(root)
    with pytest.raises(BrokenReply) as info:
        prov.call(prov.empty_record('p'), action, argument)
    message = info.value.message
    assert '(provider p, action %s)' % action in message
    assert 'lone surrogate \\ud83d in the value at ' in message
    message.encode('utf-8', 'strict')
    assert info.value.reply == json.loads(reply)


def three_providers(root, broken):
    """``a``, ``b``, ``c`` with one task each; ``b``'s ``broken`` action prints a lone surrogate."""
    for name in ('a', 'b', 'c'):
        replies = {'order_status': {'status': 'in_progress', 'message': 'building'}}
        help_reply = None
        if name == 'b' and broken == 'help':
            help_reply = raw('{"options": ["order_status"], "status": "en%sabled"}' % HALF_EMOJI)
        elif name == 'b':
            replies[broken] = raw('{"status": "in_progress", "message": "%s"}' % HALF_EMOJI)
        add_task(make_provider(root, name, replies, help_reply=help_reply), 'T-1')


def test_list_over_three_providers_one_with_a_lone_surrogate(root):
    three_providers(root, 'help')
    rc, document = run_command(root, '-a', 'list')
    listed = document['params']['providers']
    assert (rc, listed['a'], listed['c']) == (0, {'status': 'enabled'}, {'status': 'enabled'})
    assert listed['b']['error'] == 1
    assert 'action help' in listed['b']['message'] and 'lone surrogate \\ud83d' in listed['b']['message']
    assert _queries.list_providers(providers(root)) == listed


def test_orders_list_over_three_providers_one_with_a_lone_surrogate(root):
    three_providers(root, 'order_status')
    rc, document = run_command(root, '-a', 'orders_list')
    orders = document['params']['provider_order_list']
    assert rc == 0 and sorted(orders) == ['a', 'b', 'c']
    assert orders['a']['T-1']['status'] == orders['c']['T-1']['status'] == 'in_progress'
    entry = orders['b']['T-1']
    assert entry['error'] == 1 and 'status' not in entry
    assert 'action order_status' in entry['message'] and 'lone surrogate \\ud83d' in entry['message']


def test_orders_list_leaves_out_a_provider_whose_help_has_a_lone_surrogate(root):
    three_providers(root, 'help')
    warnings = []
    orders = _queries.orders_list(providers(root), warnings=warnings)
    assert sorted(orders) == ['a', 'c']
    assert len(warnings) == 1 and warnings[0].startswith('provider b left out of orders_list: ')
    assert 'lone surrogate \\ud83d' in warnings[0]


@pytest.mark.parametrize('argv', [
    ['-a', 'configs', '--provider', 'b'],
    ['-a', 'order_status', '--provider', 'b', '--task_id', 'T-1'],
    ['-a', 'orders_list', '--provider', 'b'],
])
def test_command_output_is_strict_utf8_json(root, argv):
    three_providers(root, 'order_status')
    set_replies(os.path.join(root, 'b'), {'configs': raw('{"status": "enabled", "x": "%s"}' % HALF_EMOJI),
                                          'order_status': raw('{"status": "%s"}' % HALF_EMOJI)})
    rc, document = run_command(root, *argv)
    entry = document if 'error' in document else document['params']['provider_order_list']['b']['T-1']
    assert entry['error'] == 1 and 'lone surrogate \\ud83d' in entry['message']
    assert rc == (0 if argv[1] == 'orders_list' else 1)


def test_order_with_a_lone_surrogate_says_the_order_may_exist(root):
    """Recorded, and not a plain failure: the user must not order again."""
    holder = make_provider(root, 'p', {'order': raw('{"task_id": "T-1", "message": "ok %s"}' % HALF_EMOJI)})
    rc, document = run_command(root, '-a', 'order', '--provider', 'p', '--config_id', '1')
    assert (rc, document['error']) == (1, 1)
    assert 'lone surrogate \\ud83d' in document['message']
    assert 'provider p may have placed the order as task_id=T-1 (recorded in %s/tasks/T-1)' % holder \
        in document['message']
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))


def test_to_json_refuses_what_utf8_cannot_hold():
    assert to_json({'a': '\U0001f680'}) == '{"a":"\U0001f680"}'
    with pytest.raises(ValueError, match="'\\\\ud83d' at offset 6 of the output is not valid Unicode"):
        to_json({'a': '\ud83d'})


def test_command_prints_an_error_document_for_a_result_utf8_cannot_hold(root, monkeypatch):
    """Defence in depth: whatever slips past the reply checks is never a traceback."""
    monkeypatch.setitem(_cli._HANDLERS, 'list', lambda providers, options, warnings: {'params': {'x': '\udc80'}})
    rc, document = run_command(root, '-a', 'list')
    assert (rc, document['error']) == (1, 1)
    assert document['message'].startswith('bx-provider-bxenv: cannot print the result of action list: ')
