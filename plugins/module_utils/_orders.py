# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Placing orders: order labels, the per-provider order lock, waiting.

A label names an order so that running the same task again finds it instead
of ordering twice. Labels live in ``<holder>/tasks/.bxenv/labels/<label>``
(a file holding the task_id), the configuration ordered in
``.../configs/<label>``: the original lists every regular file in ``tasks/``
as a task but skips sub-folders, so it still sees one task file per order.

Orders of one provider run at once: each holds the provider's order lock
shared (install, upgrade and removal take it alone, so they never run while
an order is being placed) and, with a label, that label's lock alone around
check-label, order, task file and label; runs with the same label at the
same moment place one order (``_locking.provider_lock``, beside the providers root).

A marker ``.../ordering/<label>`` exists while an order's outcome is
unknown; one left by a run that died mid-order stops the next run with that
label from buying again, unless the provider offers ``order_token`` (docs/protocol.md section 3):
the marker holds the token the dead run sent, and asking again with it
returns that order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import errno
import hashlib
import os
import re
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _messages, _queries, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_id, id_problem
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import DEFAULT_LOCK_TIMEOUT, provider_lock
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import BrokenReply, ErrorReply
from ansible_collections.bitrix.bxenv.plugins.module_utils._runner import KILL_GRACE

LABELS_DIR = 'labels'
CONFIGS_DIR = 'configs'
# A label being ordered right now: left behind only by a run that died mid-order.
ORDERING_DIR = 'ordering'
DONE = ('finished', 'complete')
DEFAULT_WAIT_TIMEOUT = 1800
DEFAULT_POLL_INTERVAL = 15
# The variable that carries an order token to a provider's ``order`` call.
TOKEN_VARIABLE = 'BX_ORDER_TOKEN'
MACHINE_ID = '/etc/machine-id'
_TOKEN = re.compile(r'\A[0-9a-f]{40}\Z')


class OrderError(BxError):
    """A failure that concerns an order placed, or one that may have been.

    ``details`` holds what the result should carry besides msg/error/message:
    ``task_id`` when known, ``uncertain`` (True) when the provider was asked
    to order and the run failed after that (see ``_may_exist``), and after
    waiting ``order_status``, ``polls``, ``elapsed``.
    """

    def __init__(self, message, code=1, **details):
        super(OrderError, self).__init__(message, code)
        self.details = details


class UnknownOutcome(OrderError):
    """A run ordering this label died after calling the provider's ``order``."""


# What an order run did: ``changed``, ``task_id`` (text, None when nothing
# was placed), ``params`` (the data under ``params``), ``order_status`` (the
# order's status reply, when it was asked for).
Outcome = collections.namedtuple('Outcome', 'changed task_id params order_status', defaults=(None, None, None))


def bookkeeping_dir(holder):
    return os.path.join(_tasks.tasks_dir(holder), _tasks.BOOKKEEPING_DIR)


def label_path(holder, label):
    return os.path.join(bookkeeping_dir(holder), LABELS_DIR, label)


def ordering_path(holder, label):
    return os.path.join(bookkeeping_dir(holder), ORDERING_DIR, label)


_BOOKKEEPING_PARTS = (_tasks.TASKS_DIR, _tasks.BOOKKEEPING_DIR)


def _bookkeeping(holder, part, create=False):
    """A descriptor of ``tasks/.bxenv/<part>`` (no link followed)."""
    return _files.folder(holder, *(_BOOKKEEPING_PARTS + (part,)), create=create)


def config_path(holder, label):
    return os.path.join(bookkeeping_dir(holder), CONFIGS_DIR, label)


