# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Safe inspection and extraction of provider plugin archives.

The original piped the archive to ``tar``/``unzip`` straight into the live
folder, unchecked. Here every member is read and judged first, and nothing
is written unless the whole archive passes; then it is unpacked into a new
empty folder with our own code.

Why not ``tarfile``'s extraction filters: they exist only from Python 3.12
(and in security releases 3.8.17+, 3.9.17+, 3.10.12+, 3.11.4+), while the
managed node may run an older 3.8, and there is no such filter for zip.
For the record, the stdlib ``data`` filter would *cover*: absolute names and
``..`` (refused), links whose target leaves the destination, hard links to
outside, device files and FIFOs (refused), set-uid/set-gid/sticky and
group/other write bits (cleared rather than refused), and ownership (not
restored). It would *not* cover: a limit on the member count or on the
unpacked size (zip bombs), names that are not valid UTF-8, duplicate names,
members that travel through a symlink another member made (it relies on
``realpath`` at extraction time, not on refusing beforehand), an archive
that is refused only after part of it was written, the plugin layout, and
zip archives at all. The checks below cover all of these, for tar and zip
alike, before anything is written; extraction then opens every path with
``O_NOFOLLOW`` relative to directory descriptors and creates files with
``O_EXCL``, so even a check we got wrong cannot write outside the folder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import stat
import tarfile
import zipfile
import zlib

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

DEFAULT_MAX_MEMBERS = 1000
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
# Path components of one member. Real plugins nest a handful of folders; a
# member 1500 folders deep made the old code fail with RecursionError and
# leave a staging folder nothing could remove.
MAX_DEPTH = 64
SUFFIXES = ('.tar.gz', '.tgz', '.tar.bz2', '.tar.xz', '.zip')
_TAR_MODES = {'.tar.gz': 'r:gz', '.tgz': 'r:gz', '.tar.bz2': 'r:bz2', '.tar.xz': 'r:xz'}
# Our bookkeeping at the plugin root; an archive must not bring its own.
RECORD_FILE = '.bxenv-archive.json'
_CHUNK = 64 * 1024
# Data of one pax or GNU long-name header; real ones hold a few paths.
MAX_HEADER_DATA = 1024 * 1024
# Extended headers before one member: pax + GNU long name + long link is 3.
MAX_HEADER_CHAIN = 8
_LONG_HEADER_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                      tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)

FILE, DIRECTORY, SYMLINK = 'file', 'dir', 'symlink'


class ArchiveError(BxError):
    """The archive is unreadable, unsafe or not a plugin archive."""


def archive_format(path):
    """The matching suffix of ``path``; raises the original's message when none."""
    lower = path.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    raise ArchiveError(_messages.ARCHIVE_NOT_SUPPORTED)


def check_archive_file(path):
    """The original's checks: a regular file with a supported suffix."""
    if not os.path.isfile(path):
        raise ArchiveError(_messages.ARCHIVE_NOT_FOUND % path)
    return archive_format(path)


def _sha256_fd(fd, path):
    digest = hashlib.sha256()
    for chunk in _files.chunks(fd, path):
        digest.update(chunk)
    return digest.hexdigest()


def _open_archive(path):
    """The archive as a binary file object: a regular file, through the file layer."""
    handle = _files.open_binary(path)
    if handle is None:
        raise ArchiveError(_messages.ARCHIVE_NOT_FOUND % path)
    return handle


def _closing(reader, handle):
    """``reader`` (a TarFile or ZipFile given a file object) closing ``handle`` with it:
    neither closes a file object it was given."""
    close = reader.close

    def close_both():
        try:
            close()
        finally:
            handle.close()
    reader.close = close_both
    return reader


def _reader(factory, archive):
    handle = _open_archive(archive)
    try:
        return _closing(factory(handle), handle)
    except BaseException:
        handle.close()
        raise


def sha256_file(path):
    with _open_archive(path) as handle:
        return _sha256_fd(handle.fileno(), path)


class Member(object):
    """One archive member after the checks: a path relative to the plugin root."""

    def __init__(self, raw_name, kind, mode, size, linkname, source):
        self.raw_name = raw_name  # as in the archive, for messages
        self.parts = None  # path components as in the archive
        self.path = None  # relative to the plugin root, set by the layout step
        self.kind = kind
        self.mode = mode
        self.size = size
        self.linkname = linkname
        self.source = source  # TarInfo or ZipInfo


