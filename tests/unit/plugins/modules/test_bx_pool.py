# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_pool through ``main()``, without root or network: a fake cloud
provider (tests/unit/cloud_provider.py) and the stand-in ``ssh`` of
test_bx_order_to_host on PATH. The core's cases: test__pool_list.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.bitrix.bxenv.plugins.modules import bx_pool
from ansible_collections.bitrix.bxenv.tests.unit.fakes import cloud_orders, make_cloud_provider
from ansible_collections.bitrix.bxenv.tests.unit.plugins.modules.test_bx_order_to_host import (  # noqa: F401 pylint: disable=unused-import
    PASSWORD, read, ssh_calls, world)


def args(world, count=3, **extra):
    values = {
        'servers': [{'name': 'web-%d' % n, 'provider': 'cloud', 'config_id': 'small'} for n in range(1, count + 1)],
        'providers_dir': world['root'], 'pool_dir': world['pool'], 'poll_interval': 1,
    }
    values.update(extra)
    return values


def cloud(world, **settings):
    defaults = dict(order_delay=0.2, finish_after=0.5, password=PASSWORD)
    return make_cloud_provider(world['root'], 'cloud', **dict(defaults, **settings))


def test_orders_and_adds_with_the_key_copy_then_changes_nothing(run_module, world):
    holder = cloud(world)
    result = run_module(bx_pool, args(world))
    assert (result['changed'], result.get('failed', False), result['failed_names']) == (True, False, [])
    assert result['summary'] == {'added': 3, 'ordered': 3, 'total': 3}
    assert result['msg'] == '3 servers: 3 added'
    assert [(s['name'], s['state']) for s in result['servers']] == [('web-1', 'added'), ('web-2', 'added'),
                                                                    ('web-3', 'added')]
    hosts = read(world['pool'], 'hosts')
    assert all(s['host']['address'] in hosts for s in result['servers'])
    # each server was reached for the key copy (the stand-in shares one home,
    # so after the first the key login works); no result shows the password
    reached = set(argv[argv.index('--') + 1] for argv in ssh_calls(world))
    assert reached == set(s['host']['address'] for s in result['servers'])
    assert PASSWORD not in json.dumps(result)
    again = run_module(bx_pool, args(world))
    assert (again['changed'], again['summary']['in_pool'], again['plan']) == (False, 3, [])
    assert len(cloud_orders(holder)) == 3


def test_check_mode_with_diff_says_what_it_would_do(run_module, world):
    holder = cloud(world)
    result = run_module(bx_pool, args(world, _ansible_diff=True), check_mode=True)
    assert result['changed'] is True and cloud_orders(holder) == {}
    assert [(s['action'], s['state']) for s in result['servers']] == [('would_order', 'not_ordered')] * 3
    assert result['diff'][0]['before_header'] == 'hosts'


def test_a_refused_entry_fails_the_task_naming_it_and_the_rest_is_added(run_module, world):
    cloud(world, refuse=['large'])
    listed = args(world)['servers'] + [{'name': 'db-1', 'provider': 'cloud', 'config_id': 'large'}]
    result = run_module(bx_pool, args(world, servers=listed))
    assert result['failed'] is True and result['failed_names'] == ['db-1']
    assert result['msg'].startswith('1 of 4 servers failed: db-1 (order): ')
    assert result['summary']['added'] == 3


def test_numbers_out_of_range_fail_before_any_call(run_module, world):
    holder = cloud(world)
    result = run_module(bx_pool, args(world, workers=0))
    assert result['failed'] is True and 'workers' in result['msg']
    assert not os.path.exists(os.path.join(holder, 'calls.log'))
