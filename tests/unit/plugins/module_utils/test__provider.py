# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probing and calling real fake-provider executables (docs/protocol.md 2, 3)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    BrokenReply, ErrorReply, Providers)
from ansible_collections.bitrix.bxenv.tests.unit.fakes import calls, make_provider, make_script_provider, raw, wait_gone
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner


def providers(root, timeout=20):
    return Providers(root, Runner(), timeout=timeout)


def test_record_of_a_full_provider(root):
    make_provider(root, 'p', config=True)
    record = providers(root).probe('p')
    holder = os.path.join(root, 'p')
    assert record == {
        'name': 'p', 'status': 'enabled', 'config': 'exists',
        'files': {'holder': holder, 'execute': holder + '/bin/p', 'config': holder + '/etc/p.conf'},
        'options': {'help': 1, 'init': 0, 'configs': 1, 'order': 1, 'order_status': 1},
    }


def test_not_executable_is_not_run(root):
    holder = make_provider(root, 'p', executable=False, config=True)
    record = providers(root).probe('p')
    assert record['status'] == 'not_exists'
    assert record['config'] == 'not_exists'
    assert set(record['options'].values()) == {0}
    assert calls(holder) == []


def test_missing_provider_folder(root):
    assert providers(root).probe('ghost')['status'] == 'not_exists'


@pytest.mark.parametrize('help_reply', [raw(''), raw('\n'), {'error': 3, 'error_message': 'no'}])
def test_help_error_reply_is_silent(root, help_reply):
    make_provider(root, 'p', help_reply=help_reply)
    record = providers(root).probe('p')
    assert record['status'] == 'exists'
    assert set(record['options'].values()) == {0}


def test_help_unknown_options_and_init(root):
    make_provider(root, 'p', help_reply={'options': ['init', 'order', 'destroy', 5, {'x': 1}], 'status': None})
    record = providers(root).probe('p')
    assert record['status'] == 'exists'
    assert record['options'] == {'help': 0, 'init': 1, 'configs': 0, 'order': 1, 'order_status': 0}


def test_help_without_options_keeps_status(root):
    make_provider(root, 'p', help_reply={'status': 'maintenance'})
    record = providers(root).probe('p')
    assert record['status'] == 'maintenance'
    assert set(record['options'].values()) == {0}


def test_argv_is_a_list_with_timeout(root, tmp_path):
    holder = make_provider(root, 'p', {'order': {'task_id': '1'}})
    prov = providers(root, timeout=7)
    record = prov.probe('p')
    hostile = '1;touch %s $(touch %s)' % (tmp_path / 'pwned', tmp_path / 'pwned2')
    assert prov.call(record, 'order', hostile) == {'task_id': '1'}
    assert prov.runner.argvs[-1] == [record['files']['execute'], 'order', hostile]
    assert calls(holder)[-1] == ['order', hostile]
    assert not (tmp_path / 'pwned').exists() and not (tmp_path / 'pwned2').exists()


@pytest.mark.parametrize('stdout, cause', [
    ('not json', 'did not return one JSON object'),
    ('{"a": 1} {"b": 2}', 'did not return one JSON object'),
    ('   ', 'did not return one JSON object'),
    ('[1, 2]', 'returned JSON list, not an object'),
    ('"text"', 'returned JSON str, not an object'),
])
def test_broken_replies_are_errors_not_crashes(root, stdout, cause):
    make_provider(root, 'p', {'configs': raw(stdout, stderr='trace\n')})
    prov = providers(root)
    record = prov.probe('p')
    with pytest.raises(BrokenReply) as info:
        prov.call(record, 'configs')
    assert info.value.code == 1
    assert cause in info.value.message
    assert '(provider p, action configs)' in info.value.message
    assert info.value.message.endswith('; stderr: trace')


def test_empty_reply_message_is_the_original(root):
    make_provider(root, 'p', {'order': raw('')})
    prov = providers(root)
    record = prov.probe('p')
    with pytest.raises(ErrorReply) as info:
        prov.call(record, 'order', '')
    assert info.value.message == 'bxProvider::executeProviderCmd: Command `%s order ` return empty string' % record['files']['execute']


@pytest.mark.parametrize('reply, code, tail', [
    ({'error': 7, 'error_message': 'quota'}, 7, 'return quota'),
    ({'error': '2', 'error_message': 'x'}, '2', 'return x'),
    ({'error': 3}, 3, 'return '),
])
def test_error_replies(root, reply, code, tail):
    make_provider(root, 'p', {'configs': reply})
    prov = providers(root)
    record = prov.probe('p')
    with pytest.raises(ErrorReply) as info:
        prov.call(record, 'configs')
    assert info.value.code == code
    assert info.value.message == 'cmd=`%s configs` %s' % (record['files']['execute'], tail)