def _fail(archive, member, reason):
    if member is None:
        raise ArchiveError(_messages.ARCHIVE_BAD % (archive, reason))
    raise ArchiveError(_messages.ARCHIVE_BAD_MEMBER % (archive, member, reason))


def _utf8_name(archive, raw):
    """``raw`` (text that may carry surrogate escapes, or bytes) as UTF-8 text."""
    try:
        if isinstance(raw, bytes):
            return raw.decode('utf-8')
        raw.encode('utf-8')
        return raw
    except (UnicodeDecodeError, UnicodeEncodeError):
        _fail(archive, raw if isinstance(raw, str) else raw.decode('utf-8', 'replace'),
              'name is not valid UTF-8')


def _split(archive, name):
    """The path components of a member name; refuses absolute names and ``..``."""
    if '\x00' in name:
        _fail(archive, name, 'name contains NUL')
    if name.startswith('/'):
        _fail(archive, name, 'absolute path')
    if '\\' in name:
        _fail(archive, name, 'name contains a backslash')
    parts = [part for part in name.split('/') if part not in ('', '.')]
    if '..' in parts:
        _fail(archive, name, "path contains '..'")
    return parts


def _check_mode(archive, name, mode):
    if mode & (stat.S_ISUID | stat.S_ISGID):
        _fail(archive, name, 'set-uid or set-gid bit (mode %04o)' % (mode & 0o7777))


