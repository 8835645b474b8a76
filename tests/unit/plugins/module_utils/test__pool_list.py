# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_pool_list.converge`` (the module bx_pool) against a fake cloud provider
with an order book (``tests/unit/cloud_provider.py``): real processes, real
locks, real pool files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders, _pool_list
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers

from ...fakes import cloud_orders, make_cloud_provider, set_cloud, wait_gone
from .pool_helpers import FakeResolver, folder_digest, make_pool, seeded_rng

FAST = dict(order_delay=0.3, finish_after=0.6)


@pytest.fixture
def world(tmp_path):
    root = tmp_path / 'providers'
    root.mkdir()
    return {'root': str(root), 'pool': make_pool(tmp_path / 'pool'), 'tmp': tmp_path}


def cloud(world, name='cloud', **settings):
    return make_cloud_provider(world['root'], name, **dict(FAST, **settings))


def servers(count, provider='cloud', config_id='small', prefix='web'):
    return [{'name': '%s-%d' % (prefix, n), 'provider': provider, 'config_id': config_id} for n in range(1, count + 1)]


def converge(world, listed, **options):
    options.setdefault('poll_interval', 0.2)
    return _pool_list.converge(Providers(world['root']), listed, world['pool'], copy_key=lambda *args: None,
                               resolver=FakeResolver(), **options)


def calls(holder, action=None):
    path = os.path.join(holder, 'calls.log')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        entries = [json.loads(line) for line in handle]
    return [e for e in entries if action is None or e['argv'][0] == action]


def hosts(world):
    with open(os.path.join(world['pool'], 'hosts')) as handle:
        return handle.read()


def written(world, holder):
    """A digest of all the collection writes: the pool, the provider's tasks/ and the locks."""
    state = os.path.join(str(world['tmp']), '.bxenv-providers')
    return [folder_digest(path) for path in (world['pool'], os.path.join(holder, 'tasks'), state)]


def by_name(result):
    return dict((entry['name'], entry) for entry in result['servers'])


def test_orders_waits_and_adds_every_server_then_converges(world):
    holder = cloud(world)
    first = converge(world, servers(4))
    assert (first['changed'], first['failed'], first['failed_names']) == (True, False, [])
    assert [(e['action'], e['state']) for e in first['servers']] == [('ordered', 'added')] * 4
    assert sorted(e['host']['address'] for e in first['servers']) == ['192.0.2.%d' % n for n in (101, 102, 103, 104)]
    assert all(e['host']['address'] in hosts(world) for e in first['servers'])
    assert [p['action'] for p in first['plan']] == ['order'] * 4
    assert len(cloud_orders(holder)) == 4
    before = len(calls(holder, 'order_status'))
    again = converge(world, servers(4))
    assert (again['changed'], again['failed'], again['plan']) == (False, False, [])
    assert [(e['action'], e['state']) for e in again['servers']] == [('existing', 'in_pool')] * 4
    assert by_name(again)['web-2']['host'] == by_name(first)['web-2']['host']
    assert len(calls(holder, 'order')) == 4 and len(cloud_orders(holder)) == 4
    # a settled entry costs one status call (and its host lookup one more)
    assert len(calls(holder, 'order_status')) - before <= 2 * 4


def test_status_calls_stay_within_the_budget(world):
    """Orders that finish after 8 base intervals take at most 8 + 2 status calls each."""
    holder = cloud(world, order_delay=0, finish_after=1.6)
    converge(world, servers(5), poll_interval=0.2, slow_start=False)
    assert len(calls(holder, 'order_status')) <= 5 * (8 + 2)


@pytest.mark.parametrize('finish', [15, 120, 600, 1800])
def test_the_backoff_keeps_the_budget_and_sees_a_finished_order_soon(finish):
    """With poll_interval 15: at most finish/15 + 2 status calls until an
    order finishing after ``finish`` s is seen, and seen at most one capped
    wait (2 x 15 s, plus jitter) after it finished."""
    rng, base, now, polls = seeded_rng(), 15, 0.0, 0
    while now < finish:
        now += _pool_list._backoff(base, polls, rng)
        polls += 1
    assert polls <= finish / base + 2
    assert now - finish <= base * _pool_list.BACKOFF_CAP * (1 + _pool_list.JITTER)


