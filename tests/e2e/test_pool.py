# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbook bitrix.bxenv.pool against the netns_lab provider (needs root).

A sandbox appliance (tools/demo/sandbox.py) with the plugin installed by
bx_provider_plugin from its built archive; orders are real lab servers. The
plugin's executable is wrapped by a script that logs each call's action, so
the tests count the provider's ``order`` calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

import pytest

from ansible_collections.bitrix.bxenv.tests.e2e import helpers

SERVERS = [{'name': 'web-%d' % n, 'provider': helpers.PROVIDER, 'config_id': '3'} for n in (1, 2, 3)]

# The pool set-up playbook, recording on the appliance when each run starts
# and ends: runs that overlapped would interleave their lines.
SETUP = """- name: Set up a new pool member (test)
  hosts: bitrix-hosts
  gather_facts: false
  tasks:
    - name: Record the start
      ansible.builtin.command: {argv: [sh, -c, 'echo "start {{ inventory_hostname }}" >> {log}']}
      delegate_to: localhost
    - name: Record the server's pool membership on it
      ansible.builtin.copy:
        dest: /root/bitrix-pool-member
        content: "{{ inventory_hostname }} {{ bx_netaddr }}\\n"
        mode: "0600"
    - name: Record the end
      ansible.builtin.command: {argv: [sh, -c, 'echo "end {{ inventory_hostname }}" >> {log}']}
      delegate_to: localhost
"""


@pytest.fixture
def appliance(lab_appliance, tmp_path):
    """The lab appliance, its plugin's calls counted, its set-up playbook recording each run."""
    lab_appliance['calls'] = str(tmp_path / 'calls.log')
    lab_appliance['setup_log'] = str(tmp_path / 'setup.log')
    count_calls(lab_appliance)
    with open(os.path.join(lab_appliance['pool_dir'], 'common.yml'), 'w') as handle:
        handle.write(SETUP.replace('{log}', lab_appliance['setup_log']))
    return lab_appliance


def count_calls(layout):
    """Wrap bin/netns_lab: log each call's action, then run the plugin."""
    executable = os.path.join(layout['holder'], 'bin', helpers.PROVIDER)
    real = executable + '-real'
    os.rename(executable, real)
    with open(executable, 'w') as handle:
        handle.write('#!/bin/sh\necho "$1" >> %s\nexec %s "$@"\n' % (layout['calls'], real))
    os.chmod(executable, stat.S_IRWXU)


def calls(layout, action):
    if not os.path.exists(layout['calls']):
        return 0
    with open(layout['calls']) as handle:
        return handle.read().split().count(action)


def member_files(layout):
    """What the set-up playbook wrote in each lab server's own /root."""
    hosts = os.path.join(layout['holder'], 'var', 'hosts')
    found = []
    for folder in os.listdir(hosts):
        path = os.path.join(hosts, folder, 'root', 'bitrix-pool-member')
        if os.path.exists(path):
            with open(path) as handle:
                found.append(handle.read())
    return found


def reports(output):
    """``{name: report line}`` of the role's task "Report each server"."""
    return dict((name, line) for line, name in re.findall(r'"msg": "((web-\d+) \(netns_lab, config_id \d\): [^"]*)"',
                                                          output))


