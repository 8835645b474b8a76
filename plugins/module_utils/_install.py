# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Install, upgrade and remove provider plugins (docs/protocol.md 6.8, 6.9; docs/protocol.md, differences 11, 12).

The live folder ``<root>/<name>`` is never half-written and never missing:
an archive is checked and unpacked into a staging folder in our work folder
next to the providers root (``<state>/work/<name>/``, see
``_locking.state_dir``; the original lists every sub-folder of the root as
a provider, so nothing of ours is kept there), its ``bin/<name>`` must
answer ``help`` with a valid reply, then one ``renameat2(RENAME_EXCHANGE)``
swaps it with the live folder. Orders in ``tasks/`` are hard-linked into
the staging folder before the swap, so a kill at any point leaves the old
provider with its orders or the new one with them. Where the exchange is
not available (not Linux, a kernel before 3.15, glibc before 2.28, a
filesystem without it) two renames are used, and a kill between them is
undone at the next install or uninstall of that name. Leftovers of a
killed run are settled at the next run, under the same per-provider lock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import contextlib
import errno
import grp
import json
import os
import pwd
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _files, _locking, _messages, _orders, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_provider_name
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers

DEFAULT_OWNER = 'bitrix'
# Entries of <state>/work/<name>/: "staging-<inode>" (the staging folder,
# named after its own inode: one whose inode differs was swapped and holds
# the previous plugin), "new-*" (a staging folder not yet named), "old-*"
# (the previous plugin, when two renames swap), "removing-*" (uninstall).
STAGING, NEW, OLD, REMOVING = 'staging', 'new', 'old', 'removing'
# Side folders that versions before issue 21 made in the providers root.
_LEGACY_KINDS = (STAGING, OLD, REMOVING)
# Our record lists every archive file with its digest: room for many.
MAX_RECORD = 64 * 1024 * 1024
# Provider configs are small; a bound keeps a planted huge file out of memory.
MAX_CONFIG = 16 * 1024 * 1024


def created_message(holder):
    # 'you can found' (sic): the original's text, kept (docs/protocol.md section 11).
    return _messages.DATA_CREATED % holder


def deleted_message(holder):
    return _messages.DATA_DELETED % holder