@pytest.mark.parametrize('value', [0, False, None])
def test_error_zero_false_null_is_no_error(root, value):
    make_provider(root, 'p', {'configs': {'error': value, 'configurations': []}})
    prov = providers(root)
    reply = prov.call(prov.probe('p'), 'configs')
    assert reply == {'error': value, 'configurations': []}


@pytest.mark.parametrize('value', ['fatal', True, -1, '0'])
def test_bad_error_codes_are_error_1(root, value):
    make_provider(root, 'p', {'configs': {'error': value, 'error_message': 'bad'}})
    prov = providers(root)
    with pytest.raises(BrokenReply) as info:
        prov.call(prov.probe('p'), 'configs')
    assert info.value.code == 1
    assert 'return bad (provider p, action configs: bad error reply, error:' in info.value.message


def test_options_not_a_list_names_the_field(root):
    make_provider(root, 'p', help_reply={'options': 'order'})
    with pytest.raises(BrokenReply) as info:
        providers(root).probe('p')
    assert 'returned a bad reply: options:' in info.value.message


def test_finished_without_server_is_an_error(root):
    make_provider(root, 'p', {'order_status': {'status': 'finished'}})
    prov = providers(root)
    with pytest.raises(BrokenReply) as info:
        prov.call(prov.probe('p'), 'order_status', 't1')
    assert "'server' is a required property" in info.value.message


def test_unknown_keys_and_types_pass_through(root):
    reply = {'status': 'finished', 'server': 's', 'extra': {'n': [1, 2.5, None]}, 'cost': 9.99}
    make_provider(root, 'p', {'order_status': reply})
    prov = providers(root)
    assert prov.call(prov.probe('p'), 'order_status', 't') == reply


def test_exit_status_ignored_when_reply_is_valid(root):
    make_provider(root, 'p', {'configs': raw('{"status": "ok"}', rc=3)})
    prov = providers(root)
    assert prov.call(prov.probe('p'), 'configs') == {'status': 'ok'}


def test_hung_provider_is_killed(root):
    make_provider(root, 'p', {'configs': raw('{}', sleep=30)})
    prov = providers(root, timeout=1)
    record = prov.probe('p')
    with pytest.raises(BrokenReply) as info:
        prov.call(record, 'configs')
    assert 'timed out after 1 s and was killed (provider p, action configs)' in info.value.message


def test_non_ascii_round_trip(root):
    make_provider(root, 'p', {'order_status': {'status': 'готово', 'message': 'Сервер 🚀'}})
    prov = providers(root)
    reply = prov.call(prov.probe('p'), 'order_status', 'заказ-1')
    assert reply == {'status': 'готово', 'message': 'Сервер 🚀'}
    assert calls(os.path.join(root, 'p'))[-1] == ['order_status', 'заказ-1']


def test_names_skip_files_dotfolders_and_bad_names(root):
    make_provider(root, 'b')
    make_provider(root, 'a')
    os.makedirs(os.path.join(root, '.a.staging'))
    os.makedirs(os.path.join(root, 'has space'))
    open(os.path.join(root, 'file'), 'w').close()
    os.symlink(os.path.join(root, 'a'), os.path.join(root, 'c'))
    assert providers(root).names() == ['a', 'b', 'c']


HELD = '''case "$1" in configs) printf %s '{reply}'; sleep 30 & echo $! > bg.pid;; esac'''


def test_reply_printed_before_a_child_kept_stdout_is_used(root):
    """``echo {...}; sleep 30 &``: the provider exited, its reply is whole."""
    holder = make_script_provider(root, 'p', HELD.format(reply='{"status": "enabled"}'))
    prov = providers(root)
    assert prov.call(prov.probe('p'), 'configs') == {'status': 'enabled'}
    with open(os.path.join(holder, 'bg.pid')) as handle:
        assert wait_gone(int(handle.read()))


def test_broken_reply_of_a_provider_whose_child_kept_stdout_says_so(root):
    holder = make_script_provider(root, 'p', HELD.format(reply='not json'))
    prov = providers(root)
    with pytest.raises(BrokenReply) as info:
        prov.call(prov.probe('p'), 'configs')
    assert 'did not return one JSON object' in info.value.message
    assert info.value.message.endswith("; a background process held the provider's output open after it exited and was ended")
    with open(os.path.join(holder, 'bg.pid')) as handle:
        assert wait_gone(int(handle.read()))
