# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The provider author kit's checker (``bx_provider_check``, ``bx-provider-check``).

Tells a plugin's author whether it works with the collection, by running
the collection's own parts on it: the runner, ``Providers.call`` with its
reply checks and schemas, and for an archive the checks and extraction of
install. The plugin runs from a copy in a private temporary providers root
(removed afterwards), so nothing of the author's is changed. Every finding
is collected; levels ``static`` < ``protocol`` < ``robust`` < ``order``, and
only ``order`` with ``allow_order`` ever places an order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _files, _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_calls import Caller
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_catalog import BY_ID, LEVELS, RESULTS, up_to
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_runs import (
    Findings, run_order, run_protocol, run_robust,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, quoted
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import id_problem
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import DEFAULT_TIMEOUT, check_settings

DEFAULT_LEVEL = 'robust'
DEFAULT_REPEAT = 3
DEFAULT_MAX_ORDERS = 1
DEFAULT_WAIT_TIMEOUT = 1800
DEFAULT_POLL_INTERVAL = 10
MAX_REPEAT = 100
MAX_ORDERS = 100
_RUNS = ('protocol', 'robust', 'order')


class UsageError(BxError):
    """The check was asked wrongly, or the path cannot be checked at all."""


def check(path, level=DEFAULT_LEVEL, allow_order=False, config_id=None, max_orders=DEFAULT_MAX_ORDERS,
          repeat=DEFAULT_REPEAT, timeout=DEFAULT_TIMEOUT, waivers=None, wait_timeout=DEFAULT_WAIT_TIMEOUT,
          poll_interval=DEFAULT_POLL_INTERVAL, max_output=_runner.DEFAULT_MAX_OUTPUT):
    """Check the plugin folder or archive ``path``; returns the report
    (docs/schemas/check-report.json). Raises UsageError for a wrong request."""
    waived = _waivers(waivers)
    _options(level, allow_order, config_id, max_orders, repeat, timeout, wait_timeout, poll_interval, max_output)
    path = os.path.abspath(path)
    if os.path.isdir(path):
        archive = False
    elif os.path.isfile(path) and path.lower().endswith(_archive.SUFFIXES):
        archive = True
    else:
        raise UsageError('bxenv: %s is neither a plugin folder nor a plugin archive (%s)'
                         % (quoted(path), ', '.join(_archive.SUFFIXES)))
    ordered = []
    try:
        with _files.private_folder('bxenv-provider-check-') as (sandbox, sandbox_fd):
            os.mkdir('providers', 0o755, dir_fd=sandbox_fd)
            root = os.path.join(sandbox, 'providers')
            found = Findings()
            name, enter = (_unpack if archive else _copy)(path, root, found)
            found.caller = Caller(root, name, timeout, max_output, enter)
            if level != 'static':
                _run(found, level, os.path.join(root, name), [os.path.join(sandbox, 'canary-%d' % n) for n in (1, 2)],
                     ordered, dict(allow_order=allow_order, config_id=config_id, max_orders=max_orders,
                                   repeat=repeat, timeout=timeout, wait_timeout=wait_timeout,
                                   poll_interval=poll_interval))
            else:
                found.skip(['static.no-tasks-writes'], 'level static makes no call')
    except (OSError, _files.UnsafeFile) as exc:
        raise UsageError('bxenv: cannot check %s: %s' % (path, getattr(exc, 'message', exc)))
    return _report(found, level, waived, ordered, name, path)


def _options(level, allow_order, config_id, max_orders, repeat, timeout, wait_timeout, poll_interval, max_output):
    if level not in LEVELS:
        raise UsageError('bxenv: level must be one of %s, got %s' % (', '.join(LEVELS), quoted(level)))
    try:
        check_settings(timeout=timeout, max_output=max_output, wait_timeout=wait_timeout, poll_interval=poll_interval)
    except BxError as exc:
        raise UsageError(exc.message)
    for what, value, high in (('repeat', repeat, MAX_REPEAT), ('max_orders', max_orders, MAX_ORDERS)):
        low = 1 if what == 'repeat' else 0
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UsageError('%s must be a whole number from %d to %d, got %s' % (what, low, high, quoted(value, 40)))
    if level == 'order' and allow_order and config_id is None:
        raise UsageError('bxenv: level order with allow_order needs config_id: the configuration to order')
    if config_id is not None and id_problem(config_id):
        raise UsageError('bxenv: config_id %s %s' % (quoted(config_id), id_problem(config_id)))


def _waivers(waivers):
    """``{check id: reason}``; every waiver needs a known id and a reason."""
    waived = {}
    for waiver in waivers or ():
        if not isinstance(waiver, dict) or set(waiver) - set(('id', 'reason')):
            raise UsageError('bxenv: a waiver is {"id": ..., "reason": ...}, got %s' % quoted(waiver))
        check_id, reason = waiver.get('id'), waiver.get('reason')
        if check_id not in BY_ID:
            raise UsageError('bxenv: waiver for unknown check %s' % quoted(check_id))
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError('bxenv: the waiver of %s has no reason; say why the check may fail' % check_id)
        if check_id in waived:
            raise UsageError('bxenv: two waivers for %s' % check_id)
        waived[check_id] = reason
    return waived


def _static(found, holder, name):
    """static.executable and static.config on plugin folder ``holder``; True when it can run."""
    execute = os.path.join(holder, 'bin', name)
    info = _lstat(execute)
    inside = os.path.realpath(holder) + os.sep
    if info is None:
        problem = 'bin/%s does not exist' % name
    elif not os.path.realpath(execute).startswith(inside):
        problem = 'bin/%s leads to %s, outside the plugin folder' % (name, os.path.realpath(execute))
    elif not os.path.isfile(execute):
        problem = 'bin/%s is %s, not a regular file' % (name, _files.kind(os.stat(execute).st_mode))
    elif not os.stat(execute).st_mode & 0o111:
        problem = 'bin/%s is not executable (chmod 0755)' % name
    else:
        problem = None
    found.add('static.executable', 'fail' if problem else 'pass', problem or 'bin/%s' % name)
    config = _lstat(os.path.join(holder, 'etc', name + '.conf'))
    if config is None:
        found.add('static.config', 'pass', 'no etc/%s.conf (optional)' % name)
    elif stat.S_ISREG(config.st_mode):
        found.add('static.config', 'pass', 'etc/%s.conf' % name)
    else:
        found.add('static.config', 'fail', 'etc/%s.conf is %s' % (name, _files.kind(config.st_mode)))
    return problem is None


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _name(found, name):
    problem = id_problem(name)
    found.add('static.name', 'fail' if problem else 'pass',
              'plugin name %s %s' % (quoted(name), problem) if problem else 'plugin name %s' % name)
    return problem is None


def _copy(path, root, found):
    """A plugin folder: judge it where it is, then copy it (without ``tasks/``) to ``root``."""
    name = os.path.basename(os.path.normpath(path))
    found.add('static.archive-safe', 'skip', 'a folder, not an archive')
    if _name(found, name) and _static(found, path, name):
        with _files.folder(path) as src_fd, _files.folder(root) as root_fd:
            os.mkdir(name, 0o755, dir_fd=root_fd)
            with _files.folder_at(root_fd, name) as dst_fd:
                _copy_tree(src_fd, dst_fd, path)
    return name, 'cd %s' % shlex.quote(path)


def _copy_tree(src_fd, dst_fd, path):
    for dir_fd, rel, entry, mode in _files.walk(src_fd, skip=('tasks',)):
        with _files.folder_at(dst_fd, *rel[:-1]) as parent_fd:
            if stat.S_ISDIR(mode):
                os.mkdir(entry, 0o700, dir_fd=parent_fd)
                os.chmod(entry, stat.S_IMODE(mode) & 0o777 | 0o700, dir_fd=parent_fd)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(entry, dir_fd=dir_fd), entry, dir_fd=parent_fd)
            elif stat.S_ISREG(mode):
                source = os.path.join(path, *rel)
                data = _files.read(dir_fd, entry, source, limit=None)
                _files.write_new(parent_fd, entry, data or b'', mode=stat.S_IMODE(mode) & 0o777)
                os.chmod(entry, stat.S_IMODE(mode) & 0o777, dir_fd=parent_fd)


