# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider protocol side of the plugin: what stays when you write your own.

The appliance (its ``bx-provider`` tool, or the ``bitrix.bxenv`` collection)
runs ``bin/<name> <action> [<argument>]`` and reads one JSON object from
stdout (docs/protocol.md of bitrix.bxenv, sections 1-3):

* ``help``, ``configs``, ``order <config_id>``, ``order_status <task_id>``;
* a failure is the error reply ``{"error": <code>, "error_message": <text>}``,
  never a traceback: every exception ends in ``main`` as an error reply;
* arguments are data: checked against ``ID`` before anything else, never
  run through a shell, never a path;
* the collection calls up to 8 plugins at once, so the data file is read
  and written under an ``flock`` and replaced atomically (temp + rename);
* the optional capability ``order_token``: with ``BX_ORDER_TOKEN`` set,
  ``order`` returns the order that token already placed, if any.

What is sold and how is ``backend.py``; this file never talks to a cloud.
Python 3.8+, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import sys
import tempfile
import time
import traceback

import backend

OPTIONS = ['help', 'configs', 'order', 'order_status', 'order_token']
TOKEN_VARIABLE = 'BX_ORDER_TOKEN'
# Ids this plugin accepts and hands out: a safe file name in any tool, and
# never "." or ".." (the collection's own rule is wider; ours is enough).
ID = re.compile(r'\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z')
TOKEN = re.compile(r'\A[A-Za-z0-9._-]{1,128}\Z')
DATA_FILE = 'orders.json'
LOCK_FILE = '.lock'
# The caller's timeout is 60 s: give up on the lock well before it.
LOCK_WAIT = 20.0
MAX_DATA = 64 * 1024 * 1024

# Error codes: the appliance's bx-provider exits with them.
E_CALL, E_CONFIG, E_TASK, E_INTERNAL = 1, 2, 3, 4


class ProviderError(Exception):
    """Becomes the error reply ``{"error": code, "error_message": message}``."""

    def __init__(self, message, code=E_CALL):
        super(ProviderError, self).__init__(message)
        self.code = code


# ---------------------------------------------------------------- arguments and settings

def printable(text):
    """``text`` that a UTF-8 reply can hold: argv bytes that are not UTF-8
    (and any other lone surrogate) become ``\\xNN`` / ``\\udNNN`` text, as a
    lone surrogate would make the whole reply invalid."""
    try:
        raw = text.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace').decode('utf-8')
    return raw.decode('utf-8', 'backslashreplace')


def shown(value, limit=100):
    """``value`` quoted for a message, cut after ``limit`` characters."""
    text = printable(value)
    return '"%s"' % (text[:limit] + ('...' if len(text) > limit else ''))


def checked_id(value, what):
    """``value`` when it is a plain id (``ID``), else ProviderError; ``..`` is refused too."""
    if not ID.match(value) or '..' in value:
        raise ProviderError('invalid %s %s: use 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit, no ".."'
                            % (what, shown(value)))
    return value


def order_token(environ):
    """The ``BX_ORDER_TOKEN`` of this call, None when it is not set."""
    token = environ.get(TOKEN_VARIABLE)
    if token is not None and not TOKEN.match(token):
        raise ProviderError('invalid %s %s: use 1-128 of A-Z a-z 0-9 . _ -'
                            % (TOKEN_VARIABLE, shown(token)))
    return token


def read_settings(holder, name):
    """``etc/<name>.conf`` (``key = value`` lines) over the defaults; unknown keys are errors."""
    path = os.path.join(holder, 'etc', name + '.conf')
    known = dict(backend.SETTINGS, data_dir=('var', str))
    raw = dict((key, default) for key, (default, _parse) in known.items())
    try:
        with open(path, 'rb') as handle:
            text = handle.read(1024 * 1024).decode('utf-8')
    except (IOError, OSError) as exc:
        if exc.errno != errno.ENOENT:
            raise ProviderError('cannot read %s: %s' % (path, exc.strerror), E_INTERNAL)
        text = ''
    except UnicodeDecodeError:
        raise ProviderError('%s is not UTF-8 text' % path, E_INTERNAL)
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition('=')
        key = key.strip()
        if not sep or key not in known:
            raise ProviderError('%s line %d: expected one of %s as "key = value"'
                                % (path, number, ', '.join(sorted(known))), E_INTERNAL)
        raw[key] = value.strip()
    settings = {}
    for key, (_default, parse) in known.items():
        try:
            settings[key] = parse(raw[key])
        except ValueError as exc:
            raise ProviderError('%s: %s: %s' % (path, key, exc), E_INTERNAL)
    settings['data_dir'] = os.path.join(holder, settings['data_dir'] or 'var')
    tasks = os.path.join(os.path.realpath(holder), 'tasks')
    if (os.path.realpath(settings['data_dir']) + os.sep).startswith(tasks + os.sep):
        raise ProviderError('%s: data_dir must not be under %s, which belongs to the appliance' % (path, tasks),
                            E_INTERNAL)
    return settings


# ---------------------------------------------------------------- the data file