class _HeaderTooLarge(tarfile.TarError):
    pass


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax or GNU long-name header's data whole into memory,
    before we see the member: a few KiB of gzip can declare gigabytes of it.
    It also reads a chain of such headers by recursion: a long chain would
    end in RecursionError, so its length is bounded too."""

    def _proc_member(self, tarfile):  # the parameter name of the method it overrides
        if self.type not in _LONG_HEADER_TYPES:
            return super(_BoundedTarInfo, self)._proc_member(tarfile)
        if self.size > MAX_HEADER_DATA:
            raise _HeaderTooLarge('an extended header of %d bytes (at most %d)' % (self.size, MAX_HEADER_DATA))
        chain = getattr(tarfile, '_bxenv_header_chain', 0) + 1
        if chain > MAX_HEADER_CHAIN:
            raise _HeaderTooLarge('more than %d extended headers in a row' % MAX_HEADER_CHAIN)
        tarfile._bxenv_header_chain = chain
        try:
            return super(_BoundedTarInfo, self)._proc_member(tarfile)
        finally:
            tarfile._bxenv_header_chain = chain - 1


def _open_tar(archive, mode):
    return _reader(lambda handle: tarfile.open(archive, mode, fileobj=handle, encoding='utf-8',
                                               errors='surrogateescape', tarinfo=_BoundedTarInfo), archive)


def _tar_members(archive, mode, max_members, max_size):
    members = []
    total = 0
    try:
        with _open_tar(archive, mode) as tar:
            for info in tar:
                if len(members) >= max_members:
                    _fail(archive, None, 'more than %d members' % max_members)
                # Judged at the header: tarfile would decompress a member's
                # whole declared size just to skip to the next one.
                total += info.size if info.isreg() else 0
                _check_declared_size(archive, total, max_size)
                name = _utf8_name(archive, info.name)
                if info.isreg() and not info.issparse():
                    kind = FILE
                elif info.isdir():
                    kind = DIRECTORY
                elif info.issym():
                    kind = SYMLINK
                elif info.islnk():
                    _fail(archive, name, 'hard link (to %r)' % info.linkname)
                elif info.ischr() or info.isblk():
                    _fail(archive, name, 'device file')
                elif info.isfifo():
                    _fail(archive, name, 'FIFO')
                else:
                    _fail(archive, name, 'unsupported member type %r' % info.type)
                _check_mode(archive, name, info.mode)
                linkname = _utf8_name(archive, info.linkname) if kind == SYMLINK else None
                members.append(Member(name, kind, info.mode & 0o777, info.size if kind == FILE else 0,
                                      linkname, info))
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as exc:
        _fail(archive, None, 'cannot read it as %s: %s' % (mode[2:] + ' tar', exc))
    except Exception as exc:  # lzma.LZMAError (lzma may be missing at import time)
        if type(exc).__name__ != 'LZMAError':
            raise
        _fail(archive, None, 'cannot read it as xz tar: %s' % exc)
    return members


_ZIP_UTF8_FLAG = 0x800


def _check_declared_size(archive, total, max_size):
    if total > max_size:
        _fail(archive, None, 'unpacks to more than %d bytes (declared sizes)' % max_size)


def _zip_members(archive, max_members, max_size):
    members = []
    try:
        with _reader(zipfile.ZipFile, archive) as zipped:
            infos = zipped.infolist()
            if len(infos) > max_members:
                _fail(archive, None, 'more than %d members' % max_members)
            _check_declared_size(archive, sum(info.file_size for info in infos), max_size)
            for info in infos:
                # zipfile decodes names without the UTF-8 flag as cp437: get
                # the bytes back and insist on UTF-8, as for tar.
                if info.flag_bits & _ZIP_UTF8_FLAG:
                    name = info.filename
                else:
                    name = _utf8_name(archive, info.filename.encode('cp437'))
                unix_mode = info.external_attr >> 16 if info.create_system == 3 else 0
                file_type = stat.S_IFMT(unix_mode)
                if info.is_dir() or file_type == stat.S_IFDIR:
                    kind = DIRECTORY
                elif file_type == stat.S_IFLNK:
                    kind = SYMLINK
                elif file_type in (stat.S_IFCHR, stat.S_IFBLK):
                    _fail(archive, name, 'device file')
                elif file_type == stat.S_IFIFO:
                    _fail(archive, name, 'FIFO')
                elif file_type in (0, stat.S_IFREG):
                    kind = FILE
                else:
                    _fail(archive, name, 'unsupported member type %o' % file_type)
                _check_mode(archive, name, unix_mode)
                if kind == SYMLINK:
                    if info.file_size > 4096:
                        _fail(archive, name, 'symlink target too long')
                    linkname = _utf8_name(archive, zipped.read(info))
                else:
                    linkname = None
                perms = unix_mode & 0o777 or (0o755 if kind == DIRECTORY else 0o644)
                members.append(Member(name, kind, perms, info.file_size if kind == FILE else 0, linkname, info))
    except ArchiveError:
        raise
    except UnicodeDecodeError as exc:
        _fail(archive, None, 'a member name is not valid UTF-8: %s' % exc)
    except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError, OSError, zlib.error,
            NotImplementedError, RuntimeError, ValueError) as exc:
        _fail(archive, None, 'cannot read it as zip: %s' % exc)
    return members


def _strip_top(members, name):
    """Accept ``bin/<name>`` at the root, or everything in a single top folder."""
    paths = [m.parts for m in members if m.parts]
    if ['bin', name] in paths:
        return 0
    tops = set(parts[0] for parts in paths)
    if len(tops) == 1:
        top = tops.pop()
        if [top, 'bin', name] in paths:
            # The top folder itself must be a folder, not a file or a link.
            for member in members:
                if member.parts == [top] and member.kind != DIRECTORY:
                    return None
            return 1
    return None


def _resolve_link(archive, member, links):
    """Refuse a symlink whose target leaves the plugin root or runs through a link."""
    target = member.linkname
    if not target or target.startswith('/'):
        _fail(archive, member.raw_name, 'symlink to %r leaves the plugin folder' % target)
    current = member.path.split('/')[:-1]
    for part in target.split('/'):
        if part in ('', '.'):
            continue
        if part == '..':
            if not current:
                _fail(archive, member.raw_name, 'symlink to %r leaves the plugin folder' % target)
            current.pop()
            continue
        current.append(part)
        if '/'.join(current) in links:
            _fail(archive, member.raw_name, 'symlink to %r goes through another symlink' % target)


def _members(archive, max_members, max_size):
    """Every member of ``archive`` with its path parts; ArchiveError when unreadable or too deep."""
    suffix = check_archive_file(archive)
    if suffix == '.zip':
        members = _zip_members(archive, max_members, max_size)
    else:
        members = _tar_members(archive, _TAR_MODES[suffix], max_members, max_size)
    for member in members:
        member.parts = _split(archive, member.raw_name)
        if len(member.parts) > MAX_DEPTH:
            shown = member.raw_name if len(member.raw_name) <= 200 else member.raw_name[:200] + '...'
            _fail(archive, shown, 'nested deeper than %d folders' % MAX_DEPTH)
    return members


def plugin_layouts(archive, max_members=DEFAULT_MAX_MEMBERS, max_size=DEFAULT_MAX_SIZE):
    """``[(name, top)]``, sorted: every ``bin/<name>`` file ``archive`` holds at
    its root (``top`` None) or in its single top folder ``top``; for callers
    that are given an archive without the plugin's name. Writes nothing."""
    members = _members(archive, max_members, max_size)
    paths = [m.parts for m in members if m.parts and m.kind == FILE]
    found = set((parts[1], None) for parts in paths if len(parts) == 2 and parts[0] == 'bin')
    tops = set(parts[0] for parts in paths) | set(m.parts[0] for m in members if m.parts)
    if len(tops) == 1:
        top = tops.pop()
        found.update((parts[2], top) for parts in paths if len(parts) == 3 and parts[:2] == [top, 'bin'])
    return sorted(found, key=lambda layout: (layout[0], layout[1] or ''))


