# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Random command lines and random provider replies against the command and the reply checks.

Whatever a pasted value or a provider prints, the command answers with the
usage text or one strict UTF-8 JSON document whose error code is its exit
status, never a traceback, and writes nothing outside its own folders.
The provider executables are real files; their replies come from a
stand-in with the runner's signature, so Hypothesis can try thousands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli, _provider, _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

# Every code point, lone surrogates included (what a Node.js provider prints
# when it cuts an emoji in half, and what argv holds for bytes that are not UTF-8).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
# Hypothesis seldom draws a surrogate by itself: put the odd ones in often.
ODD = st.sampled_from(['\ud83d', '\ude00', '\udcff', '\x00', '\n', '\u2028', '😀'])


def texts(max_size, min_size=0):
    return st.one_of(st.text(ANY_CHAR, min_size=min_size, max_size=max_size),
                     st.builds(lambda head, odd, tail: head + odd + tail,
                               st.text(max_size=2), ODD, st.text(max_size=2)))


WORDS = st.sampled_from(['-a', '--action', '-o', '--output', '--provider', '--config_id', '--task_id', '--archive',
                         '-v', '-vo', '-h', '--', '-', '--providers_dir', '--pool_dir', '--force', '--timeout',
                         'list', 'status', 'configs', 'order', 'order_status', 'orders_list', 'order_to_host',
                         'uninstall', 'json', 'plain', 'p', 'q', '1', 't1', '/tmp', 'x y'])
ARGV = st.lists(st.one_of(WORDS, texts(12)), max_size=8)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    texts(8), st.sampled_from(['finished', 'enabled', 'error', '192.0.2.7']))
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.one_of(texts(6), st.sampled_from(
        ['status', 'options', 'configurations', 'id', 'descr', 'task_id', 'server', 'error', 'error_message'])),
        children, max_size=5)), max_leaves=12)


def _encoded(value):
    # ensure_ascii: a lone surrogate becomes a \\udXXX escape, as JSON allows.
    return json.dumps(value).encode('ascii')


REPLIES = st.one_of(JSON_VALUES.map(_encoded), st.binary(max_size=40),
                    st.fixed_dictionaries({'options': st.just(['help', 'configs', 'order', 'order_status']),
                                           'status': texts(4)}).map(_encoded),
                    st.fixed_dictionaries({'task_id': texts(6, min_size=1)}).map(_encoded),
                    st.fixed_dictionaries({'status': st.just('finished'), 'server': texts(8),
                                           'server_password': texts(4)}).map(_encoded))


class Replies(object):
    """A stand-in runner: the provider's reply per action, drawn by Hypothesis."""

    def __init__(self, replies):
        self.replies = replies

    def __call__(self, argv, timeout, **kwargs):
        action = argv[1] if len(argv) > 1 else ''
        return _runner.Result(argv, rc=0, stdout=self.replies.get(action, b'{}'))


def _tree():
    base = tempfile.mkdtemp(prefix='bxenv-prop-')
    root = os.path.join(base, 'tree', 'providers')
    for name in ('p', 'q'):
        os.makedirs(os.path.join(root, name, 'bin'))
        path = os.path.join(root, name, 'bin', name)
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\nexit 99\n')  # never run: the stand-in answers
        os.chmod(path, 0o755)
    os.makedirs(os.path.join(base, 'outside'))
    return base, {'providers_dir': root, 'pool_dir': os.path.join(base, 'tree', 'pool'),
                  'jobs_dir': os.path.join(base, 'tree', 'jobs'),
                  'ansible_playbook': os.path.join(base, 'tree', 'no-playbook'), 'setup_job': False}


def _check(argv, replies):
    base, fixed = _tree()
    cwd = os.getcwd()
    os.chdir(os.path.join(base, 'outside'))
    try:
        out = io.StringIO()
        rc = _cli.main(argv, out, io.StringIO(), runner=Replies(replies), settings=fixed)
        data = out.getvalue().encode('utf-8')  # strict: a lone surrogate fails here
        assert os.listdir(os.path.join(base, 'outside')) == [] and sorted(os.listdir(base)) == ['outside', 'tree']
    finally:
        os.chdir(cwd)
        shutil.rmtree(base)
    text = data.decode('utf-8')
    if text.startswith('Usage: bx-provider '):
        assert rc == 0
        return
    document = json.loads(text, parse_constant=lambda name: 1 / 0)
    assert isinstance(document, dict) and set(document) <= {'params', 'error', 'message'}
    assert rc == _cli.exit_status(document)
    assert 0 <= rc < 256


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(argv=ARGV)
def test_any_command_line_gives_usage_or_one_json_document(argv):
    _check(argv + ['-o', 'json'], {'help': _encoded({'options': ['help', 'configs', 'order', 'order_status'],
                                                    'status': 'enabled'})})


@PROPERTY
@given(action=st.sampled_from(['list', 'status', 'configs', 'order', 'order_status', 'orders_list']),
       replies=st.fixed_dictionaries({'help': REPLIES, 'configs': REPLIES, 'order': REPLIES,
                                      'order_status': REPLIES}))
def test_any_provider_reply_gives_one_json_document(action, replies):
    argv = ['-a', action, '--provider', 'p', '--config_id', '1', '--task_id', 't1', '-o', 'json']
    if action in ('list', 'orders_list'):
        argv = ['-a', action, '-o', 'json']
    _check(argv, replies)


@PROPERTY
@given(data=st.one_of(REPLIES, st.binary(max_size=200)))
def test_the_reply_checks_never_raise_anything_else(data):
    try:
        value = _provider.parse_reply(data)
    except (ValueError, BxError):
        return
    # What passes the checks can always be printed as strict UTF-8 JSON.
    _cli.render({'params': {'provider_configs': {'p': value}}}, 'json').encode('utf-8')
