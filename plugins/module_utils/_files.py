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

Every open of the collection is made here, with one of the flag sets
below (``O_CLOEXEC`` in each: no program we start inherits a descriptor).
Only two places open files without this layer: the detached watcher script
of ``_runner`` (a program of its own, run by a bare Python) and the reads of
``/proc`` there.
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
import tempfile

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason

# Task files, labels and journals hold a line or two.
MAX_READ = 1024 * 1024
DIR_MODE = 0o750
# The open flags of the collection, defined once. Reads never block (a FIFO
# does not hang the open), new files are new (``O_EXCL``), and no last
# component is followed; ``FOLLOW`` masks ``O_NOFOLLOW`` off for a path the
# user gave us (a trusted base folder, an archive, a pool file), where the
# original followed links.
CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | CLOEXEC
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | CLOEXEC
APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | CLOEXEC
LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | CLOEXEC
FOLLOW = ~os.O_NOFOLLOW
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
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            mode = os.lstat(name, dir_fd=dir_fd).st_mode
            raise UnsafeFile('bxenv: %s is %s, not a folder; refusing to use it' % (path, kind(mode)))
        raise


@contextlib.contextmanager
def folder(base, *parts, **kwargs):
    """A descriptor of ``base/parts...``: ``base`` is trusted (followed), each
    part must be a real folder. With ``create=True`` missing parts are made
    (mode ``mode``, default DIR_MODE, minus umask). Raises UnsafeFile for a
    part that is a link or not a folder, OSError (ENOENT) for a missing one."""
    fd = _descend(os.open(base, DIR_FLAGS & FOLLOW), base, parts, kwargs.get('create', False),
                  kwargs.get('mode', DIR_MODE))
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_at(dir_fd, *parts, **kwargs):
    """``folder`` below an open folder ``dir_fd`` (``path`` names it in errors)."""
    fd = _descend(os.dup(dir_fd), kwargs.get('path', ''), parts, kwargs.get('create', False),
                  kwargs.get('mode', DIR_MODE))
    try:
        yield fd
    finally:
        os.close(fd)


def _descend(fd, path, parts, create, mode):
    """Open ``parts`` one by one below ``fd`` (which it takes over), never through a link."""
    try:
        for part in parts:
            path = os.path.join(path, part)
            if create:
                try:
                    os.mkdir(part, mode, dir_fd=fd)
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
    try:
        if dir_fd is None:
            fd = os.open(name, READ_FLAGS & FOLLOW)
        else:
            fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
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


def open_binary(path):
    """A binary file object of regular file ``path`` (a path the user gave:
    links followed), or None when there is none; UnsafeFile as ``open_file``."""
    fd = open_file(None, path, path)
    return None if fd is None else os.fdopen(fd, 'rb')


def read_file(path, limit=None):
    """The bytes of regular file ``path``, a path the user gave (links followed,
    as ``open`` does), without blocking on a FIFO.

    Raises OSError as ``open`` does (ENOENT for a missing file, EISDIR for a
    folder; EINVAL for a FIFO, device or socket), UnsafeFile past ``limit``
    bytes (None: no limit).
    """
    fd = os.open(path, READ_FLAGS & FOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, 'is %s, not a regular file' % kind(mode), path)
        return b''.join(chunks(fd, path, limit))
    finally:
        os.close(fd)


def append(path, data, mode=0o644):
    """Add ``data`` at the end of file ``path`` (made with ``mode`` minus the
    umask when missing); a link, FIFO or other special file there is refused
    (OSError), never written through. For logs."""
    fd = os.open(path, APPEND_FLAGS, mode)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'not a regular file', path)
        write_all(fd, data)
    finally:
        os.close(fd)


def open_lock(dir_fd, name, create=True):
    """A read-write descriptor of lock file ``name`` in ``dir_fd`` (made 0600
    when missing and ``create``), never through a link."""
    return os.open(name, LOCK_FLAGS if create else LOCK_FLAGS & ~os.O_CREAT, 0o600, dir_fd=dir_fd)


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
    return os.open(name, CREATE_FLAGS, mode, dir_fd=dir_fd)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_new(dir_fd, name, data, mode=0o644):
    """Make new file ``name`` (``create_new``) holding ``data``."""
    fd = create_new(dir_fd, name, mode)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


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