def read_label(holder, label):
    """The task_id a label names, or None when there is no such label."""
    path = label_path(holder, label)
    try:
        data = _files.read_under(holder, _BOOKKEEPING_PARTS + (LABELS_DIR,), label, path)
    except (IOError, OSError) as exc:
        raise BxError('bxenv: cannot read order label %s: %s' % (path, reason(exc)))
    if data is None:
        return None
    content = data.decode('utf-8', 'replace')
    # One trailing newline is allowed (a label written by hand with echo).
    task_id = content[:-1] if content.endswith('\n') else content
    problem = id_problem(task_id)
    if problem:
        raise OrderError('bxenv: order label %s names task_id=%r, which %s, so it has no task file; the '
                         'provider placed that order: follow it there, then remove %s to order again'
                         % (path, task_id, problem, path), task_id=task_id)
    return task_id


def write_label(holder, label, task_id, config_id=None):
    """Write the label file atomically (temp file + rename in the same folder),
    after the configuration it was ordered with, when known."""
    if config_id is not None:
        with _bookkeeping(holder, CONFIGS_DIR, create=True) as fd:
            _files.write(fd, label, config_id.encode('utf-8'), config_path(holder, label), mode=0o640)
    with _bookkeeping(holder, LABELS_DIR, create=True) as fd:
        _files.write(fd, label, task_id.encode('utf-8', 'surrogateescape'), label_path(holder, label), mode=0o640)


def read_label_config(holder, label):
    """The config_id the order of ``label`` was placed with, or None when not
    recorded (a label written by ``bx-provider`` or an older version)."""
    try:
        data = _files.read_under(holder, _BOOKKEEPING_PARTS + (CONFIGS_DIR,), label, config_path(holder, label))
    except (IOError, OSError):
        return None
    return None if data is None else data.decode('utf-8', 'replace')


def labels(holder):
    """``{label: task_id}`` of every label of a provider (an unreadable one maps to None)."""
    try:
        with _bookkeeping(holder, LABELS_DIR) as fd:
            names = sorted(_files.entries(fd))
    except (OSError, _files.UnsafeFile):
        return {}
    found = {}
    for label in names:
        try:
            found[label] = read_label(holder, label)
        except BxError:
            found[label] = None
    return found


def has_marker(holder, label):
    """Whether a run ordering ``label`` stopped before its outcome was known
    (or runs now: only the label's lock tells them apart)."""
    try:
        return _files.read_under(holder, _BOOKKEEPING_PARTS + (ORDERING_DIR,), label, ordering_path(holder, label)) is not None
    except (OSError, _files.UnsafeFile):
        return True  # something unreadable there: never taken as "no order in flight"


def order_record(providers, name, config_id):
    """docs/protocol.md 6.4 steps 1-3: check the input, probe, return the record to order with."""
    if config_id is None:
        raise BxError(_messages.ORDER_NO_CONFIG_ID)
    check_id(config_id, 'config_id')
    return _queries.usable_record(providers, name, 'order', _messages.ORDER)


def save_order(record, reply):
    """Check the ``order`` reply's task_id and write its empty task file
    (docs/protocol.md 6.4 steps 5-8); returns the reply."""
    name = record['name']
    task_id = reply.get('task_id')
    if task_id in (None, ''):
        raise BxError(_messages.ORDER_NO_TASK_ID % name)
    # A provider's id becomes a file name: it is checked like the user's.
    check_id(str(task_id), 'task_id returned by provider %s' % name)
    holder = record['files']['holder']
    try:
        _tasks.write_task_file(holder, str(task_id), '')
    except (IOError, OSError, _files.UnsafeFile) as exc:
        raise BxError(_messages.ORDER_CANNOT_SAVE
                      % (_tasks.task_path(holder, str(task_id)), reason(exc)))
    return reply


def provider_order_lock(providers, name):
    """The order lock of provider ``name``, for ``with``.

    The holder keeps it for one order call at most (the provider timeout
    plus the kill grace), so a waiter gives up only well after that.
    Uninstall and upgrade take it too, so they never race an order.
    """
    return provider_lock(providers.root, name, 'order',
                         timeout=DEFAULT_LOCK_TIMEOUT + providers.timeout + KILL_GRACE)


