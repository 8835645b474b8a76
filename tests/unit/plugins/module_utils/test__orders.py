# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placing orders on real fake providers: labels, the lock, check mode, waiting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import multiprocessing
import os
import signal
import stat

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries, _orders, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import (
    FakeTime, calls, make_provider, make_script_provider, raw, sequence, set_replies, tree, wait_gone)
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner

IN_PROGRESS = {'status': 'in_progress'}
FINISHED = {'status': 'finished', 'server': '192.0.2.10', 'server_password': 'pw'}
REPLIES = {'order': {'task_id': 'T-{n}'}, 'order_status': IN_PROGRESS}


def prov(root):
    return Providers(root, Runner(), timeout=20)


def actions(holder):
    """The provider actions called, without the argument."""
    return [argv[0] for argv in calls(holder)]


# placing ----------------------------------------------------------------

def test_order_without_name_orders_every_time(root):
    holder = make_provider(root, 'p', REPLIES)
    first = _orders.place(prov(root), 'p', '2')
    second = _orders.place(prov(root), 'p', '2')
    assert (first.changed, first.task_id, first.params) == (True, 'T-1', {'provider_order': {'p': {'task_id': 'T-1'}}})
    assert (second.changed, second.task_id) == (True, 'T-2')
    assert calls(holder) == [['help'], ['order', '2'], ['help'], ['order', '2']]
    assert _tasks.list_task_ids(holder) == ['T-1', 'T-2']


@pytest.mark.parametrize('umask, file_mode', [(0o022, 0o644), (0o027, 0o640)])
def test_task_file_is_the_originals(root, umask, file_mode):
    holder = make_provider(root, 'p', REPLIES)
    old = os.umask(umask)
    try:
        _orders.place(prov(root), 'p', '2', label='web-1')
    finally:
        os.umask(old)
    path = os.path.join(holder, 'tasks', 'T-1')
    with open(path, 'rb') as handle:
        assert handle.read() == b''
    assert stat.S_IMODE(os.stat(path).st_mode) == file_mode
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o770 & ~umask


def test_same_name_twice_places_one_order(root):
    holder = make_provider(root, 'p', REPLIES)
    first = _orders.place(prov(root), 'p', '2', label='web-1')
    second = _orders.place(prov(root), 'p', '2', label='web-1')
    assert (first.changed, first.task_id, first.order_status) == (True, 'T-1', None)
    assert (second.changed, second.task_id) == (False, 'T-1')
    assert second.order_status == IN_PROGRESS
    assert second.params == {'provider_order': {'p': IN_PROGRESS}}
    assert actions(holder).count('order') == 1
    assert calls(holder)[-1] == ['order_status', 'T-1']
    with open(os.path.join(holder, 'tasks', '.bxenv', 'labels', 'web-1'), 'rb') as handle:
        assert handle.read() == b'T-1'


def test_names_are_per_provider_and_distinct(root):
    one = make_provider(root, 'one', REPLIES)
    two = make_provider(root, 'two', REPLIES)
    assert _orders.place(prov(root), 'one', '1', label='a').changed
    assert _orders.place(prov(root), 'one', '1', label='b').changed
    assert _orders.place(prov(root), 'two', '1', label='a').changed
    assert (actions(one).count('order'), actions(two).count('order')) == (2, 1)


def test_existing_order_status_has_the_overlay(root):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=FINISHED))
    _orders.place(prov(root), 'p', '2', label='web-1')
    with open(os.path.join(holder, 'tasks', 'T-1'), 'w') as handle:
        handle.write('complete: Server=192.0.2.10 is added to the pool')
    again = _orders.place(prov(root), 'p', '2', label='web-1')
    assert again.order_status == dict(FINISHED, status='complete')


def test_labelled_order_is_listed_once_and_label_folder_is_no_task(root):
    holder = make_provider(root, 'p', REPLIES)
    _orders.place(prov(root), 'p', '2', label='web-1')
    assert sorted(os.listdir(os.path.join(holder, 'tasks'))) == ['.bxenv', 'T-1']
    listed = _queries.orders_list(prov(root), 'p')['p']
    assert list(listed) == ['T-1']
    assert listed['T-1']['status'] == 'in_progress'
    with open(os.path.join(holder, 'tasks', 'T-1'), 'w') as handle:
        handle.write('error: User enter incorrect password')
    status = _queries.order_status(prov(root), 'p', 'T-1')['p']
    assert status == {'status': 'error', 'message': 'User enter incorrect password', 'error': 1}


