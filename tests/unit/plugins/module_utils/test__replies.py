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

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _actions, _cli
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    MAX_REPLY_DEPTH, BrokenReply, ErrorReply, Providers, parse_reply,
)
from ansible_collections.bitrix.bxenv.tests.unit.fakes import make_provider, make_script_provider

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
    listed = _actions.list_providers(providers(root))
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
    orders = _actions.orders_list(providers(root))['p']
    assert orders['good']['status'] == 'ok' and orders['good']['error'] == 0
    assert orders['bad']['error'] == 1 and 'JSON nested too deep' in orders['bad']['message']


def test_command_prints_valid_json_for_every_hostile_reply(root):
    for kind, (script, cause) in HOSTILE.items():
        make_script_provider(root, kind, script)
    for kind, (script, cause) in HOSTILE.items():
        out = io.StringIO()
        rc = _cli.main(['-a', 'configs', '--provider', kind, '--providers_dir', root, '-o', 'json',
                        '--max_output', '1048576'], out, io.StringIO())
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
