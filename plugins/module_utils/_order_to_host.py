# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""``order_to_host``: add a finished order's server to the pool (docs/protocol.md 6.7, 8).

With the deliberate differences of docs/protocol.md: the status is compared as a string; ``complete`` is
success without change; ``error:`` can be retried; every refusal (this
host, a server already in the pool, a refused name, a missing pool or key)
comes before any contact with the server and leaves the task file as it
was, so the order can be added once the cause is fixed; the key is copied
with OpenSSH alone; one add per order runs at a time (a lock per provider
and task), so a double click adds once; an add interrupted after the pool
write is finished on re-run instead of adding the server twice.

The key copy is a function passed in (``copy_key(server, password,
private_key, public_key)``, with an optional ``ready()`` that raises when it
cannot run here) so this flow runs the same with real SSH, in
check mode (not called) and in tests. ``add_order`` is the whole run that
the module and ``bx-provider -a order_to_host`` both make: the optional wait,
the add with the OpenSSH key copy (``_ssh.key_copier``), and the pool facts
of the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import errno
import hashlib
import json
import os

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, one_line, shown
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_id
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import provider_lock
from ansible_collections.bitrix.bxenv.plugins.module_utils import (
    _files, _messages, _naming, _orders, _pool, _queries, _ssh, _tasks,
)

JOURNAL_DIR = 'pool'


def journal_path(holder, task_id):
    """Where an add in progress records which server it is adding for the task."""
    return os.path.join(_tasks.tasks_dir(holder), _tasks.BOOKKEEPING_DIR, JOURNAL_DIR, task_id)


_JOURNAL_PARTS = (_tasks.TASKS_DIR, _tasks.BOOKKEEPING_DIR, JOURNAL_DIR)


def _journal(holder, create=False):
    return _files.folder(holder, *_JOURNAL_PARTS, create=create)


def _read_journal(holder, task_id):
    try:
        data = _files.read_under(holder, _JOURNAL_PARTS, task_id, journal_path(holder, task_id))
        return json.loads(data.decode('utf-8')) if data else None
    except (IOError, OSError, ValueError, BxError):
        return None  # no usable journal: the add starts from the beginning


def _write_journal(holder, task_id, server):
    with _journal(holder, create=True) as fd:
        _files.write(fd, task_id, json.dumps({'server': server}).encode('utf-8'), journal_path(holder, task_id),
                     mode=0o640)


def _remove_journal(holder, task_id):
    try:
        with _journal(holder) as fd:
            _files.remove(fd, task_id)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def add_lock(providers, name, task_id):
    """The lock that lets one add of order ``task_id`` of provider ``name`` run
    at a time, for ``with``: a double click waits, then finds the order complete.

    A ``provider_lock`` of kind ``add.<task_id>`` (a long id is hashed, so
    the lock file name stays short).
    """
    raw = task_id.encode('utf-8', 'surrogateescape')
    return provider_lock(providers.root, name, 'add.' + (task_id if len(raw) <= 64 else
                                                         hashlib.sha256(raw).hexdigest()[:32]))


def host_summary(pool_dir, host):
    """The ``host`` result: name, address, connect, groups, host_vars_file."""
    host_vars_file = os.path.join(pool_dir, 'host_vars', host['name'])
    host_vars = _pool.load_yaml_file(host_vars_file) or {}
    return {
        'name': host['name'],
        'address': host_vars.get('bx_netaddr', host.get('address')),
        'connect': host_vars.get('bx_connect'),
        'groups': sorted(host.get('groups', [_pool.HOSTS_GROUP])),
        'host_vars_file': host_vars_file,
    }


def decide(record, task_id, reply):
    """``finished``, ``pending``, or a BxError for a status that ends the order.

    docs/protocol.md, difference 6: the status is compared as text, never read as a number.
    """
    status = reply['status']
    text = status if isinstance(status, str) else json.dumps(status)
    if text == 'finished':
        return 'finished'
    if text in _queries.FAILED_STATUSES:
        raise BxError(_messages.TO_HOST_FAILED
                      % (task_id, record['name'], text, shown(reply.get('message') or 'no message from the provider')))
    if text.isdigit():
        raise BxError(_messages.UNKNOWN_STATUS % (text, record['name']))
    return 'pending'