def test_label_whose_task_file_was_removed_is_returned_with_a_warning(root):
    holder = make_provider(root, 'p', REPLIES)
    _orders.place(prov(root), 'p', '2', label='web-1')
    os.unlink(os.path.join(holder, 'tasks', 'T-1'))
    warnings = []
    again = _orders.place(prov(root), 'p', '2', label='web-1', warnings=warnings)
    assert (again.changed, again.task_id, again.order_status) == (False, 'T-1', IN_PROGRESS)
    assert len(warnings) == 1 and 'task file %s/tasks/T-1 is missing' % holder in warnings[0]
    assert actions(holder).count('order') == 1


def test_existing_order_whose_status_fails_names_the_task(root):
    holder = make_provider(root, 'p', dict(REPLIES, order_status={'error': 7, 'error_message': 'unknown task'}))
    _orders.place(prov(root), 'p', '2', label='web-1')
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.message == 'cmd=`%s/bin/p order_status T-1` return unknown task' % holder
    assert (info.value.code, info.value.details) == (7, {'task_id': 'T-1'})


@pytest.mark.parametrize('content', [b'../etc/passwd', b'', b'a b', b'x\n\n'])
def test_bad_label_file_is_an_error_and_orders_nothing(root, content):
    holder = make_provider(root, 'p', REPLIES)
    labels = os.path.join(holder, 'tasks', '.bxenv', 'labels')
    os.makedirs(labels)
    with open(os.path.join(labels, 'web-1'), 'wb') as handle:
        handle.write(content)
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.message.startswith('bxenv: order label %s/web-1 names task_id=' % labels)
    assert 'order' not in actions(holder)


def test_label_that_cannot_be_saved_fails_with_the_task_id(root, monkeypatch):
    holder = make_provider(root, 'p', REPLIES)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_orders, 'write_label', disk_full)
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.message.startswith('bxenv: order task_id=T-1 was placed, but its label')
    assert info.value.details == {'task_id': 'T-1', 'uncertain': True}
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))


def test_failed_order_writes_no_label_and_the_next_run_orders(root):
    holder = make_provider(root, 'p', dict(REPLIES, order={'error': 4, 'error_message': 'no money'}))
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert (info.value.code, info.value.message) == (4, 'cmd=`%s/bin/p order 2` return no money' % holder)
    assert os.listdir(os.path.join(holder, 'tasks')) == ['.bxenv']
    assert not os.path.exists(_orders.label_path(holder, 'web-1'))
    set_replies(holder, REPLIES)
    assert _orders.place(prov(root), 'p', '2', label='web-1').changed


def _killed_before_label(root):
    """Child process: SIGKILL itself right after the provider placed the order."""
    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)
    _orders.write_label = die
    _orders.place(prov(root), 'p', '2', label='web-1')