def inspect(archive, name, max_members=DEFAULT_MAX_MEMBERS, max_size=DEFAULT_MAX_SIZE):
    """Read and judge every member of ``archive`` for plugin ``name``; write nothing.

    Returns the members (paths relative to the plugin root) in archive order.
    Raises ArchiveError naming the archive, the member and the reason.
    """
    members = _members(archive, max_members, max_size)
    strip = _strip_top(members, name)
    if strip is None:
        _fail(archive, None, 'no bin/%s at its root or in a single top folder' % name)
    kept = []
    for member in members:
        parts = member.parts[strip:]
        if parts:  # else the root or the top folder itself
            member.path = '/'.join(parts)
            kept.append(member)
    links = set(m.path for m in kept if m.kind == SYMLINK)
    seen = set()
    for member in kept:
        parts = member.path.split('/')
        if parts[0] == 'tasks':
            _fail(archive, member.raw_name, 'a plugin archive must not carry tasks/ (orders)')
        if member.path == RECORD_FILE:
            _fail(archive, member.raw_name, '%s is reserved for bitrix.bxenv' % RECORD_FILE)
        if member.path in seen:
            _fail(archive, member.raw_name, 'appears twice')
        seen.add(member.path)
        if member.kind == SYMLINK:
            _resolve_link(archive, member, links)
        for depth in range(1, len(parts)):
            if '/'.join(parts[:depth]) in links:
                _fail(archive, member.raw_name, 'path goes through symlink %r' % '/'.join(parts[:depth]))
    executable = 'bin/' + name
    for member in kept:
        if member.path == executable and member.kind != FILE:
            _fail(archive, member.raw_name, 'bin/%s must be a regular file' % name)
        if member.kind != DIRECTORY and executable.startswith(member.path + '/'):
            _fail(archive, member.raw_name, 'bin/%s must be a regular file' % name)
    return kept


class _Opener(object):
    """Yields a readable binary stream for a member's data."""

    def __init__(self, archive):
        self.archive = archive
        self.handle = None

    def __enter__(self):
        if archive_format(self.archive) == '.zip':
            self.handle = _reader(zipfile.ZipFile, self.archive)
            self.open = lambda member: self.handle.open(member.source)
        else:
            self.handle = _open_tar(self.archive, _TAR_MODES[archive_format(self.archive)])
            self.open = lambda member: self.handle.extractfile(member.source)
        return self

    def __exit__(self, *exc_info):
        self.handle.close()


def copy_limited(source, fd, budget, archive, member_name):
    """Copy ``source`` to ``fd``; fail once more than ``budget`` bytes came.

    Declared sizes can lie (zip bombs): the bytes are counted as they come.
    Returns (bytes written, sha256 hex).
    """
    digest = hashlib.sha256()
    written = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            break
        written += len(chunk)
        if written > budget:
            _fail(archive, member_name, 'unpacks to more than the size limit')
        digest.update(chunk)
        _files.write_all(fd, chunk)
    return written, digest.hexdigest()


def file_mode(path, mode, name):
    """The mode a plugin file gets: no set-id/sticky, no group/other write."""
    if path == 'bin/' + name:
        return 0o755
    return (mode & 0o755) | 0o600