class PoolTarget(object):
    """Where and how a server is added: the pool folder, an inventory name
    to use instead of the derived one, the key pair to copy (default: the
    pool key of ``ansible.cfg``) and a DNS resolver (tests pass their own)."""

    def __init__(self, pool_dir, hostname=None, key_files=None, resolver=None):
        self.pool_dir = pool_dir
        self.hostname = hostname
        self.key_files = key_files
        self.resolver = resolver

    def keys(self):
        return self.key_files or _pool.pool_key(self.pool_dir)


# What ``order_to_host`` did, in one shape. ``state``: ``pending`` (not
# finished yet: ``reply``), ``complete`` (added before: ``message`` is the
# original's "already" text), ``added`` or ``resumed`` (an interrupted add
# finished); ``host`` and ``diff`` when known. ``_output.add_document`` turns
# it into what bx-provider prints.
AddResult = collections.namedtuple('AddResult', 'state name changed message reply server host diff',
                                   defaults=(False, None, None, None, None, None))


def order_to_host(providers, name, task_id, target, copy_key, retry_failed=False, check_mode=False):
    """Run ``order_to_host`` for pool ``target`` and return an AddResult.

    ``copy_key(server, password, private_key, public_key)`` puts the pool key
    on the server. Raises BxError with the original's code and message.
    The task file changes only when the add itself ran and failed
    (``error: <message>``), or when the provider's ``server`` can never be
    added (neither an address nor a DNS name); a problem found before any
    contact with the server leaves it as it was (docs/protocol.md 7, 8).
    """
    if task_id is None:
        raise BxError(_messages.NO_TASK_ID % _messages.TO_HOST)
    check_id(task_id, 'task_id')
    record = _queries.usable_record(providers, name, 'order_status', _messages.TO_HOST)
    reply = _queries.checked_status(providers, record, task_id, _messages.TO_HOST)
    return add_finished(providers, record, task_id, reply, target, copy_key, retry_failed, check_mode)


def add_finished(providers, record, task_id, reply, target, copy_key, retry_failed=False, check_mode=False):
    """``order_to_host`` from the order's status ``reply`` (provider ``record``
    probed, ``task_id`` checked): the add when it is finished."""
    name = record['name']
    if decide(record, task_id, reply) == 'pending':
        return AddResult('pending', name, reply=reply)
    password = reply.get('server_password')
    password = '' if password is None else str(password)  # "0" is a password (docs/protocol.md, difference 10)
    # Check mode writes nothing, so it needs no lock; a real add reads the
    # task file only once no other add of this order runs.
    with contextlib.nullcontext() if check_mode else add_lock(providers, name, task_id):
        return _add(name, task_id, reply['server'], password, record['files']['holder'], target, copy_key,
                    retry_failed, check_mode)


def _add(name, task_id, server, password, holder, target, copy_key, retry_failed, check_mode):
    """The pool-add gate and procedure (docs/protocol.md 6.7, 8) for a finished order."""
    path = _tasks.task_path(holder, task_id)
    try:
        content = _tasks.read_task_file(holder, task_id)
    except BxError as exc:
        raise BxError(_messages.TO_HOST_CANNOT_OPEN % (path, exc.message))
    if content is None:
        raise BxError(_messages.TO_HOST_NOT_SAVED % task_id)
    state = _tasks.task_state(content)
    already = _messages.TO_HOST_ALREADY % (task_id, one_line(content))
    if state == 'complete':
        host = _pool.find_host(_pool.read_pool(target.pool_dir), address=server)
        return AddResult('complete', name, message=already, server=server,
                         host=None if host is None else host_summary(target.pool_dir, host))
    if state == 'error' and not retry_failed:
        raise BxError(already)
    if state == 'unknown':
        raise BxError(_messages.TO_HOST_UNEXPECTED
                      % (task_id, path, content[:200]))

    host = _resume(target.pool_dir, holder, task_id, server)
    if host is not None:
        host = host_summary(target.pool_dir, host)
        result = AddResult('resumed', name, True, _would_add(server, host) if check_mode else _added(server),
                           server=server, host=host)
    else:
        # Before any contact: a refusal leaves the task file as it was, so
        # the add runs again once its cause is fixed; only a server value that
        # no fix here can make valid fails the order.
        _naming.refuse_this_host(server)
        try:
            _naming.server_kind(server)
        except BxError as exc:
            _failed(holder, task_id, exc, check_mode)
        plan = _pool.plan_add(server, target.pool_dir, hostname=target.hostname, resolver=target.resolver)
        keys = target.keys() if password else None
        if password and hasattr(copy_key, 'ready'):
            copy_key.ready()  # a missing ssh client is a local problem too
        if check_mode:
            return _planned(name, server, plan)._replace(message=_would_add(server, plan))
        try:
            if password:
                copy_key(server, password, *keys)
            _write_journal(holder, task_id, server)
            result = _planned(name, server, _pool.add_host(server, target.pool_dir, hostname=target.hostname,
                                                           resolver=target.resolver, resolved=plan['resolved']))
        except BxError as exc:
            # Nothing reached the pool (the hosts line is written last).
            _failed(holder, task_id, exc, check_mode)
    if not check_mode:
        _tasks.write_task_file(holder, task_id, 'complete: ' + _added(server))
        _remove_journal(holder, task_id)
    return result