def label_lock(providers, name, label):
    """The lock of one label of provider ``name``: one run checks and orders it at a time."""
    return provider_lock(providers.root, name, 'label.' + label,
                         timeout=DEFAULT_LOCK_TIMEOUT + providers.timeout + KILL_GRACE)


@contextlib.contextmanager
def order_lock(providers, record, label=None):
    """Hold the provider's order lock shared and ``label``'s alone; fail if
    the provider went away meanwhile."""
    name = record['name']
    with provider_lock(providers.root, name, 'order', timeout=DEFAULT_LOCK_TIMEOUT + providers.timeout + KILL_GRACE,
                       shared=True):
        with contextlib.nullcontext() if label is None else label_lock(providers, name, label):
            if not os.path.isfile(record['files']['execute']):
                raise BxError('bxenv: provider %s was removed while this order waited for it; nothing was ordered'
                              % name)
            yield


def current_status(providers, name, task_id):
    """The order's status reply with the task file laid over it (docs/protocol.md 6.5);
    a failure is an OrderError naming the task."""
    try:
        return _queries.order_status_reply(providers, name, task_id)
    except OrderError:
        raise
    except BxError as exc:
        raise OrderError(exc.message, exc.code, task_id=task_id)


def _existing(providers, name, holder, label, task_id, warnings):
    """The outcome for a label that already names an order."""
    if _tasks.read_task_file(holder, task_id) is None:
        warnings.append('order label %s names task_id=%s, but its task file %s is missing; '
                        'returning that order anyway (remove %s to order again)'
                        % (label, task_id, _tasks.task_path(holder, task_id), label_path(holder, label)))
    reply = current_status(providers, name, task_id)
    return Outcome(False, task_id, {'provider_order': {name: reply}}, reply)


def _may_exist(message, record, task_id=None, where=None, label=None):
    """The error of an order run that called the provider's ``order`` and then
    failed: the provider may have placed the order (docs/protocol.md 6.4).

    The message says so and names the task_id when one is known (``where``:
    the file that records it), or, with a ``label`` whose marker stays, that
    no run with that label orders again; ``uncertain`` and ``task_id`` go
    into the module's result.
    """
    if task_id is None:
        message = _messages.ORDER_MAYBE_PLACED % (message, record['name'])
    else:
        message = _messages.ORDER_MAYBE_PLACED_AS % (
            message, record['name'], task_id, ' (recorded in %s)' % where if where else '')
    if label is not None:
        message += '; no run with name=%s orders again while %s exists' % (
            label, ordering_path(record['files']['holder'], label))
    details = {'uncertain': True} if task_id is None else {'uncertain': True, 'task_id': task_id}
    return OrderError(message, **details)


def _order(providers, record, config_id, label=None, forget=False):
    """Call the provider's ``order`` and record what it placed: the task file,
    and with a ``label`` the label; returns ``(task_id, params)``.

    With a label, a marker exists while the outcome is unknown, so that a run
    killed after the call, or an order whose reply names no task, cannot lead
    the next run with this label to buy a second server (see ``_mark``).
    Every failure after the call is ``_may_exist``, except the original's
    "doesn't return task_id" (a valid reply that names no order; the marker
    stays all the same).
    """
    holder = record['files']['holder']
    token = None
    if label is not None:
        token = _mark(providers, record, holder, label, config_id, forget)
    try:
        reply = providers.call(record, 'order', config_id, environ=None if token is None else {TOKEN_VARIABLE: token})
    except ErrorReply:
        if label is not None:
            _remove_marker(holder, label)  # the provider answered with an error: nothing was ordered
        raise
    except BrokenReply as exc:
        # Timed out, or a reply that breaks the protocol: the order may exist.
        # A task_id readable from the reply is recorded as any other.
        task_id = (exc.reply or {}).get('task_id')
        if isinstance(task_id, bool) or not isinstance(task_id, (str, int)) or id_problem(str(task_id)):
            raise _may_exist(exc.message, record, label=label)  # the marker stays
        _record(record, holder, label, config_id, exc.reply)
        raise _may_exist(exc.message, record, str(task_id), _tasks.task_path(holder, str(task_id)))
    return _record(record, holder, label, config_id, reply)


