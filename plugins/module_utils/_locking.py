# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Exclusive locks on lock files (opened through ``_files``).

``flock`` locks belong to the open file description: closing the descriptor
(or the process dying) releases the lock, so a killed run never leaves a
stale lock behind. The lock file itself is never removed, because removing
it would let two processes hold "the" lock on two different inodes; the one
exception is the retirement of an older version's lock folder (see
``retire_legacy_locks``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import re
import stat
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason

DEFAULT_LOCK_TIMEOUT = 120.0
_POLL_INTERVAL = 0.05


# The collection's bookkeeping for a providers root lives next to it, where
# the original (which lists every sub-folder of the root, dot folders
# included, as a provider) never looks: ``<parent>/.bxenv-<root name>/``,
# e.g. /opt/webdir/.bxenv-providers/ for /opt/webdir/providers. LOCKS_DIR
# holds the lock files, WORK_DIR install's staging and old folders (same
# filesystem as the root, so the swap is a rename).
STATE_PREFIX = '.bxenv-'
LOCKS_DIR, WORK_DIR = 'locks', 'work'
# Where versions before issue 21 kept the lock files: <root>/.bxenv/.
LEGACY_LOCKS_DIR = '.bxenv'
_LEGACY_LOCK = re.compile(r'\A[^/]+\.(plugin|order)\.lock\Z')


def state_dir(root):
    """``(parent, name)`` of the bookkeeping folder of providers root ``root``.

    From the real path, so every spelling of one root shares its locks.
    """
    real = os.path.realpath(root)
    return os.path.dirname(real), STATE_PREFIX + os.path.basename(real)


def state_folder(root, *parts):
    """A descriptor (context manager) of ``<state>/parts...``, made when missing."""
    parent, name = state_dir(root)
    return _files.folder(parent, name, *parts, create=True)


def _hold(fd, path, timeout, clock, sleep, shared=False):
    """Take an exclusive (or ``shared``) ``flock`` on open ``fd``, polling for at most ``timeout`` s."""
    deadline = clock() + timeout
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise BxError('bxenv: Cannot lock %s: %s' % (path, exc.strerror))
        if clock() >= deadline:
            raise BxError('bxenv: Timed out after %g s waiting for the lock %s' % (timeout, path))
        sleep(_POLL_INTERVAL)


@contextlib.contextmanager
def _locked(path, timeout, clock, sleep, opener, shared=False):
    """Open the lock file with ``opener()`` (never through a link), hold it, close it."""
    try:
        fd = opener()
    except OSError as exc:
        raise BxError('bxenv: Cannot open lock file %s: %s' % (path, reason(exc)))
    try:
        _hold(fd, path, timeout, clock, sleep, shared)
        yield path
    finally:
        os.close(fd)


def exclusive_lock(path, timeout=DEFAULT_LOCK_TIMEOUT, clock=time.monotonic, sleep=time.sleep):
    """Hold an exclusive ``flock`` on ``path`` (created 0600 if missing, never
    through a link).

    Waits at most ``timeout`` seconds, polling, so a hung holder gives a
    clear error instead of a hang.
    """
    folder, base = os.path.split(os.path.abspath(path))

    def opener():
        with _files.folder(folder) as dir_fd:
            return _files.open_lock(dir_fd, base)
    return _locked(path, timeout, clock, sleep, opener)


@contextlib.contextmanager
def provider_lock(root, name, kind, timeout=DEFAULT_LOCK_TIMEOUT, shared=False):
    """Hold lock ``kind`` (``plugin``, ``order``, ``label.<label>``, ``add.<task>``)
    of provider ``name``; ``shared`` takes it shared (orders share ``order``,
    which install, upgrade and removal take alone).

    The lock files live in ``<state>/locks/`` (see ``state_dir``), outside
    the provider folders (which install and removal replace) and outside
    the providers root. Lock order: ``plugin``, then ``order``, then ``label``.

    While an older version's ``<root>/.bxenv/`` exists, its lock file of the
    same name and kind is held too (never created), so a run of the older
    version on this provider excludes this one; once none of its locks is
    held, the folder is removed (``retire_legacy_locks``).
    """
    base = '%s.%s.lock' % (name, kind)
    parent, state = state_dir(root)

    def opener():
        with state_folder(root, LOCKS_DIR) as dir_fd:
            return _files.open_lock(dir_fd, base)
    with _locked(os.path.join(parent, state, LOCKS_DIR, base), timeout, time.monotonic, time.sleep, opener, shared):
        retire_legacy_locks(root)
        legacy = _legacy_lock_fd(root, base)
        if legacy is None:
            yield
            return
        with _locked(os.path.join(root, LEGACY_LOCKS_DIR, base), timeout, time.monotonic, time.sleep,
                     lambda: legacy, shared):
            yield


def _legacy_lock_fd(root, base):
    """An open descriptor of ``<root>/.bxenv/<base>``, or None when there is none."""
    try:
        with _files.folder(root, LEGACY_LOCKS_DIR) as dir_fd:
            return _files.open_lock(dir_fd, base, create=False)
    except (OSError, _files.UnsafeFile):
        return None


def retire_legacy_locks(root):
    """Remove an older version's ``<root>/.bxenv/`` (the original shows it as a
    broken provider) when it holds only our lock files and none is held.

    Each file is locked (without waiting) before it is removed, so a run of
    the older version that holds one keeps it and the folder stays for a
    later try. Returns True when the folder is gone.
    """
    held = []
    try:
        with _files.folder(root, LEGACY_LOCKS_DIR) as dir_fd:
            for base, mode in _files.entries(dir_fd).items():
                if not (stat.S_ISREG(mode) and _LEGACY_LOCK.match(base)):
                    return False  # not only ours: leave it alone
                fd = _files.open_lock(dir_fd, base, create=False)
                held.append(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return False  # an older run holds it
            for base in os.listdir(dir_fd):
                _files.remove(dir_fd, base)
            with _files.folder(root) as root_fd:
                os.rmdir(LEGACY_LOCKS_DIR, dir_fd=root_fd)
    except (OSError, _files.UnsafeFile) as exc:
        return getattr(exc, 'errno', None) == errno.ENOENT
    finally:
        for fd in held:
            os.close(fd)
    return True
