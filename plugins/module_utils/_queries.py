# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The bx-provider queries (list, status, configs, order_status, orders_list), as data.

Each query returns the data the original prints under ``params.<kind>``;
``QUERIES`` names the kind. An error is raised as BxError. Front ends (the
modules and the ``bx-provider`` command) turn both into their output with
``_output``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_id, check_provider_name
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import UNUSABLE
from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _tasks

DEFAULT_WORKERS = 8
# Order statuses that end an order badly (docs/protocol.md, difference 6).
FAILED_STATUSES = ('error', 'failed')
# 'dircetory' (sic) in the messages below: the original's text, kept for
# compatibility (docs/protocol.md section 11).


def parallel_map(func, items, workers):
    """``[func(i) for i in items]`` on at most ``workers`` threads, in order.

    ``workers`` 1 is strictly one after another. ``func`` must not raise.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


def usable_record(providers, name, option, function):
    """Probe ``name`` and check it may run ``option`` (``check_usable``)."""
    check_provider_name(name)
    return check_usable(providers.probe(name), option, function)


def check_usable(record, option, function):
    """``record``, unless its provider is unusable or lacks ``option``: then the
    original's message, which names the original's ``function`` (``_messages``)."""
    if record['status'] in UNUSABLE:
        raise BxError(_messages.UNUSABLE % (function, record['name'], record['status']))
    if not record['options'][option]:
        raise BxError(_messages.UNSUPPORTED % (function, record['name'], option))
    return record


def list_providers(providers, workers=DEFAULT_WORKERS):
    """docs/protocol.md 6.1: every provider's status; broken ones become error entries.

    A folder whose name the collection refuses as a provider name is an error
    entry naming the problem, so an operator sees it is there.
    """
    try:
        names, refused = providers.folders()
    except OSError as exc:
        raise BxError(_messages.LIST_CANNOT_OPEN_ROOT % (providers.root, reason(exc)))

    def entry(name):
        try:
            record = providers.probe(name)
        except BxError as exc:
            return exc.document()
        if record['status'] == 'not_exists':
            return {'error': 1, 'message': _messages.PROVIDER_NOT_EXIST % name}
        return {'status': record['status']}

    entries = dict(zip(names, parallel_map(entry, names, workers)))
    for name, problem in refused.items():
        entries[_printable(name)] = {'error': 1, 'message': _refused_message(name, problem)}
    return entries


def _refused_message(name, problem):
    return _messages.INVALID_ID % ('provider name', repr(_printable(name)), problem)


def status(providers, name):
    """docs/protocol.md 6.2: the provider record."""
    check_provider_name(name)
    record = providers.probe(name)
    if record['status'] == 'not_exists':
        raise BxError(_messages.PROVIDER_NOT_EXIST % name)
    return {name: record}


def configs(providers, name):
    """docs/protocol.md 6.3: the provider's configs reply."""
    record = usable_record(providers, name, 'configs', _messages.CONFIGS)
    return {name: providers.call(record, 'configs')}


def checked_status(providers, record, task_id, function):
    """``order_status <task_id>`` with its status checked (docs/protocol.md 6.5 step 4-5)."""
    reply = providers.call(record, 'order_status', task_id)
    if reply.get('status') in (None, ''):
        raise BxError(_messages.NO_STATUS % (function, record['name'], task_id))
    return reply


def order_status_reply(providers, name, task_id):
    """docs/protocol.md 6.5: the provider's status reply with the task file laid over it."""
    if task_id is None:
        raise BxError(_messages.NO_TASK_ID % _messages.ORDER_STATUS)
    check_id(task_id, 'task_id')
    record = usable_record(providers, name, 'order_status', _messages.ORDER_STATUS)
    reply = checked_status(providers, record, task_id, _messages.ORDER_STATUS)
    return _tasks.overlay_from_file(reply, record['files']['holder'], task_id)


def order_status(providers, name, task_id):
    return {name: order_status_reply(providers, name, task_id)}