def _record(record, holder, label, config_id, reply):
    """Write the task file and the label of the order ``reply`` names; ``(task_id, params)``.

    A task_id that cannot be stored as a task file is still recorded in the
    label, so the next run with this label finds it instead of ordering.
    """
    task_id = reply.get('task_id')
    try:
        save_order(record, reply)
    except BxError as exc:
        if task_id in (None, ''):
            raise  # the original's "doesn't return task_id"
        task_id = str(task_id)
        if label is not None:
            _label(holder, label, task_id, config_id)
        raise _may_exist(exc.message, record, task_id, None if label is None else label_path(holder, label))
    task_id = str(task_id)
    if label is not None:
        _label(holder, label, task_id, config_id)
    return task_id, {'provider_order': {record['name']: reply}}


def order_token(root, name, label):
    """A new token for an order of ``label``: from the appliance (its machine
    id and providers root), the provider, the label and a random part, so a
    label removed and ordered again gets a new order (docs/protocol.md section 3, order_token)."""
    try:
        machine = _files.read_file(MACHINE_ID, limit=4096)
    except (OSError, _files.UnsafeFile):
        machine = b''  # no machine id: the providers root and the random part still set tokens apart
    parts = [machine.strip(), os.path.realpath(root).encode('utf-8', 'surrogateescape'),
             name.encode('utf-8'), label.encode('utf-8'), os.urandom(16)]
    return hashlib.sha256(b'\0'.join(parts)).hexdigest()[:40]


def _mark(providers, record, holder, label, config_id, forget=False):
    """Create the marker of ``label``; returns the token to order with (None
    when the provider takes no ``order_token``).

    A marker an earlier run left (it died after calling ``order``: a live
    run holds the label's lock) fails as ``unknown_outcome``, unless the
    provider takes tokens (its token is sent again, which returns the order
    it placed, if any) or ``forget`` says the operator checked that no order
    was placed.
    """
    marker = ordering_path(holder, label)
    token = order_token(providers.root, record['name'], label) if providers.offers(record, 'order_token') else None
    try:
        with _bookkeeping(holder, ORDERING_DIR, create=True) as fd:
            _files.write(fd, label, (token or '').encode('ascii'), marker, mode=0o640, exclusive=not forget)
        return token
    except (IOError, OSError) as exc:
        if exc.errno != errno.EEXIST:
            raise BxError('bxenv: cannot write %s: %s' % (marker, reason(exc)))
    left = (_files.read_under(holder, _BOOKKEEPING_PARTS + (ORDERING_DIR,), label, marker) or b'').decode('ascii', 'replace')
    if token is not None and _TOKEN.match(left):
        return left
    raise UnknownOutcome('bxenv: an earlier run ordering name=%s (config_id=%s) stopped after calling provider %s, '
                         'so the provider may have placed that order without a record here: if it did, take it over '
                         'by its task_id; if it did not, remove %s (bx_pool: list the name in forget_pending) to '
                         'order again' % (label, config_id, record['name'], marker), uncertain=True)


def _label(holder, label, task_id, config_id=None):
    """Write the label, then remove the marker: the order is recorded."""
    try:
        write_label(holder, label, task_id, config_id)
    except (IOError, OSError) as exc:
        raise OrderError('bxenv: order task_id=%s was placed, but its label %s could not be saved: %s'
                         % (task_id, label_path(holder, label), reason(exc)), task_id=task_id, uncertain=True)
    _remove_marker(holder, label)


def _remove_marker(holder, label):
    with _bookkeeping(holder, ORDERING_DIR) as fd:
        _files.remove(fd, label)