def test_check_mode_calls_only_help_and_order_status_and_writes_nothing(world):
    holder = cloud(world)
    converge(world, servers(1))  # web-1 exists, in the pool
    set_cloud(holder, order_delay=0.3, finish_after=0)
    digest = written(world, holder)
    result = converge(world, servers(3), check_mode=True)
    assert written(world, holder) == digest
    assert set(e['argv'][0] for e in calls(holder)[3:]) <= {'help', 'order_status'}
    assert result['changed'] is True
    assert [(e['action'], e['state']) for e in result['servers']] == [
        ('existing', 'in_pool'), ('would_order', 'not_ordered'), ('would_order', 'not_ordered')]
    assert result['plan'] == [{'name': 'web-2', 'provider': 'cloud', 'action': 'order'},
                              {'name': 'web-3', 'provider': 'cloud', 'action': 'order'}]
    unchanged = converge(world, servers(1), check_mode=True)
    assert (unchanged['changed'], unchanged['plan']) == (False, [])


def test_check_mode_shows_a_finished_order_it_would_add_in_the_diff(world):
    holder = cloud(world, finish_after=0)
    converge(world, servers(1), wait=False)  # ordered, then added at once when finished
    with open(os.path.join(holder, 'tasks', 'T001'), 'w') as handle:
        handle.write('')  # as if the add had not run yet
    pool_text = hosts(world)
    lines = [line for line in pool_text.splitlines() if '192.0.2.101' not in line]
    with open(os.path.join(world['pool'], 'hosts'), 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    result = converge(world, servers(1), check_mode=True)
    assert [(e['action'], e['state']) for e in result['servers']] == [('existing', 'would_add')]
    assert result['plan'] == [{'name': 'web-1', 'provider': 'cloud', 'action': 'add'}]
    diff = result['diff'][0]
    assert '192.0.2.101' not in diff['before'] and '192.0.2.101' in diff['after']


def test_a_refused_configuration_costs_one_call(world):
    holder = cloud(world, refuse=['large'])
    result = converge(world, servers(5, config_id='large'))
    assert len(calls(holder, 'order')) == 1
    assert result['failed'] is True and result['failed_names'] == ['web-%d' % n for n in range(1, 6)]
    assert all(e['error']['stage'] == 'order' for e in result['servers'])
    assert 'sold out' in by_name(result)['web-3']['error']['message']
    assert cloud_orders(holder) == {}


def finished_before_each_order(monkeypatch):
    """Record, as each order starts, how many orders had ended before it."""
    seen, ended, lock = [], [0], threading.Lock()
    place = _orders.place

    def recording(*args, **kwargs):
        with lock:
            seen.append(ended[0])
        try:
            return place(*args, **kwargs)
        finally:
            with lock:
                ended[0] += 1
    monkeypatch.setattr(_orders, 'place', recording)
    return seen


def test_slow_start_orders_one_first_then_batches_that_double(world, monkeypatch):
    seen = finished_before_each_order(monkeypatch)
    cloud(world, order_delay=0.3)
    cloud(world, 'other', order_delay=0.3)
    listed = servers(7) + servers(2, provider='other')
    assert converge(world, listed, wait=False)['failed'] is False
    # per configuration: 1, then 2, then 4; a batch starts once the one before ended
    assert len(seen) == 9 and sorted(seen)[:2] == [0, 0]
    mine = sorted(seen)
    assert mine[2] >= 1 and mine[5] >= 3


def test_without_slow_start_no_order_waits_for_another(world, monkeypatch):
    seen = finished_before_each_order(monkeypatch)
    cloud(world, order_delay=1.0)
    converge(world, servers(4), wait=False, slow_start=False)
    assert seen == [0, 0, 0, 0]


def test_one_refused_configuration_of_ten_fails_alone(world):
    holder = cloud(world, refuse=['c7'])
    listed = [{'name': 'web-%d' % n, 'provider': 'cloud', 'config_id': 'c%d' % n} for n in range(10)]
    result = converge(world, listed)
    assert result['failed_names'] == ['web-7']
    assert by_name(result)['web-7']['error']['stage'] == 'order'
    assert result['summary']['added'] == 9
    assert hosts(world).count('ansible_ssh_host=192.0.2.1') == 9 + 3  # nine new ones, server1 in three groups
    assert len(cloud_orders(holder)) == 9


def test_two_runs_of_the_same_list_at_once_order_each_server_once(world):
    holder = cloud(world, order_delay=0.5)
    results = []

    def run():
        results.append(converge(world, servers(4), slow_start=False))
    threads = [threading.Thread(target=run), threading.Thread(target=run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cloud_orders(holder)) == 4
    assert [r['failed'] for r in results] == [False, False]
    states = sorted(e['state'] for r in results for e in r['servers'])
    assert states.count('added') == 4 and states.count('in_pool') == 4
    assert hosts(world).count('192.0.2.10') == 4


def test_a_label_ordered_with_another_config_fails_and_buys_nothing(world):
    holder = cloud(world)
    converge(world, servers(2))
    result = converge(world, servers(2, config_id='large'))
    assert result['failed_names'] == ['web-1', 'web-2']
    assert 'ordered with config_id=small, not large' in by_name(result)['web-1']['error']['message']
    assert len(calls(holder, 'order')) == 2


def test_a_failed_order_fails_its_entry_at_the_wait(world):
    holder = cloud(world, fail=['T002'], finish_after=0.4)
    result = converge(world, servers(3), slow_start=False)
    failed = [e for e in result['servers'] if e['error']]
    assert len(failed) == 1 and failed[0]['task_id'] == 'T002' and failed[0]['error']['stage'] == 'wait'
    assert 'the data centre lost T002' in failed[0]['error']['message']
    assert result['summary']['added'] == 2
    assert len(cloud_orders(holder)) == 3


def test_the_deadline_leaves_orders_pending_not_failed(world):
    holder = cloud(world, finish_after=60)
    result = converge(world, servers(2), wait_timeout=1, slow_start=False)
    assert result['failed'] is True
    assert [e['state'] for e in result['servers']] == ['pending', 'pending']
    assert 'the order is not failed' in result['servers'][0]['error']['message']
    set_cloud(holder, finish_after=0)
    again = converge(world, servers(2))
    assert [e['state'] for e in again['servers']] == ['added', 'added']
    assert len(cloud_orders(holder)) == 2


def test_without_wait_orders_are_pending_and_the_task_does_not_fail(world):
    cloud(world, finish_after=60)
    result = converge(world, servers(2), wait=False)
    assert (result['failed'], [e['state'] for e in result['servers']]) == (False, ['pending', 'pending'])


def test_an_order_placed_earlier_is_taken_over_by_task_id(world):
    holder = cloud(world)
    placed = _orders.place(Providers(world['root']), 'cloud', 'small')  # no label, as the web interface orders
    listed = [dict(servers(1)[0], task_id=placed.task_id)]
    result = converge(world, listed)
    assert [(e['action'], e['state'], e['task_id']) for e in result['servers']] == [('adopted', 'added', 'T001')]
    assert len(cloud_orders(holder)) == 1
    assert _orders.read_label(holder, 'web-1') == 'T001'


def test_unlisted_labels_are_returned_never_deleted(world):
    cloud(world)
    first = by_name(converge(world, servers(3)))
    result = converge(world, servers(1))
    assert result['unlisted'] == [{'provider': 'cloud', 'name': name, 'task_id': first[name]['task_id']}
                                  for name in ('web-2', 'web-3')]
    assert hosts(world).count('192.0.2.10') == 3


@pytest.mark.parametrize('listed, message', [
    (servers(1) * 2, 'lists name=web-1 of provider cloud twice'),
    ([{'name': '../x', 'provider': 'cloud', 'config_id': 'small'}], 'invalid name'),
    ([{'name': 'a', 'provider': 'cloud'}], 'has no config_id'),
])
def test_bad_lists_fail_before_any_call(world, listed, message):
    holder = cloud(world)
    with pytest.raises(BxError) as info:
        converge(world, listed)
    assert message in info.value.message
    assert calls(holder) == []


def test_forget_pending_must_name_a_listed_server(world):
    cloud(world)
    with pytest.raises(BxError) as info:
        converge(world, servers(1), forget_pending=['web-9'])
    assert 'forget_pending names web-9' in info.value.message


# ---------------------------------------------------------------- kill -9 and the order token

CHILD = '''
import json, sys
sys.path[:0] = %(path)r
from ansible_collections.bitrix.bxenv.plugins.module_utils import _pool_list
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
result = _pool_list.converge(Providers(%(root)r), %(servers)r, %(pool)r, copy_key=lambda *a: None,
                             poll_interval=0.2, slow_start=False, **%(options)r)
'''


def killed_run(world, listed, when, **options):
    """Run ``converge`` in a child process and ``kill -9`` it once ``when()`` holds."""
    import ansible_collections
    path = [os.path.dirname(p) for p in ansible_collections.__path__]
    script = CHILD % dict(path=path, root=world['root'], servers=listed, pool=world['pool'], options=options)
    child = subprocess.Popen([sys.executable, '-c', script], start_new_session=True)
    deadline = time.monotonic() + 20
    while not when():
        assert child.poll() is None and time.monotonic() < deadline, 'the child ended before the moment to kill it'
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def ordering(holder):
    """True while a provider ``order`` call runs (the fake's own marker)."""
    state = os.path.join(os.path.dirname(holder), os.path.basename(holder) + '.cloud')
    return os.path.isdir(state) and any(name.startswith('ordering.') for name in os.listdir(state))


def stored(holder, count):
    return lambda: len(cloud_orders(holder)) >= count


def settled(holder):
    """Wait until no ``order`` call of the fake is alive (one may outlive a killed run)."""
    state = os.path.join(os.path.dirname(holder), os.path.basename(holder) + '.cloud')
    for name in os.listdir(state) if os.path.isdir(state) else []:
        if name.startswith('ordering.'):
            assert wait_gone(int(name.split('.')[1]))
    return len(cloud_orders(holder))


@pytest.mark.parametrize('moment', ['during the order call', 'after the provider stored the order'])
def test_a_run_killed_mid_order_never_buys_twice_without_a_token(world, moment):
    holder = cloud(world, order_delay=0.6, after_order_delay=1.0)
    when = (lambda: ordering(holder)) if moment == 'during the order call' else stored(holder, 1)
    killed_run(world, servers(1), when)
    placed = settled(holder)
    set_cloud(holder, **FAST)
    result = converge(world, servers(2))
    web1 = by_name(result)['web-1']
    assert (web1['state'], web1['uncertain'], web1['error']['stage']) == ('unknown_outcome', True, 'order')
    assert 'forget_pending' in web1['error']['message'] and 'task_id' in web1['error']['message']
    assert by_name(result)['web-2']['state'] == 'added'
    assert len(cloud_orders(holder)) == placed + 1  # web-2 only
    if moment == 'during the order call':
        # Told that nothing was placed, it orders again.
        set_cloud(holder, **FAST)
        again = converge(world, servers(2), forget_pending=['web-1'])
        assert by_name(again)['web-1']['state'] == 'added'


def test_a_run_killed_after_the_provider_stored_the_order_is_resolved_by_the_token(world):
    holder = cloud(world, token=True, order_delay=0.3, after_order_delay=1.5)
    killed_run(world, servers(1), stored(holder, 1))
    assert len(cloud_orders(holder)) == 1
    set_cloud(holder, **dict(FAST, token=True))
    result = converge(world, servers(1))
    assert [(e['action'], e['state'], e['task_id']) for e in result['servers']] == [('ordered', 'added', 'T001')]
    assert len(cloud_orders(holder)) == 1
    tokens = [entry['token'] for entry in calls(holder, 'order')]
    assert len(tokens) == 2 and tokens[0] == tokens[1] and len(tokens[0]) == 40


def test_every_new_label_gets_its_own_token_and_providers_without_tokens_get_none(world):
    with_token = cloud(world, 'tok', token=True)
    without = cloud(world, 'plain')
    converge(world, servers(2, provider='tok') + servers(1, provider='plain'))
    tokens = [entry['token'] for entry in calls(with_token, 'order')]
    assert len(set(tokens)) == 2 and None not in tokens
    assert [entry['token'] for entry in calls(without, 'order')] == [None]


def test_a_run_killed_during_the_pool_write_finishes_on_the_next_run(world, monkeypatch):
    holder = cloud(world, finish_after=0)
    written_hosts = os.path.join(world['pool'], 'hosts')
    killed_run(world, servers(3), lambda: hosts(world).count('192.0.2.10') >= 1)
    result = converge(world, servers(3))
    assert result['failed'] is False
    assert sorted(e['state'] for e in result['servers']) in (
        ['added', 'added', 'added'], ['added', 'added', 'in_pool'], ['added', 'in_pool', 'in_pool'])
    with open(written_hosts) as handle:
        text = handle.read()
    assert all(text.count('192.0.2.%d ' % n) + text.count('192.0.2.%d\n' % n) == 1 for n in (101, 102, 103))
    assert len(cloud_orders(holder)) == 3


def test_key_copies_run_in_parallel(world):
    cloud(world, order_delay=0, finish_after=0, password='pw')
    running, most, lock = [0], [0], threading.Lock()

    def copy_key(server, password, *keys):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.5)
        with lock:
            running[0] -= 1
    result = _pool_list.converge(Providers(world['root']), servers(4), world['pool'], copy_key=copy_key,
                                 key_file=os.path.join(world['pool'], 'id'), resolver=FakeResolver(),
                                 slow_start=False, poll_interval=0.2)
    assert result['summary']['added'] == 4
    assert most[0] > 1