def _added(server):
    return _messages.SERVER_ADDED % server


def _would_add(server, host):
    """What check mode says instead of ``_added``."""
    return 'would add Server=%s to the pool as %s (groups: %s)' % (server, host['name'], ', '.join(host['groups']))


def _failed(holder, task_id, exc, check_mode):
    """Record a failed add in the task file (``error: <message>``) and raise it."""
    if not check_mode:
        _tasks.write_task_file(holder, task_id, 'error: %s' % exc.message)
        _remove_journal(holder, task_id)
    raise exc


def _resume(pool_dir, holder, task_id, server):
    """The pool host an interrupted add of this task already wrote, if any."""
    entry = _read_journal(holder, task_id)
    if not entry or entry.get('server') != server:
        return None
    return _pool.find_host(_pool.read_pool(pool_dir), address=server)


def _planned(name, server, plan):
    """The result of an add from ``_pool``'s plan (what was, or would be, written)."""
    host = dict((key, plan[key]) for key in ('name', 'address', 'connect', 'groups', 'host_vars_file'))
    diff = {'before': plan['hosts_before'], 'after': plan['hosts_after'],
            'before_header': plan['hosts_file'], 'after_header': plan['hosts_file']}
    return AddResult('added', name, True, _added(server), server=server, host=host, diff=diff)


# One ``add_order`` run, as the module and the command report it: ``added``
# (the AddResult), ``waited`` (``polls``, ``elapsed``, ``status`` after a
# wait, else empty) and, for a finished order, the pool's ``known_hosts_file``,
# ``setup_playbook`` (``_pool.setup_playbook``) and ``pool_key_file`` (None
# when the pool names none). ``_output.add_result`` makes the module result
# of it, ``_output.add_document`` (of ``added``) the command's document.
AddRun = collections.namedtuple('AddRun', 'task_id added waited known_hosts_file setup_playbook pool_key_file',
                                defaults=(None, None, None))


def add_order(providers, name, task_id, pool_dir, ssh=None, key_file=None, hostname=None, retry_failed=False,
              check_mode=False, wait=None, resolver=None):
    """The order-to-host run of the module and of ``bx-provider -a order_to_host``; returns an AddRun.

    With ``wait`` (``{'timeout', 'interval'}`` of ``_orders.wait``) it first
    polls until the order is finished. The key is copied with
    ``_ssh.key_copier`` (``ssh``: its options, such as ``timeout``, ``user``,
    ``port``); ``key_file`` is the private key to copy instead of the pool's.
    A BxError carries ``task_id`` and what the wait saw in its ``details``.
    """
    waited = {}
    target = PoolTarget(pool_dir, hostname=hostname, key_files=(key_file, key_file + '.pub') if key_file else None,
                        resolver=resolver)
    try:
        if wait:
            reply, polls, elapsed = _orders.wait(providers, name, task_id, **wait)
            waited = {'polls': polls, 'elapsed': elapsed, 'status': reply.get('status')}
        copy_key = _ssh.key_copier(providers.run, pool_dir, **(ssh or {}))
        added = order_to_host(providers, name, task_id, target, copy_key, retry_failed=retry_failed,
                              check_mode=check_mode)
    except BxError as exc:
        exc.details = dict(dict(waited, task_id=task_id), **getattr(exc, 'details', {}))
        raise
    if added.state == 'pending':
        return AddRun(task_id, added, waited)
    return AddRun(task_id, added, waited, _ssh.known_hosts_path(pool_dir), _pool.setup_playbook(pool_dir),
                  pool_key_file(target))


def pool_key_file(target):
    """The private key that reaches pool servers, or None when the pool names none."""
    try:
        return target.keys()[0]
    except BxError:
        return None