def test_three_servers_in_one_run_then_nothing_to_change(appliance):
    first = helpers.pool(appliance, SERVERS)
    assert first.returncode == 0, first.stdout
    assert calls(appliance, 'order') == 3
    # The pool add and the three set-up playbooks, all on the appliance.
    counts = helpers.recap(first.stdout)
    assert list(counts) == ['localhost'] and (counts['localhost']['changed'], counts['localhost']['failed']) == (4, 0)
    # Each entry reported ordered and added, with its host; the hosts file has them.
    lines = reports(first.stdout)
    assert sorted(lines) == ['web-1', 'web-2', 'web-3'], first.stdout
    with open(appliance['hosts']) as handle:
        hosts = handle.read()
    addresses = {}
    for name, line in lines.items():
        match = re.search(r': added, ordered, task_id (\d+), host (server\d) at (10\.214\.\d+\.2)$', line)
        assert match, line
        assert '%s ansible_ssh_host=%s' % (match.group(2), match.group(3)) in hosts
        addresses[match.group(2)] = match.group(3)
    new = sorted(addresses)
    assert new == ['server2', 'server3', 'server4'] and len(set(addresses.values())) == 3

    # The set-up playbook ran for each new server, one at a time, and reported.
    with open(appliance['setup_log']) as handle:
        log = handle.read().split('\n')[:-1]
    assert len(log) == 6 and sorted(log[0::2]) == ['start %s' % n for n in new], log
    assert [line.replace('end ', 'start ') for line in log[1::2]] == log[0::2], log   # start, end, start, end ...
    for name, address in addresses.items():
        assert re.search(r'\(%s at %s\), set-up playbook: common\.yml: rc=0, ok=3 changed=3 unreachable=0 failed=0'
                         % (name, re.escape(address)), first.stdout), first.stdout
    assert sorted(member_files(appliance)) == sorted('%s %s\n' % item for item in addresses.items())

    # Each new server answers through the pool inventory, with the pool key
    # (the master server1 is a local connection).
    ping = helpers.run(appliance, ['ansible', '-i', appliance['hosts'], 'bitrix-hosts:!server1',
                                   '-m', 'ansible.builtin.ping'])
    assert ping.returncode == 0, ping.stdout
    for name in new:
        assert re.search(r'(?m)^%s \| SUCCESS => \{' % name, ping.stdout), ping.stdout
    assert ping.stdout.count('"ping": "pong"') == 3

    # The same list again: no order call, nothing changed, no set-up run.
    again = helpers.pool(appliance, SERVERS)
    assert again.returncode == 0, again.stdout
    assert calls(appliance, 'order') == 3
    assert helpers.recap(again.stdout)['localhost']['changed'] == 0, again.stdout
    assert 'set-up playbook: ' not in again.stdout
    assert sorted(reports(again.stdout)) == ['web-1', 'web-2', 'web-3']
    assert all(': in_pool, existing, task_id ' in line for line in reports(again.stdout).values()), again.stdout
    with open(appliance['hosts']) as handle:
        assert handle.read() == hosts
    with open(appliance['setup_log']) as handle:
        assert len(handle.read().split('\n')[:-1]) == 6


def test_check_mode_reports_the_plan_and_orders_nothing(appliance):
    plan = helpers.pool(appliance, SERVERS, check=True)
    assert plan.returncode == 0, plan.stdout
    assert 'Check mode: the plan: order web-1, order web-2, order web-3; no set-up playbook is run.' in plan.stdout
    assert all(': not_ordered, would_order' in line for line in reports(plan.stdout).values()), plan.stdout
    assert calls(appliance, 'order') == 0
    assert helpers.plugin(appliance['holder'], 'list')[1]['orders'] == []
    assert not os.path.exists(appliance['setup_log'])


def test_a_failed_entry_fails_the_run_after_the_others_are_set_up(appliance):
    servers = [SERVERS[0], {'name': 'web-9', 'provider': helpers.PROVIDER, 'config_id': '9'}]
    run = helpers.pool(appliance, servers, 'bx_slow_start=false')
    assert run.returncode != 0
    lines = reports(run.stdout)
    assert re.search(r': added, ordered, task_id \d+, host server2 at ', lines['web-1']), run.stdout
    assert 'failed - order: ' in lines['web-9'] and 'no configuration with id=9' in lines['web-9']
    assert re.search(r'1 of 2 servers failed: .*\(failed: web-9\)', run.stdout)
    assert helpers.recap(run.stdout)['localhost']['failed'] == 1
    assert re.search(r'\(server2 at \S+\), set-up playbook: common\.yml: rc=0, ', run.stdout)   # still set up
    with open(appliance['setup_log']) as handle:
        assert handle.read() == 'start server2\nend server2\n'