def _unpack(path, root, found):
    """A plugin archive: the install checks, then unpacked into ``root``."""
    name = os.path.basename(path)
    name, top, problem = name[:len(name) - len(_archive.archive_format(path))], None, None
    try:
        layouts = _archive.plugin_layouts(path)
    except BxError as exc:
        layouts, problem = [], exc.message
    if len(layouts) == 1:
        name, top = layouts[0]
    elif problem is None:
        problem = 'bxenv: %s holds %s' % (path, 'several plugins: %s' % ', '.join(n for n, t in layouts) if layouts
                                          else 'no bin/<name> at its root or in a single top folder')
    if not _name(found, name):
        found.skip(['static.archive-safe', 'static.executable', 'static.config'], 'the plugin name is not valid')
        return name, ''
    if problem is None:
        try:
            os.mkdir(os.path.join(root, name), 0o700)
            _archive.extract(path, name, os.path.join(root, name))
        except BxError as exc:
            problem = exc.message
    if problem:
        found.add('static.archive-safe', 'fail', problem)
        found.skip(['static.executable', 'static.config'], 'the archive was not unpacked')
        return name, ''
    found.add('static.archive-safe', 'pass', 'checked as install checks it, and unpacked')
    _static(found, os.path.join(root, name), name)
    unpack = 'unzip -q %s -d "$d"' if path.lower().endswith('.zip') else 'tar -C "$d" -xf %s'
    enter = 'd=$(mktemp -d) && %s && cd "$d"%s' % (unpack % shlex.quote(path), '/' + shlex.quote(top) if top else '')
    return name, enter


