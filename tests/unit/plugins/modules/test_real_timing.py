# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Providers that answer after a silence, as real ones calling a cloud API do.

Each answer must arrive whole through the modules and through the command,
whatever the silence before it: around one second is where a runner built
on ``run_command`` drops it (ansible/ansible#51393).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli, _ssh
from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_info, bx_provider_order
from ansible_collections.bitrix.bxenv.tests.unit.fakes import (
    RecordingRunner, calls, make_provider, make_script_provider, slow, wait_gone)

pytestmark = pytest.mark.real_timing

DELAYS = (0.5, 0.98, 1.0, 1.02, 1.5, 2.0)
IN_PROGRESS = {'status': 'in_progress', 'message': 'building'}
CONFIGS = {'status': 'enabled', 'configurations': [{'id': '1', 'descr': '1 CPU'}]}


def command(*argv, **settings):
    """The command with its settings fixed (the root-only file's job on an appliance)."""
    out, err = io.StringIO(), io.StringIO()
    rc = _cli.main(list(argv) + ['-o', 'json'], out, err, settings=settings)
    return rc, json.loads(out.getvalue())


@pytest.fixture
def forty_orders(root):
    """40 orders whose status calls answer after each of DELAYS in turn."""
    replies = {'order_status T%02d' % i: slow(IN_PROGRESS, DELAYS[i % len(DELAYS)]) for i in range(40)}
    holder = make_provider(root, 'p', replies)
    os.makedirs(os.path.join(holder, 'tasks'))
    for i in range(40):
        open(os.path.join(holder, 'tasks', 'T%02d' % i), 'w').close()
    return holder


def expected_list(holder):
    return dict(('T%02d' % i, {'error': 0, 'message': 'building', 'status': 'in_progress',
                               'mtime': int(os.stat(os.path.join(holder, 'tasks', 'T%02d' % i)).st_mtime)})
                for i in range(40))


def test_orders_list_keeps_every_answer_through_the_module(run_module, root, forty_orders):
    result = run_module(bx_provider_info, {'providers_dir': root, 'query': 'orders_list', 'workers': 40})
    assert result['params']['provider_order_list'] == {'p': expected_list(forty_orders)}


def test_orders_list_keeps_every_answer_through_the_command(root, forty_orders):
    rc, document = command('-a', 'orders_list', providers_dir=root, workers=40)
    assert (rc, document) == (0, {'params': {'provider_order_list': {'p': expected_list(forty_orders)}}})


@pytest.mark.parametrize('delay', DELAYS)
def test_order_keeps_the_answer_through_the_module(run_module, root, delay):
    holder = make_provider(root, 'p', {'order': slow({'task_id': 'T-1'}, delay)})
    result = run_module(bx_provider_order, {'providers_dir': root, 'provider': 'p', 'config_id': '1', 'name': 'web'})
    assert (result.get('failed'), result['changed'], result['task_id']) == (None, True, 'T-1')
    assert [argv for argv in calls(holder) if argv[0] == 'order'] == [['order', '1']]
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))


def test_order_keeps_the_answer_through_the_command(root):
    for delay in DELAYS:
        make_provider(root, 'p%d' % (delay * 100), {'order': slow({'task_id': 'T-%s' % delay}, delay)})

    def order(delay):
        return command('-a', 'order', '--provider', 'p%d' % (delay * 100), '--config_id', '1',
                       providers_dir=root)

    with ThreadPoolExecutor(len(DELAYS)) as pool:
        results = list(pool.map(order, DELAYS))
    for delay, (rc, document) in zip(DELAYS, results):
        name = 'p%d' % (delay * 100)
        assert (rc, document) == (0, {'params': {'provider_order': {name: {'task_id': 'T-%s' % delay}}}})
        assert os.path.isfile(os.path.join(root, name, 'tasks', 'T-%s' % delay))


# The provider prints its reply and exits, leaving a child that holds stdout
# longer than the timeout of the call.
HELD_ORDER = 'case "$1" in order) printf %s \'{"task_id": "T-1"}\'; sleep 30 & echo $! > bg.pid;; esac'


def background_gone(holder):
    with open(os.path.join(holder, 'bg.pid')) as handle:
        return wait_gone(int(handle.read()))


def test_order_of_a_provider_that_leaves_a_child_on_stdout_through_the_module(run_module, root):
    holder = make_script_provider(root, 'p', HELD_ORDER)
    result = run_module(bx_provider_order, {'providers_dir': root, 'provider': 'p', 'config_id': '1', 'name': 'web',
                                            'timeout': 20})
    assert (result.get('failed'), result['changed'], result['task_id']) == (None, True, 'T-1')
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))
    assert background_gone(holder)


def test_order_of_a_provider_that_leaves_a_child_on_stdout_through_the_command(root):
    holder = make_script_provider(root, 'p', HELD_ORDER)
    rc, document = command('-a', 'order', '--provider', 'p', '--config_id', '1', providers_dir=root,
                           timeout=20)
    assert (rc, document) == (0, {'params': {'provider_order': {'p': {'task_id': 'T-1'}}}})
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))
    assert background_gone(holder)


def test_configs_keeps_the_answer_through_module_and_command(run_module, root):
    for delay in DELAYS:
        make_provider(root, 'p%d' % (delay * 100), {'configs': slow(CONFIGS, delay)})
    result = run_module(bx_provider_info, {'providers_dir': root, 'query': 'configs', 'provider': 'p100'})
    assert result['params'] == {'provider_configs': {'p100': CONFIGS}}

    def configs(delay):
        return command('-a', 'configs', '--provider', 'p%d' % (delay * 100), providers_dir=root)

    with ThreadPoolExecutor(len(DELAYS)) as pool:
        results = list(pool.map(configs, DELAYS))
    for delay, (rc, document) in zip(DELAYS, results):
        assert (rc, document) == (0, {'params': {'provider_configs': {'p%d' % (delay * 100): CONFIGS}}})


def test_ssh_answer_after_a_silence_is_kept(tmp_path):
    """The key login check reads ssh's answer whatever the silence before it."""
    # Written before any thread starts: a script still open for writing in
    # one thread cannot be run by a child forked meanwhile (ETXTBSY).
    for delay in DELAYS:
        fake_ssh = tmp_path / ('ssh-%s' % delay)
        fake_ssh.write_text('#!/bin/sh\nsleep %s\necho %s\n' % (delay, _ssh.KEY_OK))
        fake_ssh.chmod(stat.S_IRWXU)

    def check(delay):
        fake_ssh = tmp_path / ('ssh-%s' % delay)
        return _ssh.check_key_login(RecordingRunner(), '192.0.2.10', str(tmp_path / 'key'),
                                    str(tmp_path / 'known_hosts'), ssh_bin=str(fake_ssh), ssh_timeout=5)

    with ThreadPoolExecutor(len(DELAYS)) as pool:
        results = list(pool.map(check, DELAYS))
    assert [ok for ok, rc, err in results] == [True] * len(DELAYS)
