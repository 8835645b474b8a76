# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The checks that run the plugin: levels protocol, robust and order.

Each check adds one finding to ``Findings``; none stops the others. An
action a first call showed to be broken is not called again where a later
check would only repeat the failure (or wait out the timeout again).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import json
import os
import threading
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _naming, _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import id_problem
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import UNUSABLE, parse_reply
from ansible_collections.bitrix.bxenv.plugins.module_utils._queries import FAILED_STATUSES

UNKNOWN_ACTION = 'bxcheck-no-such-action'
CONCURRENT_CALLS = 8
SLOW_CALL = 5.0
_SHOWN_REPLY = 300


class Findings(object):
    """The result of each check by id: ``{result, message}`` and, for a
    failure or warning about a call, that call's details."""

    def __init__(self, caller=None):
        self.caller = caller
        self.results = {}

    def add(self, check_id, result, message, call=None):
        entry = {'result': result, 'message': message}
        if call is not None and result in ('fail', 'warn') and self.caller is not None:
            entry.update(self.caller.details(call))
        self.results[check_id] = entry

    def skip(self, ids, reason):
        for check_id in ids:
            self.results.setdefault(check_id, {'result': 'skip', 'message': reason})


def compact(value):
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _SHOWN_REPLY else text[:_SHOWN_REPLY] + '...'


def _why(call):
    return call.message or 'a successful reply was expected'


def _expect_error(call):
    """``(result, message)`` of a call that must get an error reply."""
    if call.outcome == 'ok':
        return 'fail', '`%s` answered a successful reply instead of an error reply' % call.shown()
    if call.outcome == 'broken':
        return 'fail', call.message
    data = call.result.stdout if call.result is not None else b''
    if data in (b'', b'\n'):
        return 'warn', ('`%s` printed nothing: taken as an error reply (rule 3.1), but say why: '
                        '{"error": N, "error_message": "..."}' % call.shown())
    if 'error_message' not in parse_reply(data):
        return 'warn', '`%s` gave an error reply without error_message' % call.shown()
    return 'pass', '`%s`: %s' % (call.shown(), call.message)


def _worst(pairs):
    """The first failing (else warning, else passing) ``(result, message, call)``."""
    for wanted in ('fail', 'warn', 'pass'):
        for result, message, call in pairs:
            if result == wanted:
                return result, message, call
    return pairs[0]


