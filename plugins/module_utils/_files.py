# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The one safe file layer for what the collection keeps under a provider.

Anyone who can write in a provider's folder could plant a link, a FIFO or a
device where a task file, a label or a journal is expected. So below a
trusted base folder (a provider's folder, which may itself be a link, as the
original allows) every folder and file is opened relative to a directory
descriptor with ``O_NOFOLLOW``: a link is refused, never followed; reads are
non-blocking, regular files only and bounded in size; writes go to a new
temporary file in the same folder and are renamed over the name, so an
existing link is replaced, never written through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import contextlib
import errno
import os
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason

# Task files, labels and journals hold a line or two.
MAX_READ = 1024 * 1024
DIR_MODE = 0o750
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
_KINDS = ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISDIR, 'a folder'),
          (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device'), (stat.S_ISSOCK, 'a socket'))


class UnsafeFile(BxError):
    """A path where a regular file or a real folder was expected holds something else."""


def kind(mode):
    """``a symbolic link``, ``a FIFO``, … for a mode that is not a regular file."""
    for test, text in _KINDS:
        if test(mode):
            return text
    return 'not a regular file'


@contextlib.contextmanager
def folder(base, *parts, **kwargs):
    """A descriptor of ``base/parts...``: ``base`` is trusted (followed), each
    part must be a real folder. With ``create=True`` missing parts are made
    (mode DIR_MODE minus umask). Raises UnsafeFile for a part that is a link
    or not a folder, OSError (ENOENT) for a missing one."""
    create = kwargs.get('create', False)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | getattr(os, 'O_CLOEXEC', 0))
    try:
        path = base
        for part in parts:
            path = os.path.join(path, part)
            if create:
                try:
                    os.mkdir(part, DIR_MODE, dir_fd=fd)
                except OSError as exc:
                    if exc.errno != errno.EEXIST:
                        raise
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    mode = os.lstat(part, dir_fd=fd).st_mode
                    raise UnsafeFile('bxenv: %s is %s, not a folder; refusing to use it' % (path, kind(mode)))
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def entries(dir_fd):
    """``{name: lstat mode}`` of a folder's entries (nothing followed)."""
    found = {}
    for name in os.listdir(dir_fd):
        try:
            found[name] = os.lstat(name, dir_fd=dir_fd).st_mode
        except OSError:
            continue  # removed meanwhile
    return found


def read(dir_fd, name, path, limit=MAX_READ):
    """The bytes of regular file ``name``, or None when it does not exist.

    ``path`` names it in errors. A link, FIFO, device or folder is refused
    without blocking; a file over ``limit`` bytes too.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0),
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise UnsafeFile('bxenv: %s is a symbolic link; refusing to read it' % path)
        raise UnsafeFile('bxenv: cannot open %s: %s' % (path, reason(exc)))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafeFile('bxenv: %s is %s, not a regular file; refusing to read it' % (path, kind(mode)))
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b''.join(chunks)
            size += len(chunk)
            if size > limit:
                raise UnsafeFile('bxenv: %s is larger than %d bytes; refusing to read it' % (path, limit))
            chunks.append(chunk)
    finally:
        os.close(fd)


def read_under(base, parts, name, path, limit=MAX_READ):
    """``read`` of ``base/parts.../name``: None when it, or a folder on the
    way, does not exist. Raises OSError or UnsafeFile."""
    try:
        with folder(base, *parts) as fd:
            return read(fd, name, path, limit)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def write(dir_fd, name, data, path, mode=0o666, exclusive=False):
    """Make ``name`` hold ``data``: a new file in the same folder, renamed over it.

    ``mode`` minus the umask (0666: the original's task files). An existing
    link or file at ``name`` is replaced, never written through; a folder or
    other special file there is refused. With ``exclusive`` an existing
    ``name`` is an error (EEXIST). Raises OSError or UnsafeFile.
    """
    try:
        old = os.lstat(name, dir_fd=dir_fd).st_mode
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        old = None
    if old is not None:
        if exclusive:
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        if not (stat.S_ISREG(old) or stat.S_ISLNK(old)):
            raise UnsafeFile('bxenv: %s is %s; refusing to replace it' % (path, kind(old)))
    temp = '.%s.bxenv-tmp-%s' % (name[:64], binascii.hexlify(os.urandom(6)).decode())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), mode,
                 dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.unlink(temp, dir_fd=dir_fd)
        else:
            os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    return path


def remove(dir_fd, name):
    """Remove file (or link) ``name``; a missing one is fine."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