def test_run_killed_after_ordering_never_orders_that_label_again(root):
    holder = make_provider(root, 'p', REPLIES)
    child = multiprocessing.get_context('fork').Process(target=_killed_before_label, args=(root,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert actions(holder).count('order') == 1
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert 'stopped after calling provider p' in info.value.message
    assert actions(holder).count('order') == 1
    os.unlink(_orders.ordering_path(holder, 'web-1'))
    assert _orders.place(prov(root), 'p', '2', label='web-1').task_id == 'T-2'


# orders whose outcome is not known ---------------------------------------

def test_order_that_times_out_may_exist_and_its_name_never_orders_again(root):
    holder = make_provider(root, 'p', dict(REPLIES, order=raw('{"task_id": "T-1"}', sleep=30)))
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(Providers(root, Runner(), timeout=1), 'p', '2', label='web-1')
    message = info.value.message
    assert 'timed out after 1 s and was killed (provider p, action order)' in message
    assert message.endswith('; provider p may have placed the order: check with the provider before ordering '
                            'again; no run with name=web-1 orders again while %s exists'
                            % _orders.ordering_path(holder, 'web-1'))
    assert info.value.details == {'uncertain': True}
    assert not os.path.exists(os.path.join(holder, 'tasks', 'T-1'))
    set_replies(holder, REPLIES)
    with pytest.raises(_orders.OrderError) as again:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert 'stopped after calling provider p, so the provider may have placed that order' in again.value.message
    assert again.value.details == {'uncertain': True}
    assert actions(holder).count('order') == 1


def test_order_that_times_out_without_a_name_says_it_may_exist(root):
    holder = make_provider(root, 'p', dict(REPLIES, order=raw('', sleep=30)))
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(Providers(root, Runner(), timeout=1), 'p', '2')
    assert info.value.message.endswith('provider p may have placed the order: check with the provider before '
                                       'ordering again')
    assert info.value.details == {'uncertain': True}
    assert actions(holder).count('order') == 1
    assert not os.path.exists(os.path.join(holder, 'tasks', 'T-1'))


def test_broken_reply_naming_a_task_is_recorded_and_the_name_returns_it(root):
    """A lone surrogate beside a good task_id: the order is recorded, and said
    to be uncertain; the same name then finds it instead of ordering."""
    holder = make_provider(root, 'p', dict(REPLIES, order=raw('{"task_id": "T-{n}", "note": "\\ud83d"}')))
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert 'lone surrogate \\ud83d in the value at note' in info.value.message
    assert info.value.message.endswith('; provider p may have placed the order as task_id=T-1 (recorded in %s)'
                                       % os.path.join(holder, 'tasks', 'T-1'))
    assert info.value.details == {'task_id': 'T-1', 'uncertain': True}
    assert sorted(os.listdir(os.path.join(holder, 'tasks'))) == ['.bxenv', 'T-1']
    assert os.listdir(os.path.join(holder, 'tasks', '.bxenv', _orders.ORDERING_DIR)) == []
    again = _orders.place(prov(root), 'p', '2', label='web-1')
    assert (again.changed, again.task_id, again.order_status) == (False, 'T-1', IN_PROGRESS)
    assert actions(holder).count('order') == 1


@pytest.mark.parametrize('reply', ['{"task_id": "T-\\ud83d"}', '{"task_id": ["T-1"]}', '{"task_id": "T-1"} x'])
def test_broken_reply_naming_no_usable_task_keeps_the_marker(root, reply):
    holder = make_provider(root, 'p', dict(REPLIES, order=raw(reply)))
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.details == {'uncertain': True}
    assert 'may have placed the order' in info.value.message
    assert os.listdir(os.path.join(holder, 'tasks')) == ['.bxenv']
    with pytest.raises(_orders.OrderError) as again:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert 'stopped after calling provider p' in again.value.message
    assert actions(holder).count('order') == 1


def test_order_whose_provider_leaves_a_child_on_stdout_is_recorded(root):
    """``echo {...}; sleep 30 &``: the reply is used, not thrown away at the timeout."""
    holder = make_script_provider(root, 'p', 'case "$1" in order) printf %s \'{"task_id": "T-1"}\'; '
                                             'sleep 30 & echo $! > bg.pid;; esac')
    outcome = _orders.place(Providers(root, Runner(), timeout=10), 'p', '2', label='web-1')
    assert (outcome.changed, outcome.task_id) == (True, 'T-1')
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))
    assert _orders.read_label(holder, 'web-1') == 'T-1'
    with open(os.path.join(holder, 'bg.pid')) as handle:
        assert wait_gone(int(handle.read()))