def _run(found, level, holder, canaries, ordered, options):
    names = set(check.id for check in up_to(level))
    blocked = [check_id for check_id in ('static.name', 'static.archive-safe', 'static.executable')
               if found.results.get(check_id, {}).get('result') == 'fail']
    if blocked:
        found.skip(sorted(check.id for check in up_to(level) if check.level in _RUNS) + ['static.no-tasks-writes'],
                   'not run: %s failed' % ', '.join(blocked))
        return
    caller = found.caller
    before = _tasks_snapshot(holder)
    options_seen = run_protocol(caller, found, canaries)
    if 'robust.timing' in names:
        run_robust(caller, found, options_seen, options['repeat'], options['timeout'])
    if level == 'order':
        _order(found, caller, options_seen, ordered, options)
    appeared = sorted(set(_tasks_snapshot(holder).items()) - set(before.items()))
    if appeared:
        found.add('static.no-tasks-writes', 'fail', 'the calls wrote under tasks/: %s'
                  % ', '.join(path for path, dummy in appeared[:20]))
    else:
        found.add('static.no-tasks-writes', 'pass', 'nothing written under tasks/ by %d calls' % len(caller.calls))


def _order(found, caller, options_seen, ordered, options):
    ids = ('order.place', 'order.status', 'order.finished-reply')
    if not options['allow_order']:
        found.skip(ids, 'allow_order is not set: no order placed')
    elif options['max_orders'] < 1:
        found.skip(ids, 'max_orders is 0: no order placed')
    elif options_seen is None or 'order' not in options_seen or 'order_status' not in options_seen:
        found.skip(ids, "order and order_status are not both in help's options")
    else:
        run_order(caller, found, options['config_id'], ordered, options['wait_timeout'], options['poll_interval'])


def _tasks_snapshot(holder):
    """``{path: entry}`` of everything under ``<holder>/tasks``, links and special files included."""
    entries = _archive.manifest(holder, skip=())
    entries.update(('%s/' % path, 'folder') for path in _folders(holder))
    return dict((path, repr(sorted(entry.items())) if isinstance(entry, dict) else entry)
                for path, entry in entries.items() if path == 'tasks' or path.startswith('tasks/'))


def _folders(holder):
    try:
        with _files.folder(holder) as top:
            return ['/'.join(rel) for dummy, rel, dummy2, mode in _files.walk(top) if stat.S_ISDIR(mode)]
    except (OSError, _files.UnsafeFile):
        return []


def _report(found, level, waived, ordered, name, path):
    checks = []
    for item in up_to(level):
        entry = dict(id=item.id, level=item.level, rule=item.rule, reference=item.reference)
        entry.update(found.results.get(item.id, {'result': 'skip', 'message': 'not run'}))
        reason = waived.get(item.id)
        if reason is not None:
            entry['waiver'] = reason
            if entry['result'] == 'fail':
                entry['result'] = 'waived'
            elif entry['result'] in ('pass', 'warn'):
                entry['message'] = 'waived, but it does not fail (%s: %s): remove the waiver' % (
                    entry['result'], entry['message'])
                entry['result'] = 'fail'
        checks.append(entry)
    summary = dict((result, sum(1 for entry in checks if entry['result'] == result)) for result in RESULTS)
    return {'checks': checks, 'summary': summary, 'ordered': ordered, 'plugin': {'name': name, 'path': path},
            'level': level}


def failed(report):
    """The ids of the failed checks of ``report``."""
    return [entry['id'] for entry in report['checks'] if entry['result'] == 'fail']
