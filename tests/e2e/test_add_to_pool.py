# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbook bitrix.bxenv.add_to_pool against the netns_lab provider (needs root).

A sandbox appliance (tools/demo/sandbox.py) with the plugin installed by
bx_provider_plugin from its built archive; orders are real lab servers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.bitrix.bxenv.tests.e2e import helpers


@pytest.fixture
def appliance(lab_appliance):
    return lab_appliance


def place_order(layout, config_id='3'):
    """An order placed earlier, outside the playbook."""
    rc, result = helpers.module(layout, 'bx_provider_order', provider=helpers.PROVIDER, config_id=config_id,
                                providers_dir=layout['providers_dir'])
    assert rc == 0, result
    return result['task_id']


def lab_root_file(layout, server, name):
    """A file in the lab server's own /root (its host folder on this machine)."""
    unused, listed = helpers.plugin(layout['holder'], 'list')
    orders = [o for o in listed['orders'] if o['server'] == server]
    assert len(orders) == 1, listed
    hosts = os.path.join(layout['holder'], 'var', 'hosts')
    (host_dir,) = [d for d in os.listdir(hosts) if os.path.isdir(os.path.join(hosts, d, 'root'))]
    return os.path.join(hosts, host_dir, 'root', name)


def test_order_placed_earlier_is_added_then_rerun_changes_nothing(appliance):
    task_id = place_order(appliance)
    first = helpers.add_to_pool(appliance, 'bx_task_id=' + task_id)
    assert first.returncode == 0, first.stdout
    counts = helpers.recap(first.stdout)
    assert counts['localhost']['changed'] == 1   # the pool add; no order placed
    assert counts['server2']['changed'] == 1     # the set-up playbook wrote its file
    assert counts['server2']['failed'] == 0
    assert 'TASK [bitrix.bxenv.add_to_pool : Order a server' in first.stdout and 'skipping: [localhost]' in first.stdout

    with open(appliance['hosts']) as handle:
        hosts = handle.read()
    address = re.search(r'(?m)^server2 ansible_ssh_host=(10\.214\.\d+\.2)$', hosts).group(1)
    assert hosts.index('server2 ansible_ssh_host=') < hosts.index('server1 ')   # in [bitrix-hosts]
    summary = first.stdout[first.stdout.index('TASK [bitrix.bxenv.add_to_pool : Summary]'):]
    assert 'provider: netns_lab, task id: %s (Server=%s is added to the pool)' % (task_id, address) in summary
    assert 'server: server2 at %s' % address in summary
    assert 'pool groups: bitrix-hosts' in summary
    assert 'set-up playbook: common.yml rc=0' in summary
    assert 'common.yml: rc=0, ok=1 changed=1 unreachable=0 failed=0' in first.stdout
    with open(os.path.join(appliance['holder'], 'tasks', task_id)) as handle:
        assert handle.read() == 'complete: Server=%s is added to the pool' % address
    with open(lab_root_file(appliance, address, 'bitrix-pool-member')) as handle:
        assert handle.read().startswith('server2 %s ' % address)

    again = helpers.add_to_pool(appliance, 'bx_task_id=' + task_id)
    assert again.returncode == 0, again.stdout
    assert all(c['changed'] == 0 and c['failed'] == 0 for c in helpers.recap(again.stdout).values()), again.stdout
    assert 'already complete' in again.stdout
    with open(appliance['hosts']) as handle:
        assert handle.read() == hosts


def test_setup_playbook_off_then_failing_is_reported(appliance):
    first = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-7', 'bx_run_setup_playbook=false')
    assert first.returncode == 0, first.stdout
    counts = helpers.recap(first.stdout)
    assert counts['localhost']['changed'] == 2   # the order and the pool add
    assert counts['server2']['changed'] == 0
    assert 'set-up playbook: not run (bx_run_setup_playbook is false)' in first.stdout
    address = re.search(r'task id: \d+ \(Server=(\S+) is added', first.stdout).group(1)
    assert not os.path.exists(lab_root_file(appliance, address, 'bitrix-pool-member'))

    # A set-up playbook that fails: the run fails and says why; the order stays added.
    with open(os.path.join(appliance['pool_dir'], 'common.yml'), 'w') as handle:
        handle.write('- name: Broken set-up\n  hosts: bitrix-hosts\n  gather_facts: false\n  tasks:\n'
                     '    - name: Fail\n      ansible.builtin.command: /bin/false\n      changed_when: false\n')
    failed = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-7')
    assert failed.returncode != 0
    assert 'common.yml: rc=2, ok=0 changed=0 unreachable=0 failed=1' in failed.stdout
    assert re.search(r'common\.yml failed for server2 \(rc=2\); the server is in the pool', failed.stdout)
    assert helpers.recap(failed.stdout)['localhost']['changed'] == 0   # the same order, not a new one
    unused, listed = helpers.plugin(appliance['holder'], 'list')
    assert len(listed['orders']) == 1


def test_inputs_are_checked_before_anything_runs(appliance):
    both = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_task_id=1001')
    assert both.returncode != 0
    assert 'Give bx_task_id (an order placed earlier) or bx_config_id (to order a server now)' in both.stdout
    neither = helpers.add_to_pool(appliance)
    assert neither.returncode != 0 and 'not both and not neither' in neither.stdout
    # The role's argument specs check the rest before any task runs.
    typo = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_wait_timeout=soon')
    assert typo.returncode != 0 and "bx_wait_timeout" in typo.stdout and 'int' in typo.stdout
    unused, listed = helpers.plugin(appliance['holder'], 'list')
    assert listed['orders'] == []


def test_check_mode_orders_nothing_and_writes_nothing(appliance):
    def snapshot():
        with open(appliance['hosts']) as handle:
            return handle.read(), sorted(os.listdir(appliance['pool_dir'])), helpers.plugin(appliance['holder'], 'list')

    empty = snapshot()
    fresh = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-9', check=True)
    assert fresh.returncode == 0, fresh.stdout
    assert 'Check mode: would order configuration 3 of netns_lab (label web-9)' in fresh.stdout
    assert snapshot() == empty and empty[2][1]['orders'] == []

    # A finished order not yet in the pool: the plan, and nothing touched.
    rc, placed = helpers.module(appliance, 'bx_provider_order', provider=helpers.PROVIDER, config_id='3',
                                name='web-9', wait=True, poll_interval=1, wait_timeout=120,
                                providers_dir=appliance['providers_dir'])
    assert rc == 0 and placed['order_status']['status'] == 'finished', placed
    address = placed['order_status']['server']
    ordered = snapshot()
    planned = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-9', check=True)
    assert planned.returncode == 0, planned.stdout
    assert 'Check mode: would add server2 (%s) to the pool groups bitrix-hosts' % address in planned.stdout
    assert snapshot() == ordered
    with open(os.path.join(appliance['holder'], 'tasks', placed['task_id'])) as handle:
        assert handle.read() == ''
    assert not os.path.exists(lab_root_file(appliance, address, '.ssh/authorized_keys'))

    # Added for real, a check-mode run reports the order as complete.
    assert helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-9').returncode == 0
    done = helpers.add_to_pool(appliance, 'bx_config_id=3', 'bx_order_name=web-9', check=True)
    assert done.returncode == 0, done.stdout
    assert 'Check mode: bxProvider::order_to_hostProvider: task_id=%s already complete' % placed['task_id'] in done.stdout
    assert all(c['changed'] == 0 for c in helpers.recap(done.stdout).values()), done.stdout