def test_task_file_that_cannot_be_written_says_the_order_may_exist(root, monkeypatch):
    holder = make_provider(root, 'p', REPLIES)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_queries._tasks, 'write_task_file', disk_full)
    with pytest.raises(_orders.OrderError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.message.startswith('bxProvider::order2Provider: Cannot save %s/tasks/T-1: ' % holder)
    assert info.value.message.endswith('; provider p may have placed the order as task_id=T-1 (recorded in %s)'
                                       % _orders.label_path(holder, 'web-1'))
    assert info.value.details == {'task_id': 'T-1', 'uncertain': True}
    assert _orders.read_label(holder, 'web-1') == 'T-1'


@pytest.mark.parametrize('task_id', ['../x', '../../evil', '.hidden', '\U0001d54f' * 100])
def test_task_id_that_cannot_be_a_file_is_recorded_and_never_ordered_again(root, task_id):
    holder = make_provider(root, 'p', dict(REPLIES, order={'task_id': task_id}))
    for details in ({'task_id': task_id, 'uncertain': True}, {'task_id': task_id}):
        with pytest.raises(_orders.OrderError) as info:
            _orders.place(prov(root), 'p', '2', label='web-1')
        assert info.value.details == details
        assert repr(task_id) in info.value.message
        assert _orders.label_path(holder, 'web-1') in info.value.message
    assert actions(holder).count('order') == 1
    assert os.listdir(os.path.join(holder, 'tasks')) == ['.bxenv']
    assert os.listdir(os.path.join(holder, 'tasks', '.bxenv', _orders.ORDERING_DIR)) == []
    with open(_orders.label_path(holder, 'web-1'), 'rb') as handle:
        assert handle.read() == task_id.encode('utf-8')
    assert not os.path.exists(os.path.join(root, 'x')) and not os.path.exists(os.path.join(root, 'evil'))


@pytest.mark.parametrize('config_id', ['1; touch /tmp/pwned', '$(id)', '../x', '1\n2', 'x' * 500, '', '-h'])
@pytest.mark.parametrize('label', [None, 'web-1'])
def test_hostile_config_id_never_reaches_the_provider(root, config_id, label):
    holder = make_provider(root, 'p', REPLIES)
    before = tree(root)
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', config_id, label=label)
    assert info.value.message.startswith('bxenv: invalid config_id')
    assert calls(holder) == []
    assert tree(root) == before


@pytest.mark.parametrize('label', ['../x', 'a/b', '.bxenv', '-x', 'a b', '', 'x' * 129, 'a;b'])
def test_hostile_names_are_refused_before_anything(root, label):
    holder = make_provider(root, 'p', REPLIES)
    before = tree(root)
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label=label)
    assert info.value.message.startswith('bxenv: invalid name')
    assert calls(holder) == []
    assert tree(root) == before


@pytest.mark.parametrize('kwargs, message', [
    ({'help_reply': {'status': 'disabled', 'options': ['order']}}, 'bxProvider::order2Provider: Provider p disabled on the host'),
    ({'executable': False}, 'bxProvider::order2Provider: Provider p not_exists on the host'),
    ({'help_reply': {'options': ['order_status']}}, "bxProvider::order2Provider: Provider p doesn't support order option"),
])
def test_unusable_provider_with_a_name_writes_nothing(root, kwargs, message):
    make_provider(root, 'p', REPLIES, **kwargs)
    before = tree(root)
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1')
    assert info.value.message == message
    assert tree(root) == before


# check mode -------------------------------------------------------------

@pytest.mark.parametrize('label', [None, 'web-1'])
def test_check_mode_new_order_writes_nothing(root, label):
    holder = make_provider(root, 'p', REPLIES)
    before = tree(root)
    outcome = _orders.place(prov(root), 'p', '2', label=label, check_mode=True)
    assert (outcome.changed, outcome.task_id, outcome.params) == (True, None, None)
    assert tree(root) == before
    assert not os.path.exists(os.path.join(holder, 'tasks'))
    assert actions(holder) == ['help']


def test_check_mode_existing_label(root):
    holder = make_provider(root, 'p', REPLIES)
    _orders.place(prov(root), 'p', '2', label='web-1')
    before = tree(root)
    outcome = _orders.place(prov(root), 'p', '2', label='web-1', check_mode=True)
    assert (outcome.changed, outcome.task_id, outcome.order_status) == (False, 'T-1', IN_PROGRESS)
    assert tree(root) == before
    assert actions(holder) == ['help', 'order', 'help', 'help', 'order_status']


def test_check_mode_still_refuses_what_the_real_run_refuses(root):
    make_provider(root, 'p', REPLIES, help_reply={'options': ['order_status']})
    with pytest.raises(BxError) as info:
        _orders.place(prov(root), 'p', '2', label='web-1', check_mode=True)
    assert info.value.message == "bxProvider::order2Provider: Provider p doesn't support order option"


# waiting ----------------------------------------------------------------

def placed(root, status_replies):
    holder = make_provider(root, 'p', dict(REPLIES, order_status=sequence(*status_replies)))
    _orders.place(prov(root), 'p', '2')
    return holder


def test_wait_until_finished(root):
    holder = placed(root, [IN_PROGRESS, IN_PROGRESS, FINISHED])
    fake = FakeTime()
    reply, polls, elapsed = _orders.wait(prov(root), 'p', 'T-1', 100, 15, fake.clock, fake.sleep)
    assert (reply, polls, elapsed) == (FINISHED, 3, 30)
    assert fake.sleeps == [15, 15]
    assert actions(holder).count('order') == 1
    assert calls(holder)[-1] == ['order_status', 'T-1']