def extract(archive, name, dest, max_members=DEFAULT_MAX_MEMBERS, max_size=DEFAULT_MAX_SIZE):
    """Inspect ``archive``, then unpack it into the empty folder ``dest``.

    Returns the manifest of what was written (see ``manifest``). On any error
    the caller removes ``dest``; nothing outside it is ever written.
    """
    members = inspect(archive, name, max_members, max_size)
    with _files.folder(dest) as root_fd:
        if os.listdir(root_fd):
            raise ArchiveError(_messages.STAGING_NOT_EMPTY % dest)
        entries = _unpack(archive, name, dest, members, root_fd, max_size)
        # Folders were made 0700 so nothing could slip in while unpacking.
        os.fchmod(root_fd, 0o755)
        for parent, _rel, entry, mode in _files.walk(root_fd):
            if stat.S_ISDIR(mode):
                os.chmod(entry, 0o755, dir_fd=parent)
    return entries


def _unpack(archive, name, dest, members, root_fd, budget):
    entries = {}
    try:
        with _Opener(archive) as opener:
            for member in members:
                parts = member.path.split('/')
                # Folders made 0700, so nothing can slip in while unpacking;
                # one already there must be a real folder, not a link.
                if member.kind == DIRECTORY:
                    with _files.folder_at(root_fd, *parts, create=True, mode=0o700):
                        continue
                with _files.folder_at(root_fd, *parts[:-1], create=True, mode=0o700) as dir_fd:
                    base = parts[-1]
                    if member.kind == SYMLINK:
                        os.symlink(member.linkname, base, dir_fd=dir_fd)
                        entries[member.path] = {'link': member.linkname}
                    else:
                        mode = file_mode(member.path, member.mode, name)
                        fd = _files.create_new(dir_fd, base, 0o600)
                        try:
                            source = opener.open(member)
                            try:
                                size, digest = copy_limited(source, fd, budget, archive, member.raw_name)
                            finally:
                                source.close()
                            os.fchmod(fd, mode)
                        finally:
                            os.close(fd)
                        budget -= size
                        entries[member.path] = {'sha256': digest, 'size': size, 'mode': '%04o' % mode}
    except ArchiveError:
        raise
    except (tarfile.TarError, zipfile.BadZipfile, EOFError, zlib.error) as exc:
        _fail(archive, None, 'cannot unpack it: %s' % exc)
    except (OSError, _files.UnsafeFile) as exc:
        _fail(archive, None, 'cannot unpack it into %s: %s' % (dest, getattr(exc, 'message', exc)))
    return entries


def manifest(folder, skip=('tasks', RECORD_FILE)):
    """``relpath -> {sha256, size, mode}`` (or ``{link}``) of the files under ``folder``.

    Top-level names in ``skip`` are left out (the orders and our bookkeeping).
    Links are never followed, special files never opened (``{type: special}``).
    """
    entries = {}
    try:
        with _files.folder(folder) as top:
            for parent, rel, name, mode in _files.walk(top, skip=skip):
                path = '/'.join(rel)
                if stat.S_ISLNK(mode):
                    entries[path] = {'link': os.readlink(name, dir_fd=parent)}
                elif stat.S_ISREG(mode):
                    fd = _files.open_file(parent, name, os.path.join(folder, path))
                    if fd is None:
                        continue  # removed meanwhile
                    try:
                        info = os.fstat(fd)
                        entries[path] = {'sha256': _sha256_fd(fd, path), 'size': info.st_size,
                                         'mode': '%04o' % stat.S_IMODE(info.st_mode)}
                    finally:
                        os.close(fd)
                elif not stat.S_ISDIR(mode):
                    entries[path] = {'type': 'special'}
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return entries
        raise
    return entries


def diff_manifests(before, after):
    """``{added, changed, removed}``: sorted relpaths."""
    return {
        'added': sorted(set(after) - set(before)),
        'changed': sorted(p for p in set(after) & set(before) if after[p] != before[p]),
        'removed': sorted(set(before) - set(after)),
    }


def manifest_text(entries):
    """One line per file, for Ansible's diff display."""
    lines = []
    for path in sorted(entries):
        entry = entries[path]
        if 'link' in entry:
            lines.append('%s -> %s' % (path, entry['link']))
        elif 'sha256' in entry:
            lines.append('%s mode=%s size=%d sha256=%s' % (path, entry['mode'], entry['size'], entry['sha256']))
        else:
            lines.append('%s (special file)' % path)
    return ''.join(line + '\n' for line in lines)