def replace_file(path, data, mode=None, keep_owner=True, follow_symlinks=True):
    """Replace ``path`` with ``data`` (bytes) through ``write``: atomic, readers
    see the old file or the new one, never a part.

    ``mode`` defaults to the mode of the file being replaced (0644 for a new
    file); the owner and group are kept when the caller may set them. With
    ``follow_symlinks`` a symlink's target is replaced and the link stays;
    without, the link itself is replaced.
    Raises OSError; the temporary file is removed on failure.
    """
    if follow_symlinks:
        path = os.path.realpath(path)
    parent, base = os.path.split(os.path.abspath(path))
    with folder(parent) as dir_fd:
        try:
            old = os.lstat(base, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            old = None
        if old is not None and not (stat.S_ISREG(old.st_mode) or stat.S_ISLNK(old.st_mode)):
            code = errno.EISDIR if stat.S_ISDIR(old.st_mode) else errno.EINVAL
            raise OSError(code, 'is %s; refusing to replace it' % kind(old.st_mode), path)
        if old is not None and not stat.S_ISREG(old.st_mode):
            old = None  # a link being replaced: nothing to keep
        if mode is None:
            mode = stat.S_IMODE(old.st_mode) if old is not None else 0o644

        def settle(fd):
            if keep_owner and old is not None:
                try:
                    os.fchown(fd, old.st_uid, old.st_gid)
                except OSError:
                    pass  # not allowed to give it away: it stays ours
            # chmod after chown: chown may clear set-id bits.
            os.fchmod(fd, mode)
        write(dir_fd, base, data, path, mode=0o600, before_rename=settle)
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
                parent = os.open('..', DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                if _identity(fd) != frames[-1][1]:
                    raise UnsafeFile('bxenv: %s was moved while it was being walked' % '/'.join(rel))
                name = rel.pop()
                if not topdown:
                    yield fd, tuple(rel) + (name,), name, frame[3]
                continue
            name = frame[0].pop()
            mode = _mode(fd, name)
            if mode is None:
                continue  # removed meanwhile
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


def lstat(dir_fd, name):
    """``os.lstat`` of ``name`` in ``dir_fd``, or None when it does not exist."""
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def _mode(dir_fd, name):
    """The ``lstat`` mode of ``name`` in ``dir_fd``, or None when it does not exist."""
    info = lstat(dir_fd, name)
    return None if info is None else info.st_mode


def remove_tree(dir_fd, name):
    """Remove ``name`` in ``dir_fd`` and, for a real folder, all below it.

    A link is removed, never followed; a missing name is fine. Iterative
    (see ``walk``), so no tree is too deep to remove.
    """
    mode = _mode(dir_fd, name)
    if mode is None:
        return
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


@contextlib.contextmanager
def private_folder(prefix, base=None, ignore_errors=False):
    """A new folder ``<base>/<prefix><random>``, mode 0700, as ``tempfile.mkdtemp``
    makes (``base`` defaults to the system's temporary folder).

    Yields ``(path, descriptor)``; at the end the folder and all below it
    are removed (``remove_tree``, relative to ``base``), errors ignored with
    ``ignore_errors``.
    """
    base = tempfile.gettempdir() if base is None else base
    with folder(base) as base_fd:
        while True:
            name = prefix + binascii.hexlify(os.urandom(6)).decode()
            try:
                os.mkdir(name, 0o700, dir_fd=base_fd)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise
            break
        path = os.path.join(base, name)
        try:
            with folder_at(base_fd, name, path=base) as fd:
                yield path, fd
        finally:
            try:
                remove_tree(base_fd, name)
            except (OSError, UnsafeFile):
                if not ignore_errors:
                    raise


# renameat2(2) flags (Linux 3.15+, glibc 2.28+).
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


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
