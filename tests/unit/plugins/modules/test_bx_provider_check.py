# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_provider_check run as Ansible runs it, on real plugins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_check
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.check_plugins import calls, make_plugin


def test_a_good_plugin_passes_and_nothing_changes(tmp_path, run_module):
    holder = make_plugin(tmp_path)
    before = sorted(os.listdir(holder))
    for check_mode in (False, True):
        result = run_module(bx_provider_check, {'path': holder, 'timeout': 10}, check_mode=check_mode)
        assert not result.get('failed') and result['changed'] is False
        assert result['summary']['fail'] == 0 and result['ordered'] == []
        assert result['checks'][0]['id'] == 'static.name'
    assert sorted(os.listdir(holder)) == before
    assert not [argv for argv in calls(holder) if argv[0] == 'order']


def test_a_failed_check_fails_the_task_naming_it(tmp_path, run_module):
    holder = make_plugin(tmp_path, body="if action == 'help':\n    print('Welcome'); out(HELP); sys.exit(0)")
    result = run_module(bx_provider_check, {'path': holder, 'level': 'protocol'})
    assert result['failed'] and result['changed'] is False
    assert result['msg'] == 'provider check failed: protocol.help-schema'
    assert [entry for entry in result['checks'] if entry['result'] == 'fail'][0]['reproduce'].startswith('cd ')


def test_a_waived_failure_passes(tmp_path, run_module):
    holder = make_plugin(tmp_path, body="if action == 'help':\n    print('Welcome'); out(HELP); sys.exit(0)")
    result = run_module(bx_provider_check, {'path': holder, 'level': 'protocol', 'waivers': [
        {'id': 'protocol.help-schema', 'reason': 'fixed in the next release'}]})
    assert not result.get('failed') and result['summary']['waived'] == 1


def test_one_order_with_allow_order(tmp_path, run_module):
    holder = make_plugin(tmp_path)
    result = run_module(bx_provider_check, {'path': holder, 'level': 'order', 'allow_order': True,
                                            'config_id': '1', 'poll_interval': 1})
    assert not result.get('failed') and result['ordered'] == ['t1']
    assert [argv for argv in calls(holder) if argv[0] == 'order'] == [['order', '1']]


def test_a_usage_error_fails_with_its_message(tmp_path, run_module):
    holder = make_plugin(tmp_path)
    result = run_module(bx_provider_check, {'path': holder, 'waivers': [{'id': 'robust.timing', 'reason': ''}]})
    assert result['failed'] and 'has no reason' in result['msg']
    result = run_module(bx_provider_check, {'path': str(tmp_path / 'missing')})
    assert result['failed'] and 'neither a plugin folder nor a plugin archive' in result['msg']