def _config_ids(reply):
    """``(ids, problem)`` of a configs reply."""
    items = reply.get('configurations')
    if not isinstance(items, list):
        return None, 'configurations is missing or not a list (the plain output lists configurations: [{id, descr}])'
    ids = []
    for index, item in enumerate(items):
        value = item.get('id') if isinstance(item, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        problem = id_problem(value) if value is not None else 'is missing'
        if problem or not isinstance(item.get('descr'), (str, int, float)):
            return None, 'configurations.%d: id %s %s' % (index, compact(value), problem or 'has no descr')
        if value in ids:
            return None, 'configurations.%d: id %s appears twice' % (index, compact(value))
        ids.append(value)
    return ids, None


def run_protocol(caller, found, canaries):
    """Level protocol; returns help's options (None when help gave no usable reply)."""
    later = ('protocol.help-status', 'protocol.configs-schema', 'protocol.config-ids', 'protocol.configs-stable',
             'protocol.unknown-action', 'protocol.bad-id', 'protocol.unknown-task', 'protocol.args-literal')
    first = caller.call('help')
    if first.outcome != 'ok':
        found.add('protocol.help-schema', 'fail', _why(first), first)
        found.skip(later, 'help gave no successful reply: the collection cannot use the plugin')
        return None
    found.add('protocol.help-schema', 'pass', 'help: %s' % compact(first.reply))
    options = [option for option in first.reply.get('options') or [] if isinstance(option, str)]
    status = first.reply.get('status')
    if status in UNUSABLE:
        found.add('protocol.help-status', 'warn', 'status %s: the collection will not order from it' % compact(status))
    else:
        found.add('protocol.help-status', 'pass', 'status %s' % compact(status))
    _configs(caller, found, options)
    call = caller.call(UNKNOWN_ACTION)
    found.add('protocol.unknown-action', *_expect_error(call), call=call)
    target = 'order_status' if 'order_status' in options else UNKNOWN_ACTION
    injected = [caller.call(target, '$(touch %s)' % canaries[0]), caller.call(target, ';touch %s' % canaries[1])]
    if target == 'order_status':
        bad = injected + [caller.call(target, '../x')]
        found.add('protocol.bad-id', *_worst([_expect_error(c) + (c,) for c in bad]))
        unknown = caller.call(target, 'bxcheck-no-such-task-%s' % binascii.hexlify(os.urandom(4)).decode())
        found.add('protocol.unknown-task', *_expect_error(unknown), call=unknown)
    else:
        found.skip(('protocol.bad-id', 'protocol.unknown-task'), "order_status is not in help's options")
    ran = [call for call, canary in zip(injected, canaries) if os.path.lexists(canary)]
    if ran:
        found.add('protocol.args-literal', 'fail', 'the argument %s was run by a shell: %s appeared'
                  % (compact(ran[0].argument), ran[0].argument.split()[-1].rstrip(')')), ran[0])
    else:
        found.add('protocol.args-literal', 'pass', 'the arguments of %s were taken literally'
                  % ', '.join('`%s`' % call.shown() for call in injected))
    return options


def _configs(caller, found, options):
    ids = ('protocol.configs-schema', 'protocol.config-ids', 'protocol.configs-stable')
    if 'configs' not in options:
        found.skip(ids, "configs is not in help's options")
        return
    first = caller.call('configs')
    if first.outcome != 'ok':
        found.add('protocol.configs-schema', 'fail', _why(first), first)
        found.skip(ids, 'configs gave no successful reply')
        return
    found.add('protocol.configs-schema', 'pass', 'configs: %s' % compact(first.reply))
    config_ids, problem = _config_ids(first.reply)
    if problem:
        found.add('protocol.config-ids', 'fail', problem, first)
        found.skip(ids, 'the config ids are not usable')
        return
    found.add('protocol.config-ids', 'pass', 'config ids: %s' % ', '.join(config_ids))
    second = caller.call('configs')
    again = _config_ids(second.reply)[0] if second.outcome == 'ok' else None
    if again == config_ids:
        found.add('protocol.configs-stable', 'pass', 'the same ids on a second call')
    else:
        found.add('protocol.configs-stable', 'fail', 'a second configs call gave %s'
                  % (compact(again) if again is not None else _why(second)), second)


def output_problem(call):
    """``(kind, why)`` of a call's stdout that is not a clean reply
    (``utf8``, ``json`` or ``depth``), or None."""
    result = call.result
    if result is None or call.ended_badly() or result.stdout in (b'', b'\n'):
        return None
    try:
        result.stdout.decode('utf-8')
    except UnicodeDecodeError as exc:
        return 'utf8', 'byte 0x%02x at offset %d is not UTF-8' % (result.stdout[exc.start], exc.start)
    try:
        parse_reply(result.stdout)
    except ValueError as exc:
        return ('depth' if 'nested' in str(exc) else 'json'), str(exc)
    return None


def run_robust(caller, found, options, repeat, timeout):
    """Level robust: more calls of help and configs, then the output
    discipline of every call the kit made."""
    if options is not None:
        # Only actions that answered well are called again: a broken one
        # would only repeat its failure (or wait out the timeout again).
        usable = [action for action in ('help', 'configs') if (action == 'help' or action in options)
                  and all(call.outcome == 'ok' for call in caller.calls if call.action == action)]
        for action in usable:
            for dummy in range(repeat - 1):
                caller.call(action)
        _concurrent(caller, found, usable)
    else:
        found.skip(['robust.concurrent'], 'help gave no successful reply')
    calls = list(caller.calls)
    problems = [(call, output_problem(call)) for call in calls]
    for check_id, kind in (('robust.utf8', 'utf8'), ('robust.stdout-only-reply', 'json'), ('robust.reply-depth', 'depth')):
        bad = [(call, why) for call, problem in problems if problem and problem[0] == kind for why in problem[1:]]
        _judge(found, check_id, calls, bad)
    _judge(found, 'robust.output-size', calls, [(c, c.result.problem(timeout, caller.providers.max_output))
                                                for c in calls if c.result is not None and c.result.overflow])
    _judge(found, 'robust.exits-in-time', calls, [(c, c.result.problem(timeout)) for c in calls
                                                  if c.result is not None and c.result.timed_out])
    _judge(found, 'robust.releases-stdout', calls, [(c, 'a background process held stdout or stderr open %g s after '
                                                     'the plugin exited and was ended' % _runner.PIPE_GRACE)
                                                    for c in calls if c.result is not None and c.result.held_open])
    # The runner's timeout path: TERM to the process group, KILL after
    # KILL_GRACE. A group that ended on TERM ends within milliseconds.
    _judge(found, 'robust.ends-on-term', calls, [
        (c, 'still running %.1f s after TERM; ended by KILL' % (c.result.elapsed - timeout)) for c in calls
        if c.result is not None and c.result.timed_out and c.result.elapsed - timeout >= _runner.KILL_GRACE / 2])
    _timing(found, [call for call in calls if not call.concurrent], timeout)


def _judge(found, check_id, calls, bad):
    if bad:
        call, why = bad[0]
        found.add(check_id, 'fail', '%d of %d calls; first, `%s`: %s' % (len(bad), len(calls), call.shown(), why), call)
    else:
        found.add(check_id, 'pass', 'all %d calls' % len(calls))


def _concurrent(caller, found, actions):
    batch = [actions[index % len(actions)] for index in range(CONCURRENT_CALLS)]
    made = []
    lock = threading.Lock()

    def one(action):
        call = caller.call(action)
        call.concurrent = True
        with lock:
            made.append(call)
    threads = [threading.Thread(target=one, args=(action,)) for action in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bad = [call for call in made if call.outcome != 'ok']
    if bad:
        found.add('robust.concurrent', 'fail', '%d of %d calls at once failed; first, `%s`: %s'
                  % (len(bad), len(made), bad[0].shown(), _why(bad[0])), bad[0])
    else:
        found.add('robust.concurrent', 'pass', '%d calls at once (%s)' % (len(made), ', '.join(actions)))


def _timing(found, calls, timeout):
    by_action = {}
    for call in calls:
        if call.result is not None:
            by_action.setdefault(call.action, []).append(call)
    slowest = [max(group, key=lambda c: c.result.elapsed) for dummy, group in sorted(by_action.items())]
    text = '; '.join('%s: %d calls, slowest %.2f s' % (c.action, len(by_action[c.action]), c.result.elapsed)
                     for c in slowest)
    late = [c for c in slowest if c.result.timed_out]
    slow = [c for c in slowest if c.result.elapsed > SLOW_CALL]
    if late:
        found.add('robust.timing', 'fail', 'past the timeout of %d s: %s' % (timeout, text), late[0])
    elif slow:
        found.add('robust.timing', 'warn', 'slower than %g s: %s' % (SLOW_CALL, text), slow[0])
    else:
        found.add('robust.timing', 'pass', text or 'no calls')


def run_order(caller, found, config_id, ordered, wait_timeout, poll_interval, sleep=time.sleep, clock=time.monotonic):
    """Level order: one order of ``config_id``, followed to ``finished``;
    every task id bought goes to ``ordered``."""
    rest = ('order.status', 'order.finished-reply')
    call = caller.call('order', config_id)
    task_id = call.reply.get('task_id') if isinstance(call.reply, dict) else None
    if task_id not in (None, ''):
        ordered.append(str(task_id))
    problem = _why(call) if call.outcome != 'ok' else (
        'no task_id in the reply' if task_id in (None, '') else id_problem(str(task_id)))
    if problem:
        found.add('order.place', 'fail', problem, call)
        found.skip(rest, 'no usable task_id')
        return
    found.add('order.place', 'pass', 'task_id %s' % compact(task_id))
    deadline = clock() + wait_timeout
    while True:
        status_call = caller.call('order_status', str(task_id))
        reply = status_call.reply if isinstance(status_call.reply, dict) else {}
        status = reply.get('status')
        if status == 'finished':
            found.add('order.status', 'pass', 'finished')
            _finished(found, status_call)
            return
        if status_call.outcome != 'ok':
            found.add('order.status', 'fail', _why(status_call), status_call)
        elif status in FAILED_STATUSES:
            found.add('order.status', 'fail', 'the order ended %s: %s' % (status, compact(reply.get('message'))),
                      status_call)
        elif isinstance(status, (int, float)) or (isinstance(status, str) and status.isdigit()):
            found.add('order.status', 'fail', 'status %s: a status made only of digits is refused' % compact(status),
                      status_call)
        elif clock() + poll_interval > deadline:
            found.add('order.status', 'fail', 'not finished after %d s (last status %s)' % (wait_timeout, compact(status)),
                      status_call)
        else:
            sleep(poll_interval)
            continue
        found.skip(rest, 'the order did not finish')
        return


def _finished(found, call):
    if call.outcome != 'ok':
        found.add('order.finished-reply', 'fail', _why(call), call)
        return
    try:
        kind = _naming.server_kind(call.reply['server'])
    except BxError as exc:
        found.add('order.finished-reply', 'fail', exc.message, call)
        return
    found.add('order.finished-reply', 'pass', 'server %s (%s)' % (compact(call.reply['server']), kind))
