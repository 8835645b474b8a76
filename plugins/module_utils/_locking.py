# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""An exclusive lock on a lock file, and atomic file replacement.

``flock`` locks belong to the open file description: closing the descriptor
(or the process dying) releases the lock, so a killed run never leaves a
stale lock behind. The lock file itself is never removed, because removing
it would let two processes hold "the" lock on two different inodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason

DEFAULT_LOCK_TIMEOUT = 120.0
_POLL_INTERVAL = 0.05


LOCKS_DIR = '.bxenv'


def _hold(fd, path, timeout, clock, sleep):
    """Take an exclusive ``flock`` on open ``fd``, polling for at most ``timeout`` s."""
    deadline = clock() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise BxError('bxenv: Cannot lock %s: %s' % (path, exc.strerror))
        if clock() >= deadline:
            raise BxError('bxenv: Timed out after %g s waiting for the lock %s' % (timeout, path))
        sleep(_POLL_INTERVAL)


_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)


@contextlib.contextmanager
def _locked(path, timeout, clock, sleep, opener):
    """Open the lock file with ``opener()`` (never through a link), hold it, close it."""
    try:
        fd = opener()
    except OSError as exc:
        raise BxError('bxenv: Cannot open lock file %s: %s' % (path, reason(exc)))
    try:
        _hold(fd, path, timeout, clock, sleep)
        yield path
    finally:
        os.close(fd)


def exclusive_lock(path, timeout=DEFAULT_LOCK_TIMEOUT, clock=time.monotonic, sleep=time.sleep):
    """Hold an exclusive ``flock`` on ``path`` (created 0600 if missing, never
    through a link).

    Waits at most ``timeout`` seconds, polling, so a hung holder gives a
    clear error instead of a hang.
    """
    return _locked(path, timeout, clock, sleep, lambda: os.open(path, _LOCK_FLAGS, 0o600))


def provider_lock(root, name, kind, timeout=DEFAULT_LOCK_TIMEOUT):
    """Hold lock ``kind`` (``plugin``, ``order``) of provider ``name``.

    Every lock file of the collection lives in ``<root>/.bxenv/``, outside
    the provider folders (which install and removal replace) and out of
    ``list`` (a dot-name is no provider). Lock order: ``plugin``, then
    ``order``.
    """
    base = '%s.%s.lock' % (name, kind)

    def opener():
        with _files.folder(root, LOCKS_DIR, create=True) as dir_fd:
            return os.open(base, _LOCK_FLAGS, 0o600, dir_fd=dir_fd)
    return _locked(os.path.join(root, LOCKS_DIR, base), timeout, time.monotonic, time.sleep, opener)


def replace_file(path, data, mode=None, keep_owner=True, follow_symlinks=True):
    """Replace ``path`` with ``data`` (bytes) through a temp file and ``rename``.

    The temp file lives in the same folder, so the rename is atomic: readers
    see the old file or the new one, never a part. ``mode`` defaults to the
    mode of the file being replaced (0644 for a new file); the owner and
    group are kept when the caller may set them. With ``follow_symlinks`` a
    symlink's target is replaced and the link stays; without, the link
    itself is replaced.
    Raises OSError; the temp file is removed on failure.
    """
    if follow_symlinks:
        path = os.path.realpath(path)
    folder, base = os.path.split(os.path.abspath(path))
    try:
        old = os.stat(path) if follow_symlinks else os.lstat(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        old = None  # a link or odd file being replaced: nothing to keep
    if mode is None:
        mode = stat.S_IMODE(old.st_mode) if old is not None else 0o644
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % base, suffix='.bxenv-tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            if keep_owner and old is not None:
                try:
                    os.fchown(handle.fileno(), old.st_uid, old.st_gid)
                except OSError:
                    pass  # not allowed to give it away: it stays ours
            # chmod after chown: chown may clear set-id bits.
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)
    return path


def _fsync_dir(folder):
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