def test_wait_accepts_an_order_already_complete_on_the_appliance(root):
    holder = placed(root, [IN_PROGRESS])
    with open(os.path.join(holder, 'tasks', 'T-1'), 'w') as handle:
        handle.write('complete: Server=192.0.2.10 is added to the pool')
    fake = FakeTime()
    reply, polls, elapsed = _orders.wait(prov(root), 'p', 'T-1', 100, 15, fake.clock, fake.sleep)
    assert (reply['status'], polls, fake.sleeps) == ('complete', 1, [])


@pytest.mark.parametrize('final, message', [
    ({'status': 'failed', 'message': 'out of stock'}, 'failed: out of stock'),
    ({'status': 'error', 'error_message': 'API down'}, 'error: API down'),
    ({'status': 'failed'}, 'failed: (no message)'),
])
def test_wait_ends_in_failure(root, final, message):
    holder = placed(root, [IN_PROGRESS, final])
    fake = FakeTime()
    with pytest.raises(_orders.OrderError) as info:
        _orders.wait(prov(root), 'p', 'T-1', 100, 5, fake.clock, fake.sleep)
    assert info.value.message == 'bxenv: order task_id=T-1 of provider p ' + message
    assert info.value.details == {'task_id': 'T-1', 'polls': 2, 'elapsed': 5, 'order_status': final}
    assert actions(holder).count('order') == 1


def test_wait_ends_on_an_error_task_file(root):
    holder = placed(root, [IN_PROGRESS])

    def mark_error(count):
        with open(os.path.join(holder, 'tasks', 'T-1'), 'w') as handle:
            handle.write('error: User enter incorrect password')

    fake = FakeTime(mark_error)
    with pytest.raises(_orders.OrderError) as info:
        _orders.wait(prov(root), 'p', 'T-1', 100, 5, fake.clock, fake.sleep)
    assert info.value.message == 'bxenv: order task_id=T-1 of provider p error: User enter incorrect password'


def test_wait_times_out_and_says_the_order_is_pending(root):
    holder = placed(root, [IN_PROGRESS])
    fake = FakeTime()
    with pytest.raises(_orders.OrderError) as info:
        _orders.wait(prov(root), 'p', 'T-1', 30, 20, fake.clock, fake.sleep)
    # Polls at 0, 20 and at the deadline.
    assert fake.sleeps == [20, 10]
    assert info.value.details == {'task_id': 'T-1', 'polls': 3, 'elapsed': 30, 'order_status': IN_PROGRESS}
    assert info.value.message.startswith('bxenv: order task_id=T-1 of provider p is still in_progress after 30 s '
                                         '(wait_timeout=30); follow it with bitrix.bxenv.bx_provider_info')
    assert actions(holder).count('order') == 1


def test_wait_timeout_zero_asks_once(root):
    placed(root, [IN_PROGRESS])
    fake = FakeTime()
    with pytest.raises(_orders.OrderError) as info:
        _orders.wait(prov(root), 'p', 'T-1', 0, 15, fake.clock, fake.sleep)
    assert (info.value.details['polls'], fake.sleeps) == (1, [])


def test_wait_follows_a_reply_rewritten_between_polls(root):
    holder = placed(root, [IN_PROGRESS])

    def advance(count):
        if count == 2:
            set_replies(holder, dict(REPLIES, order_status=FINISHED))

    fake = FakeTime(advance)
    reply, polls, elapsed = _orders.wait(prov(root), 'p', 'T-1', 1000, 1, fake.clock, fake.sleep)
    assert (reply, polls, elapsed) == (FINISHED, 3, 2)


@pytest.mark.parametrize('bad, message', [
    ({'error': 9, 'error_message': 'unknown task'}, 'cmd=`{holder}/bin/p order_status T-1` return unknown task'),
    ({'status': ''}, "bxProvider::order_status2Provider: Provider p doesn't return status for task_id=T-1"),
])
def test_wait_stops_at_the_first_status_error(root, bad, message):
    holder = placed(root, [IN_PROGRESS, bad, FINISHED])
    fake = FakeTime()
    with pytest.raises(_orders.OrderError) as info:
        _orders.wait(prov(root), 'p', 'T-1', 100, 5, fake.clock, fake.sleep)
    assert info.value.message == message.format(holder=holder)
    assert info.value.details == {'task_id': 'T-1', 'polls': 2, 'elapsed': 5, 'order_status': IN_PROGRESS}
    assert actions(holder).count('order_status') == 2