def resolve_owner(owner, group):
    """``(uid, gid)`` of existing ``owner`` and ``group``; BxError when one is missing."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise BxError(_messages.NO_USER % owner)
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise BxError(_messages.NO_GROUP % group)
    return uid, gid


@contextlib.contextmanager
def plugin_lock(providers, name):
    """Install and removal of one provider: its plugin lock, then its order
    lock, so they wait for an order in flight and none starts meanwhile."""
    with _locking.provider_lock(providers.root, name, 'plugin'):
        with _orders.provider_order_lock(providers, name):
            yield


def work_path(root, name):
    parent, state = _locking.state_dir(root)
    return os.path.join(parent, state, _locking.WORK_DIR, name)


@contextlib.contextmanager
def _folders(root, name):
    """Descriptors of the providers root and of ``<state>/work/<name>/``.

    Both must be on one filesystem, so that a swap is a rename.
    """
    with _files.folder(root) as root_fd:
        with _locking.state_folder(root, _locking.WORK_DIR, name) as work_fd:
            if os.fstat(root_fd).st_dev != os.fstat(work_fd).st_dev:
                raise BxError('bxenv: %s and the providers root %s are on different filesystems; a providers '
                              'root that is a mount point is not supported' % (work_path(root, name), root))
            yield root_fd, work_fd


def _link_tree(src_fd, dst_fd):
    """Rebuild open folder ``src_fd`` in the empty ``dst_fd``: hard links for
    files, links as links, folders with their modes and owners. Bounded depth
    (``tasks/`` holds a folder or two of ours); nothing is followed. Folders
    come after their entries (``_files.walk``), so their modes are set last."""
    for dir_fd, rel, name, mode in _files.walk(src_fd, topdown=False):
        if len(rel) > _archive.MAX_DEPTH + 1 or (len(rel) > _archive.MAX_DEPTH and stat.S_ISDIR(mode)):
            raise BxError('bxenv: tasks/ is nested deeper than %d folders; not copying it' % _archive.MAX_DEPTH)
        with _files.folder_at(dst_fd, *rel[:-1], create=True, mode=0o700) as parent_fd:
            if stat.S_ISDIR(mode):
                with _files.folder_at(parent_fd, name, create=True, mode=0o700) as folder_fd:
                    _copy_owner_and_mode(os.lstat(name, dir_fd=dir_fd), folder_fd)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(name, dir_fd=dir_fd), name, dir_fd=parent_fd)
            elif stat.S_ISREG(mode):
                os.link(name, name, src_dir_fd=dir_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
    _copy_owner_and_mode(os.fstat(src_fd), dst_fd)


def _copy_owner_and_mode(info, fd):
    os.fchown(fd, info.st_uid, info.st_gid)
    os.fchmod(fd, stat.S_IMODE(info.st_mode))


class _Fd(object):
    """An open descriptor for ``contextlib.closing``."""

    def __init__(self, fd):
        self.fd = fd

    def close(self):
        os.close(self.fd)


def _sub(dir_fd, entry):
    """``closing`` of real folder ``entry`` in ``dir_fd``, or None when it is missing,
    a link or not a folder (nothing of ours to carry)."""
    try:
        return contextlib.closing(_Fd(_files.open_dir(dir_fd, entry, entry)))
    except (OSError, _files.UnsafeFile):
        return None


def keep_tasks(holder_fd, staging_fd):
    """Carry the live ``tasks/`` into the staging folder.

    A real folder is rebuilt with hard links; a link is data we keep as a
    link, never a folder to copy into (its target may be outside the tree).
    """
    info = _files.lstat(holder_fd, _tasks.TASKS_DIR)
    if info is None:
        return
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(_tasks.TASKS_DIR, dir_fd=holder_fd), _tasks.TASKS_DIR, dir_fd=staging_fd)
    elif stat.S_ISDIR(info.st_mode):
        os.mkdir(_tasks.TASKS_DIR, 0o700, dir_fd=staging_fd)
        with _sub(holder_fd, _tasks.TASKS_DIR) as src, _sub(staging_fd, _tasks.TASKS_DIR) as dst:
            _link_tree(src.fd, dst.fd)


def reconcile_tasks(old_fd, new_fd, temp_fd):
    """Bring into tasks folder ``new_fd`` what changed in ``old_fd`` after they were linked.

    An order written between the hard-link copy and the swap is a new file
    (or a new inode after an atomic rewrite) in the old folder only; the
    newer change (ctime) wins, so a later write to the live folder is kept.
    Replacements are linked in ``temp_fd`` (``tasks/.bxenv/tmp``) and renamed.
    Entries deeper than the depth bound, and those under a folder that is
    missing, a link or not a folder in ``new_fd``, are left alone.
    """
    for dir_fd, rel, name, mode in _files.walk(old_fd):
        is_dir = stat.S_ISDIR(mode)
        if len(rel) > _archive.MAX_DEPTH + 1 or not (is_dir or stat.S_ISREG(mode) and not _files.is_temp(name)):
            continue
        stack = contextlib.ExitStack()
        try:
            parent_fd = stack.enter_context(_files.folder_at(new_fd, *rel[:-1]))
        except (OSError, _files.UnsafeFile):
            continue
        with stack:
            new = _files.lstat(parent_fd, name)
            if is_dir:
                if new is None:
                    os.mkdir(name, _files.DIR_MODE, dir_fd=parent_fd)
                continue
            old = os.lstat(name, dir_fd=dir_fd)
            if new is not None and (new.st_ino == old.st_ino or new.st_ctime_ns >= old.st_ctime_ns):
                continue
            temp = _files.temp_name()
            os.link(name, temp, src_dir_fd=dir_fd, dst_dir_fd=temp_fd, follow_symlinks=False)
            os.rename(temp, name, src_dir_fd=temp_fd, dst_dir_fd=parent_fd)


def _reconcile_from(root_fd, name, dir_fd, entry):
    """Carry late orders of the previous plugin ``entry`` (in ``dir_fd``) into the live one."""
    old, live = _sub(dir_fd, entry), _sub(root_fd, name)
    if old is None or live is None:
        return
    with old as old_holder, live as live_holder:
        old_tasks = _sub(old_holder.fd, _tasks.TASKS_DIR)
        if old_tasks is None:
            return
        with old_tasks as src:
            if _files.lstat(live_holder.fd, _tasks.TASKS_DIR) is None:
                os.mkdir(_tasks.TASKS_DIR, _files.DIR_MODE, dir_fd=live_holder.fd)
            new_tasks = _sub(live_holder.fd, _tasks.TASKS_DIR)
            if new_tasks is None:
                return  # a linked tasks/ was kept as the link: nothing was copied
            with new_tasks as dst, _files.folder_at(dst.fd, *_tasks.TEMP_PARTS, create=True) as temp_fd:
                reconcile_tasks(src.fd, dst.fd, temp_fd)


def _settle(root_fd, name, dir_fd, entry, kind):
    """Settle one leftover ``entry`` of a killed run, of ``kind``; returns True when removed.

    The previous plugin (``old``, or a staging folder whose inode is not the
    one in its name: swapped) goes back in place when the live one is
    missing, else gives its late orders to the live one; the rest is removed.
    """
    if kind == STAGING and entry == '%s-%d' % (STAGING, os.lstat(entry, dir_fd=dir_fd).st_ino):
        kind = NEW  # never swapped: a new plugin that was not finished
    elif kind == STAGING:
        kind = OLD
    if kind == OLD:
        if _files.lstat(root_fd, name) is None:
            os.rename(entry, name, src_dir_fd=dir_fd, dst_dir_fd=root_fd)
            return False
        _reconcile_from(root_fd, name, dir_fd, entry)
    _files.remove_tree(dir_fd, entry)
    return True


def clean_leftovers(root, name):
    """Settle what a killed run left: restore or finish a swap, drop staging folders.

    Must run under ``plugin_lock``. Returns the leftovers it removed. Also
    settles the side folders versions before issue 21 made in the root.
    """
    with _folders(root, name) as (root_fd, work_fd):
        return _clean(root_fd, work_fd, name)


def _clean(root_fd, work_fd, name):
    removed = []
    legacy = ['.%s.%s-' % (name, kind) for kind in _LEGACY_KINDS]
    places = [(root_fd, entry, kind) for entry in os.listdir(root_fd)
              for kind, prefix in zip(_LEGACY_KINDS, legacy) if entry.startswith(prefix)]
    places += [(work_fd, entry, entry.split('-', 1)[0]) for entry in os.listdir(work_fd)]
    # the previous plugin first: it may have to go back in place
    for dir_fd, entry, kind in sorted(places, key=lambda place: place[2] != OLD):
        if _settle(root_fd, name, dir_fd, entry, kind):
            removed.append(entry)
    return removed


def chown_tree(top_fd, uid, gid):
    os.fchown(top_fd, uid, gid)
    for parent, _rel, entry, _mode in _files.walk(top_fd):
        os.chown(entry, uid, gid, dir_fd=parent, follow_symlinks=False)


def read_record(holder):
    """Our record of the installed archive (``.bxenv-archive.json``), or None.

    Read through the file layer: a link, FIFO or device there is refused
    (UnsafeFile), never followed or waited on; an unreadable JSON is None.
    """
    data = _files.read_under(holder, (), _archive.RECORD_FILE, os.path.join(holder, _archive.RECORD_FILE),
                             MAX_RECORD)
    try:
        record = json.loads(data.decode('utf-8')) if data is not None else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _write_record(staging_fd, staging, record):
    _files.write(staging_fd, _archive.RECORD_FILE, json.dumps(record, sort_keys=True, indent=1).encode('utf-8'),
                 os.path.join(staging, _archive.RECORD_FILE), mode=0o644, exclusive=True)


def config_relpath(name):
    return 'etc/%s.conf' % name


def is_current(holder, name, sha256, replace_config):
    """True when ``holder`` holds the archive ``sha256`` and its files are intact.

    Files the provider made itself (logs, caches) are not our business; files
    from the archive that were changed or removed mean a reinstall. The config
    is not compared unless the archive's is to replace it.
    """
    try:
        record = read_record(holder)
    except _files.UnsafeFile as exc:
        raise BxError(_messages.UNKNOWN_INSTALLED % (holder, exc.message))
    if not record or record.get('sha256') != sha256 or not isinstance(record.get('files'), dict):
        return False
    live = _archive.manifest(holder)
    for path, entry in record['files'].items():
        if path == config_relpath(name) and not replace_config:
            continue
        if live.get(path) != entry:
            return False
    return True


def _keep_config(holder, staging, name):
    """Put the live ``etc/<name>.conf`` into the staging folder; False when there is none.

    Read through the file layer: an ``etc/`` or config that is a link, FIFO
    or device is refused, never followed (it could lead to any file of the host).
    """
    source = os.path.join(holder, config_relpath(name))
    base = name + '.conf'
    try:
        with _files.folder(holder, 'etc') as etc_fd:
            fd = _files.open_file(etc_fd, base, source)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    except _files.UnsafeFile as exc:
        raise BxError(_messages.CANNOT_KEEP_CONFIG % (source, exc.message))
    if fd is None:
        return False
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        data = b''.join(_files.chunks(fd, source, MAX_CONFIG))
    except _files.UnsafeFile as exc:
        raise BxError(_messages.CANNOT_KEEP_CONFIG % (source, exc.message))
    finally:
        os.close(fd)
    with _files.folder(staging) as staging_fd:
        with _files.folder_at(staging_fd, 'etc', create=True, mode=0o700, path=staging) as etc_fd:
            _files.write(etc_fd, base, data, os.path.join(staging, config_relpath(name)), mode=0o600,
                         before_rename=lambda new: os.fchmod(new, mode))
        os.chmod('etc', 0o755, dir_fd=staging_fd)
    return True


def _check_help(providers, name, staging, src):
    """``bin/<name> help`` from ``staging`` must give a valid, non-error reply."""
    record = providers.empty_record(name)
    record['files'] = {
        'holder': staging,
        'execute': os.path.join(staging, 'bin', name),
        'config': os.path.join(staging, config_relpath(name)),
    }
    try:
        return providers.call(record, 'help')
    except BxError as exc:
        raise BxError(_messages.ARCHIVE_NO_HELP % (src, name, exc.message))


def _result(changed, holder, provider, sha256, before, after):
    return {
        'changed': changed,
        'message': created_message(holder),
        'provider': provider,
        'sha256': sha256,
        'files': _archive.diff_manifests(before, after),
        'diff': {'before': _archive.manifest_text(before), 'after': _archive.manifest_text(after),
                 'before_header': holder, 'after_header': holder},
    }


def install(providers, name, src, owner=DEFAULT_OWNER, group=DEFAULT_OWNER, force=False,
            replace_config=False, max_members=_archive.DEFAULT_MAX_MEMBERS,
            max_size=_archive.DEFAULT_MAX_SIZE, check_mode=False):
    """Install or upgrade plugin ``name`` from archive ``src`` (state present).

    Returns ``{changed, message, provider, sha256, files, diff}``; raises
    BxError with nothing written when anything is wrong. ``force`` reinstalls
    even when the same archive is installed.
    """
    try:
        return _install(providers, name, src, owner, group, force, replace_config,
                        max_members, max_size, check_mode)
    except (IOError, OSError) as exc:
        raise BxError(_messages.CANNOT_INSTALL % (name, src, exc))


def _install(providers, name, src, owner, group, force, replace_config, max_members, max_size, check_mode):
    check_provider_name(name)
    uid, gid = resolve_owner(owner, group)
    _archive.check_archive_file(src)
    sha256 = _archive.sha256_file(src)
    root = providers.root
    holder = providers.holder(name)
    if os.path.islink(holder):
        raise BxError(_messages.HOLDER_SYMLINK % holder)
    if os.path.lexists(holder) and not os.path.isdir(holder):
        raise BxError(_messages.HOLDER_NOT_FOLDER % holder)
    if check_mode:
        return _install_check(providers, name, src, sha256, force, replace_config, max_members, max_size)
    if not os.path.isdir(root):
        os.makedirs(root, 0o755)
    with plugin_lock(providers, name), _folders(root, name) as (root_fd, work_fd):
        _clean(root_fd, work_fd, name)
        before = _archive.manifest(holder)
        if not force and is_current(holder, name, sha256, replace_config):
            return _result(False, holder, providers.probe(name), sha256, before, before)
        entry = _new_staging(work_fd)
        staging = os.path.join(work_path(root, name), entry)
        try:
            files = _archive.extract(src, name, staging, max_members, max_size)
            if not replace_config:
                _keep_config(holder, staging, name)
            after = _archive.manifest(staging)
            _check_help(providers, name, staging, src)
            with _files.folder_at(work_fd, entry, path=staging) as staging_fd:
                _write_record(staging_fd, staging, {'sha256': sha256, 'archive': os.path.basename(src),
                                                    'files': files})
                chown_tree(staging_fd, uid, gid)
                live = _sub(root_fd, name)
                if live is not None:
                    with live as holder_fd:
                        keep_tasks(holder_fd.fd, staging_fd)
            _swap(root_fd, work_fd, name, entry)
        except BaseException:
            # Not swapped: a new plugin to drop; swapped: the previous one,
            # whose late orders the live one still needs (else the next run does).
            try:
                _settle(root_fd, name, work_fd, entry, STAGING)
            except Exception:
                pass
            raise
    return _result(True, holder, providers.probe(name), sha256, before, after)


def _new_staging(work_fd):
    """Make the staging folder ``staging-<its inode>`` in ``work_fd``; returns its name.

    Made under a temporary name, then named: a folder called after its own
    inode was never swapped (see ``_settle``).
    """
    temp = '%s-%s' % (NEW, binascii.hexlify(os.urandom(6)).decode())
    os.mkdir(temp, 0o700, dir_fd=work_fd)
    entry = '%s-%d' % (STAGING, os.lstat(temp, dir_fd=work_fd).st_ino)
    os.rename(temp, entry, src_dir_fd=work_fd, dst_dir_fd=work_fd)
    return entry


def _swap(root_fd, work_fd, name, entry):
    """Put staging folder ``entry`` in place of the live ``name``; the live one is never missing.

    One ``renameat2(RENAME_EXCHANGE)`` where the system has it (``entry``
    then holds the previous plugin); else two renames through ``old-*``,
    which the next run undoes when a kill came between them.
    """
    if _files.lstat(root_fd, name) is None:
        if not _files.rename2(work_fd, entry, root_fd, name, _files.RENAME_NOREPLACE):
            os.rename(entry, name, src_dir_fd=work_fd, dst_dir_fd=root_fd)
        return
    if _files.rename2(work_fd, entry, root_fd, name, _files.RENAME_EXCHANGE):
        old = entry
    else:
        old = '%s-%s' % (OLD, binascii.hexlify(os.urandom(6)).decode())
        os.rename(name, old, src_dir_fd=root_fd, dst_dir_fd=work_fd)
        os.rename(entry, name, src_dir_fd=work_fd, dst_dir_fd=root_fd)
    _settle(root_fd, name, work_fd, old, OLD)


def _install_check(providers, name, src, sha256, force, replace_config, max_members, max_size):
    """Check mode: judge and unpack into a private temporary folder outside the providers root."""
    holder = providers.holder(name)
    before = _archive.manifest(holder)
    if not force and is_current(holder, name, sha256, replace_config):
        return _result(False, holder, providers.probe(name), sha256, before, before)
    with _files.private_folder('bxenv-plugin-check-') as (scratch, scratch_fd):  # 0700, a new name
        os.mkdir(name, 0o777, dir_fd=scratch_fd)
        staging = os.path.join(scratch, name)
        _archive.extract(src, name, staging, max_members, max_size)
        if not replace_config:
            _keep_config(holder, staging, name)
        after = _archive.manifest(staging)
        view = Providers(scratch, providers.runner, timeout=providers.timeout, max_output=providers.max_output)
        _check_help(view, name, staging, src)
        provider = view.probe(name)
        provider['files'] = providers.empty_record(name)['files']
    return _result(True, holder, provider, sha256, before, after)


def pending_orders(holder):
    """Task ids in ``tasks/`` whose file does not start with ``complete``.

    A link, FIFO or device there is never followed or opened for reading;
    it counts as pending, so removal without ``force`` refuses and names it.
    """
    try:
        names = _tasks.list_task_ids(holder)
    except _files.UnsafeFile:
        return [_tasks.TASKS_DIR]  # tasks/ itself is a link: not ours to judge
    except OSError:
        return []
    pending = []
    for entry in names:
        try:
            content = _tasks.read_task_file(holder, entry)
        except BxError:
            content = None
        if content is None or not content.startswith('complete'):
            pending.append(entry)
    return pending


def remove(providers, name, force=False, check_mode=False):
    """Remove plugin ``name`` (state absent). Returns ``{changed, message, files}``.

    Refuses while the provider has orders that are not complete, unless
    ``force``. A provider folder that is a symlink loses the link only.
    """
    check_provider_name(name)
    try:
        return _remove(providers, name, force, check_mode)
    except (IOError, OSError) as exc:
        raise BxError(_messages.CANNOT_REMOVE % (name, exc))


def _remove(providers, name, force, check_mode):
    root = providers.root
    holder = providers.holder(name)
    if not os.path.isdir(root):
        return _removed(False, holder, {})
    if check_mode:
        return _remove_steps(holder, name, force, check_mode)
    with plugin_lock(providers, name), _folders(root, name) as (root_fd, work_fd):
        _clean(root_fd, work_fd, name)
        return _remove_steps(holder, name, force, check_mode, root_fd, work_fd)


def _removed(changed, holder, before):
    return {
        'changed': changed,
        'message': deleted_message(holder),
        'files': _archive.diff_manifests(before, {}),
        'diff': {'before': _archive.manifest_text(before), 'after': '',
                 'before_header': holder, 'after_header': holder},
    }


def _remove_steps(holder, name, force, check_mode, root_fd=None, work_fd=None):
    if not os.path.lexists(holder):
        return _removed(False, holder, {})
    pending = pending_orders(holder)
    if pending and not force:
        raise BxError(_messages.ORDERS_PENDING % (name, ', '.join(pending), holder))
    before = _archive.manifest(holder, skip=())
    if check_mode:
        return _removed(True, holder, before)
    if stat.S_ISDIR(os.lstat(name, dir_fd=root_fd).st_mode):
        # Out of the root in one rename, then removed at leisure: a kill
        # leaves it in our work folder, removed by the next run.
        doomed = '%s-%s' % (REMOVING, binascii.hexlify(os.urandom(6)).decode())
        os.rename(name, doomed, src_dir_fd=root_fd, dst_dir_fd=work_fd)
        _files.remove_tree(work_fd, doomed)
    else:
        os.unlink(name, dir_fd=root_fd)  # a link loses only the link
    return _removed(True, holder, before)
