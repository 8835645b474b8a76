# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The one safe file layer: every file the collection reads or writes goes through it.

Anyone who can write in a provider's folder could plant a link, a FIFO or
a device where a task file, a label, a config or our archive record is
expected, or a tree too deep for recursion. So below a trusted base folder
(a provider's folder, which may itself be a link, as the original allows)
every folder and file is opened relative to a directory descriptor with
``O_NOFOLLOW`` and ``O_CLOEXEC``: a link is refused, never followed; reads
are non-blocking, regular files only and bounded in size; writes go to a
new temporary file that is renamed over the name, so an existing link is
replaced, never written through; trees are walked and removed without
recursion and without following links.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import contextlib
import ctypes
import errno
import os
import re
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason

# Task files, labels and journals hold a line or two.
MAX_READ = 1024 * 1024
DIR_MODE = 0o750
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_KINDS = ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISDIR, 'a folder'),
          (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device'), (stat.S_ISSOCK, 'a socket'))
# Temporary files: ``.bxenv-tmp.<pid>.<random>``; the pid lets a later
# writer sweep what a killed one left.
_TEMP = re.compile(r'\A\.bxenv-tmp\.([0-9]+)\.[0-9a-f]+\Z')


class UnsafeFile(BxError):
    """A path where a regular file or a real folder was expected holds something else."""


def kind(mode):
    """``a symbolic link``, ``a FIFO``, … for a mode that is not a regular file."""
    for test, text in _KINDS:
        if test(mode):
            return text
    return 'not a regular file'


def open_dir(dir_fd, name, path):
    """A descriptor of real folder ``name`` in ``dir_fd``; UnsafeFile for a link
    or non-folder there, OSError (ENOENT) for a missing one."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            mode = os.lstat(name, dir_fd=dir_fd).st_mode
            raise UnsafeFile('bxenv: %s is %s, not a folder; refusing to use it' % (path, kind(mode)))
        raise


@contextlib.contextmanager
def folder(base, *parts, **kwargs):
    """A descriptor of ``base/parts...``: ``base`` is trusted (followed), each
    part must be a real folder. With ``create=True`` missing parts are made
    (mode DIR_MODE minus umask). Raises UnsafeFile for a part that is a link
    or not a folder, OSError (ENOENT) for a missing one."""
    fd = _descend(os.open(base, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC), base, parts, kwargs.get('create', False))
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_at(dir_fd, *parts, **kwargs):
    """``folder`` below an open folder ``dir_fd`` (``path`` names it in errors)."""
    fd = _descend(os.dup(dir_fd), kwargs.get('path', ''), parts, kwargs.get('create', False))
    try:
        yield fd
    finally:
        os.close(fd)


def _descend(fd, path, parts, create):
    """Open ``parts`` one by one below ``fd`` (which it takes over), never through a link."""
    try:
        for part in parts:
            path = os.path.join(path, part)
            if create:
                try:
                    os.mkdir(part, DIR_MODE, dir_fd=fd)
                except OSError as exc:
                    if exc.errno != errno.EEXIST:
                        raise
            child = open_dir(fd, part, path)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def entries(dir_fd):
    """``{name: lstat mode}`` of a folder's entries (nothing followed)."""
    found = {}
    for name in os.listdir(dir_fd):
        try:
            found[name] = os.lstat(name, dir_fd=dir_fd).st_mode
        except OSError:
            continue  # removed meanwhile
    return found


def open_file(dir_fd, name, path):
    """A read-only descriptor of regular file ``name``, or None when there is none.

    Never through a link, non-blocking (a FIFO does not hang the open); a
    FIFO, device, socket or folder is refused. With ``dir_fd`` None,
    ``name`` is a path the user gave us (an archive): links there are followed.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC
    try:
        if dir_fd is None:
            fd = os.open(name, flags)
        else:
            fd = os.open(name, flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise UnsafeFile('bxenv: %s is a symbolic link; refusing to read it' % path)
        raise UnsafeFile('bxenv: cannot open %s: %s' % (path, reason(exc)))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnsafeFile('bxenv: %s is %s, not a regular file; refusing to read it' % (path, kind(mode)))
    return fd


def chunks(fd, path, limit=None):
    """The data of open ``fd`` in chunks; UnsafeFile past ``limit`` bytes (None: no limit)."""
    size = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        size += len(chunk)
        if limit is not None and size > limit:
            raise UnsafeFile('bxenv: %s is larger than %d bytes; refusing to read it' % (path, limit))
        yield chunk


def read(dir_fd, name, path, limit=MAX_READ):
    """The bytes of regular file ``name``, or None when it does not exist.

    ``path`` names it in errors. A link, FIFO, device or folder is refused
    without blocking; a file over ``limit`` bytes too.
    """
    fd = open_file(dir_fd, name, path)
    if fd is None:
        return None
    try:
        return b''.join(chunks(fd, path, limit))
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


def create_new(dir_fd, name, mode=0o644):
    """A write descriptor of a new file ``name`` (``O_EXCL``: never an existing one or a link)."""
    return os.open(name, _NEW_FILE, mode, dir_fd=dir_fd)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def temp_name():
    return '.bxenv-tmp.%d.%s' % (os.getpid(), binascii.hexlify(os.urandom(6)).decode())


def is_temp(name):
    return _TEMP.match(name) is not None


def sweep_temps(dir_fd):
    """Remove the temporary files that killed writers left in ``dir_fd``."""
    for name in os.listdir(dir_fd):
        match = _TEMP.match(name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            remove(dir_fd, name)


def write(dir_fd, name, data, path, mode=0o666, exclusive=False, temp_fd=None, before_rename=None):
    """Make ``name`` hold ``data``: a new temporary file, renamed over it.

    ``mode`` minus the umask (0666: the original's task files). An existing
    link or file at ``name`` is replaced, never written through; a folder or
    other special file there is refused. With ``exclusive`` an existing
    ``name`` is an error (EEXIST). The temporary file is made in ``temp_fd``
    (default: the same folder; it must be on the same filesystem), where a
    killed run's leftovers are swept. ``before_rename(fd)`` may set the
    owner or mode of the new file. Raises OSError or UnsafeFile.
    """
    temp_fd = dir_fd if temp_fd is None else temp_fd
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
    sweep_temps(temp_fd)
    temp = temp_name()
    fd = create_new(temp_fd, temp, mode)
    try:
        try:
            write_all(fd, data)
            if before_rename is not None:
                before_rename(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(temp, name, src_dir_fd=temp_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(temp, dir_fd=temp_fd)
        else:
            os.rename(temp, name, src_dir_fd=temp_fd, dst_dir_fd=dir_fd)
    except BaseException:
        remove(temp_fd, temp)
        raise
    fsync(dir_fd)
    return path


def fsync(fd):
    """fsync a folder descriptor; some filesystems refuse, which is fine."""
    try:
        os.fsync(fd)
    except OSError:
        pass


def remove(dir_fd, name):
    """Remove file (or link) ``name``; a missing one is fine."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def _identity(fd):
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def walk(top_fd, topdown=True, skip=()):
    """Every entry below folder ``top_fd``: ``(dir_fd, rel, name, mode)``.

    ``rel`` is the tuple of names from the top, ``dir_fd`` the open folder
    holding ``name`` (valid until the next step), ``mode`` its lstat mode.
    Links are never followed. No recursion and two descriptors at most,
    however deep the tree: a folder is left through ``..``, checked to be the
    folder we came from (else UnsafeFile: the tree was moved meanwhile).
    Folders come before (``topdown``) or after their entries; top-level
    names in ``skip`` are left out.
    """
    fd = os.dup(top_fd)
    # one frame per open level: [names left (reversed), identity, name, mode]
    frames = [[sorted((n for n in os.listdir(fd) if n not in skip), reverse=True), _identity(fd), None, None]]
    rel = []
    try:
        while frames:
            frame = frames[-1]
            if not frame[0]:
                frames.pop()
                if not frames:
                    break
                parent = os.open('..', _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                if _identity(fd) != frames[-1][1]:
                    raise UnsafeFile('bxenv: %s was moved while it was being walked' % '/'.join(rel))
                name = rel.pop()
                if not topdown:
                    yield fd, tuple(rel) + (name,), name, frame[3]
                continue
            name = frame[0].pop()
            try:
                mode = os.lstat(name, dir_fd=fd).st_mode
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue
                raise
            if not stat.S_ISDIR(mode):
                yield fd, tuple(rel) + (name,), name, mode
                continue
            if topdown:
                yield fd, tuple(rel) + (name,), name, mode
            try:
                child = open_dir(fd, name, name)
            except (OSError, UnsafeFile):
                continue  # gone or replaced by a link meanwhile: not ours to enter
            os.close(fd)
            fd = child
            rel.append(name)
            frames.append([sorted(os.listdir(fd), reverse=True), _identity(fd), name, mode])
    finally:
        os.close(fd)


def remove_tree(dir_fd, name):
    """Remove ``name`` in ``dir_fd`` and, for a real folder, all below it.

    A link is removed, never followed; a missing name is fine. Iterative
    (see ``walk``), so no tree is too deep to remove.
    """
    try:
        mode = os.lstat(name, dir_fd=dir_fd).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return
        raise
    if not stat.S_ISDIR(mode):
        remove(dir_fd, name)
        return
    top = open_dir(dir_fd, name, name)
    try:
        for parent, _rel, entry, entry_mode in walk(top, topdown=False):
            if stat.S_ISDIR(entry_mode):
                os.rmdir(entry, dir_fd=parent)
            else:
                remove(parent, entry)
    finally:
        os.close(top)
    os.rmdir(name, dir_fd=dir_fd)


# renameat2(2) flags (Linux 3.15+, glibc 2.28+).
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


def _renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    return function


_RENAMEAT2 = _renameat2()


def rename2(src_fd, src, dst_fd, dst, flags):
    """``renameat2`` with ``flags``; False when the system or filesystem lacks it."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(src_fd, os.fsencode(src), dst_fd, os.fsencode(dst), flags) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), dst)