def _printable(name):
    """A task file name as JSON-safe text (names on disk need not be UTF-8)."""
    return name.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def _order_entry(providers, record, task_id):
    """One ``orders_list`` entry (docs/protocol.md 6.6 step 4).

    The task file is read first (safely: a link or FIFO planted in ``tasks/``
    is an error entry naming it), so junk never reaches the provider.
    """
    holder = record['files']['holder']
    try:
        mtime = _tasks.task_mtime(holder, task_id)
    except OSError as exc:
        return {'error': 1, 'message': _messages.TASK_FILE_CANNOT_OPEN % (_tasks.task_path(holder, task_id), reason(exc))}
    try:
        check_id(task_id, 'task_id')
        content = _tasks.read_task_file(holder, task_id)
        reply = checked_status(providers, record, task_id, _messages.ORDER_STATUS)
        if content is not None:
            _tasks.overlay(reply, content)
    except BxError as exc:
        entry = exc.document()
        entry['mtime'] = mtime
        return entry
    return {
        'error': reply.get('error') or 0,
        'message': reply.get('message') or '',
        'status': reply['status'],
        'mtime': mtime,
    }


def _provider_task_ids(record):
    """Task ids of a usable record; raises BxError as the original (6.6 steps 1-3)."""
    check_usable(record, 'order_status', _messages.LIST_ORDERS)
    try:
        return _tasks.list_task_ids(record['files']['holder'])
    except (OSError, _files.UnsafeFile) as exc:
        raise BxError(_messages.TASKS_CANNOT_OPEN
                      % (_tasks.tasks_dir(record['files']['holder']), reason(exc)))


def _orders_of(providers, records, workers):
    """``{name: {task_id: entry} or None}`` with every status call in one pool."""
    jobs = [(record, task_id) for record, ids in records for task_id in ids]
    entries = parallel_map(lambda job: _order_entry(providers, job[0], job[1]), jobs, workers)
    result = dict((record['name'], None) for record, dummy in records)
    for (record, task_id), entry in zip(jobs, entries):
        if result[record['name']] is None:
            result[record['name']] = {}
        result[record['name']][_printable(task_id)] = entry
    return result


def orders_list(providers, name=None, workers=DEFAULT_WORKERS, warnings=None):
    """docs/protocol.md 6.6: the orders of one provider, or of every usable one.

    Over all providers, unusable ones are left out silently as in the
    original; a provider that breaks the protocol, and a folder whose name is
    not a valid provider name, are left out too and named in ``warnings`` (a
    list to append to) instead of killing the whole list.
    """
    if name:
        check_provider_name(name)
        record = providers.probe(name)
        ids = _provider_task_ids(record)
        # The original prints {"provider_order_list":null} for one provider
        # with no task files (over all providers such a provider is null).
        return _orders_of(providers, [(record, ids)], workers) if ids else None
    try:
        names, refused = providers.folders()
    except OSError as exc:
        raise BxError(_messages.ORDERS_LIST_CANNOT_OPEN_ROOT % (providers.root, reason(exc)))

    def left_out(provider, cause):
        if warnings is not None:
            warnings.append('provider %s left out of orders_list: %s' % (_printable(provider), cause))

    for folder in sorted(refused):
        left_out(folder, _refused_message(folder, refused[folder]))

    def probe(provider):
        try:
            record = providers.probe(provider)
        except BxError as exc:
            left_out(provider, exc.message)
            return None
        try:
            return record, _provider_task_ids(record)
        except BxError:
            return None

    records = [found for found in parallel_map(probe, names, workers) if found is not None]
    return _orders_of(providers, records, workers)


# The read-only queries, for bx_provider_info and the command alike:
# name -> (kind of data under ``params``, function(providers, args, warnings)).
QUERIES = {
    'list': ('providers', lambda providers, args, warnings: list_providers(providers, args['workers'])),
    'status': ('provider_options', lambda providers, args, warnings: status(providers, args['provider'])),
    'configs': ('provider_configs', lambda providers, args, warnings: configs(providers, args['provider'])),
    'order_status': ('provider_order', lambda providers, args, warnings: order_status(
        providers, args['provider'], args['task_id'])),
    'orders_list': ('provider_order_list', lambda providers, args, warnings: orders_list(
        providers, args['provider'], args['workers'], warnings)),
}