def place(providers, name, config_id, label=None, check_mode=False, warnings=None, forget=False, record=None):
    """Place an order, or find the one ``label`` names; returns an Outcome.

    In check mode nothing that changes state runs (``help`` and
    ``order_status`` only) and nothing is written. ``forget``: a marker an
    earlier run left for ``label`` is replaced (see ``_mark``). ``record``:
    the provider, probed already (``order_record``).
    """
    warnings = [] if warnings is None else warnings
    if label is not None:
        check_id(label, 'name')
    if record is None:
        record = order_record(providers, name, config_id)
    else:
        check_id(config_id, 'config_id')
    holder = record['files']['holder']
    if check_mode:
        task_id = None if label is None else read_label(holder, label)
        if task_id is None:
            return Outcome(True)
        return _existing(providers, name, holder, label, task_id, warnings)
    with order_lock(providers, record, label):
        task_id = None if label is None else read_label(holder, label)
        if task_id is None:
            task_id, params = _order(providers, record, config_id, label, forget)
            return Outcome(True, task_id, params)
    # The status call runs outside the lock: it changes nothing.
    return _existing(providers, name, holder, label, task_id, warnings)


def wait(providers, name, task_id, timeout=DEFAULT_WAIT_TIMEOUT, interval=DEFAULT_POLL_INTERVAL,
         clock=time.monotonic, sleep=time.sleep):
    """Poll the order's status until it is final or ``timeout`` seconds pass.

    Returns ``(reply, polls, elapsed)`` when the status is ``finished`` (or
    ``complete``: the appliance already added the server). Raises OrderError
    when it is ``error`` or ``failed``, when a status call fails (at once: a
    provider that cannot report is not waited on), and on the timeout. The
    order itself is never placed again.
    """
    started = clock()
    polls = 0
    reply = None
    while True:
        try:
            reply = current_status(providers, name, task_id)
        except OrderError as exc:
            exc.details.update(polls=polls + 1, elapsed=round(clock() - started, 2), order_status=reply)
            raise
        polls += 1
        elapsed = clock() - started
        state = str(reply.get('status'))
        details = dict(task_id=task_id, polls=polls, elapsed=round(elapsed, 2), order_status=reply)
        if state in DONE:
            return reply, polls, round(elapsed, 2)
        if state in _queries.FAILED_STATUSES:
            message = reply.get('message') or reply.get('error_message') or '(no message)'
            raise OrderError('bxenv: order task_id=%s of provider %s %s: %s' % (task_id, name, state, message),
                             **details)
        if elapsed >= timeout:
            raise OrderError('bxenv: order task_id=%s of provider %s is still %s after %g s (wait_timeout=%s); '
                             'follow it with bitrix.bxenv.bx_provider_info query=order_status and add it to '
                             'the pool with bitrix.bxenv.bx_order_to_host once it is finished'
                             % (task_id, name, state, details['elapsed'], timeout), **details)
        sleep(min(interval, timeout - elapsed))


def place_and_wait(providers, name, config_id, label=None, check_mode=False, wait_for=None, warnings=None):
    """``place``, then with ``wait_for`` (``{'timeout', 'interval'}`` of
    ``wait``; never in check mode) wait for the order. Returns ``(outcome,
    waited)``: ``waited`` is ``{'polls', 'elapsed'}`` after a wait, else empty.

    After a wait ``order_status`` is the last status; ``params`` stay the
    ``order`` reply of a new order and become the status document for one
    that ``label`` named. A failed wait's OrderError carries ``params`` too.
    """
    outcome = place(providers, name, config_id, label, check_mode, warnings)
    if not wait_for or check_mode:
        return outcome, {}
    try:
        reply, polls, elapsed = wait(providers, name, outcome.task_id, clock=time.monotonic, sleep=time.sleep,
                                     **wait_for)
    except OrderError as exc:
        exc.details.setdefault('params', outcome.params)
        raise
    params = outcome.params if outcome.changed else {'provider_order': {name: reply}}
    return outcome._replace(order_status=reply, params=params), {'polls': polls, 'elapsed': elapsed}