class Store(object):
    """``<data_dir>/orders.json`` under ``<data_dir>/.lock``.

    ``with Store(folder, exclusive=True) as data:`` loads the document;
    ``save()`` replaces the file atomically, still under the lock. Readers
    take a shared lock; writers the exclusive one. A write killed half-way
    leaves a temporary file, never a cut ``orders.json``.
    """

    def __init__(self, folder, exclusive=False):
        self.folder = folder
        self.exclusive = exclusive
        self.path = os.path.join(folder, DATA_FILE)
        self.data = None
        self._lock = None

    def __enter__(self):
        try:
            os.makedirs(self.folder, 0o700)
        except OSError as exc:  # made by a call running beside this one, or earlier
            if exc.errno != errno.EEXIST:
                raise
        self._lock = os.open(os.path.join(self.folder, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            self._take_lock()
            self.data = self._load()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info):
        os.close(self._lock)  # releases the flock
        self._lock = None

    def _take_lock(self):
        kind = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(self._lock, kind | fcntl.LOCK_NB)
                return
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    raise ProviderError('%s is busy: another call held its lock for %g s'
                                        % (self.folder, LOCK_WAIT), E_INTERNAL)
            time.sleep(0.02)

    def _load(self):
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return {'version': 1, 'orders': {}, 'tokens': {}}
            raise
        with os.fdopen(fd, 'rb') as handle:
            raw = handle.read(MAX_DATA + 1)
        try:
            if len(raw) > MAX_DATA:
                raise ValueError('larger than %d bytes' % MAX_DATA)
            data = json.loads(raw.decode('utf-8'))
            if not (isinstance(data, dict) and isinstance(data.get('orders'), dict)
                    and isinstance(data.get('tokens'), dict)):
                raise ValueError('not an object with "orders" and "tokens"')
        except ValueError as exc:
            raise ProviderError('%s is damaged (%s); move it away to start afresh' % (self.path, exc), E_INTERNAL)
        return data

    def save(self):
        if not self.exclusive:
            raise RuntimeError('save() needs the exclusive lock')
        for name in os.listdir(self.folder):  # left by a writer that was killed
            if name.startswith('.' + DATA_FILE + '.'):
                os.unlink(os.path.join(self.folder, name))
        fd, temp = tempfile.mkstemp(prefix='.' + DATA_FILE + '.', dir=self.folder)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(json.dumps(self.data, sort_keys=True, indent=1).encode('utf-8'))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, self.path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a crash
        finally:
            os.close(folder)


# ---------------------------------------------------------------- protocol actions

def do_help(ctx):
    return {'options': OPTIONS, 'status': 'enabled', 'name': ctx['name']}


def do_configs(ctx):
    return {'status': 'enabled', 'configurations': backend.configurations(ctx['settings'])}


def do_order(ctx, config_id):
    checked_id(config_id, 'config_id')
    if config_id not in [plan['id'] for plan in backend.configurations(ctx['settings'])]:
        raise ProviderError('no configuration with id=%s (see "configs")' % config_id, E_CONFIG)
    token = order_token(ctx['environ'])
    # Check the token, place the order and record it under one lock: two
    # calls with one token never place two orders, and an order stored
    # before a kill is found by the next call with that token.
    with Store(ctx['settings']['data_dir'], exclusive=True) as store:
        task_id = store.data['tokens'].get(token) if token is not None else None
        if task_id is None:
            task_id = backend.place_order(ctx['settings'], store.data, config_id, token)
            checked_id(task_id, 'task_id from the backend')
            if token is not None:
                store.data['tokens'][token] = task_id
            store.save()
        reply = backend.order_status(ctx['settings'], store.data, task_id, time.time())
    return dict(reply, task_id=task_id)


def do_order_status(ctx, task_id):
    checked_id(task_id, 'task_id')
    with Store(ctx['settings']['data_dir']) as store:
        reply = backend.order_status(ctx['settings'], store.data, task_id, time.time())
    if reply is None:
        raise ProviderError('no order with task_id=%s' % task_id, E_TASK)
    return dict(reply, task_id=task_id)


ACTIONS = {
    'help': (do_help, 0),
    'configs': (do_configs, 0),
    'order': (do_order, 1),
    'order_status': (do_order_status, 1),
}


def run(argv, entry, environ):
    """The reply to ``argv`` (raises ProviderError for an error reply)."""
    if not argv or argv[0] not in ACTIONS:
        raise ProviderError('unknown action %s; actions: %s'
                            % (shown(argv[0] if argv else ''), ', '.join(sorted(ACTIONS))))
    handler, nargs = ACTIONS[argv[0]]
    if len(argv) - 1 != nargs:
        raise ProviderError('action %s takes %s' % (argv[0], 'one argument' if nargs else 'no argument'))
    name = os.path.basename(entry)
    holder = os.path.dirname(os.path.dirname(entry))
    ctx = {'name': name, 'holder': holder, 'environ': environ, 'settings': read_settings(holder, name)}
    return handler(ctx, *argv[1:])


def main(argv, entry, environ=None):
    """Print exactly one JSON reply on stdout and return 0, whatever happens.

    Anything else printed (a stray ``print``, a library's chatter) goes to
    stderr, which the appliance keeps for its messages.
    """
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        reply = run(argv, entry, os.environ if environ is None else environ)
    except ProviderError as exc:
        reply = {'error': exc.code, 'error_message': printable(str(exc))}
    except Exception as exc:  # the last resort: an error reply, the traceback on stderr
        traceback.print_exc(file=sys.stderr)
        reply = {'error': E_INTERNAL, 'error_message': printable('internal error: %s: %s' % (type(exc).__name__, exc))}
    finally:
        sys.stdout = out
    out.write(json.dumps(reply, sort_keys=True) + '\n')
    out.flush()
    return 0
