# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Install, upgrade and remove provider plugins (docs/protocol.md 6.8, 6.9; docs/protocol.md, differences 11, 12).

The live folder ``<root>/<name>`` is never half-written: an archive is
checked and unpacked into ``<root>/.<name>.staging-*`` (a dot-name, so it is
never listed as a provider), its ``bin/<name>`` must answer ``help`` with a
valid reply, then two renames swap it in (live -> ``.<name>.old-*``, staging
-> live). Orders in ``tasks/`` are hard-linked into the staging folder before
the swap, so a kill at any point leaves either the old provider with its
orders or the new one with them. Leftovers of a killed run are settled at the
next run, under the same per-provider lock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import grp
import json
import os
import pwd
import shutil
import stat
import tempfile

from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _files, _orders, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_provider_name
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import provider_lock
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.plugins.module_utils._tasks import tasks_dir

DEFAULT_OWNER = 'bitrix'
STAGING, OLD, REMOVING = 'staging', 'old', 'removing'


def created_message(holder):
    # 'you can found' (sic): the original's text, kept (docs/protocol.md section 11).
    return 'bxProvider: Provider data created, you can found it in %s' % holder


def deleted_message(holder):
    return 'bxProvider: Provider data deleted from %s' % holder


def resolve_owner(owner, group):
    """``(uid, gid)`` of existing ``owner`` and ``group``; BxError when one is missing."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise BxError('bxProvider: user %s does not exist on the host' % owner)
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise BxError('bxProvider: group %s does not exist on the host' % group)
    return uid, gid


def _side_name(root, name, kind):
    return os.path.join(root, '.%s.%s-' % (name, kind))


@contextlib.contextmanager
def plugin_lock(providers, name):
    """Install and removal of one provider: its plugin lock, then its order
    lock, so they wait for an order in flight and none starts meanwhile."""
    with provider_lock(providers.root, name, 'plugin'):
        with _orders.provider_order_lock(providers, name):
            yield


def _remove_tree(path):
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def link_tree(source, dest):
    """Rebuild folder ``source`` at ``dest``: hard links for files, same folder modes and owners."""
    info = os.lstat(source)
    os.mkdir(dest, 0o700)
    for entry in sorted(os.listdir(source)):
        src_path, dst_path = os.path.join(source, entry), os.path.join(dest, entry)
        mode = os.lstat(src_path).st_mode
        if stat.S_ISDIR(mode):
            link_tree(src_path, dst_path)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src_path), dst_path)
        elif stat.S_ISREG(mode):
            os.link(src_path, dst_path)
    os.chown(dest, info.st_uid, info.st_gid, follow_symlinks=False)
    os.chmod(dest, stat.S_IMODE(info.st_mode))


def keep_tasks(holder, staging):
    """Carry the live ``tasks/`` into the staging folder.

    A real folder is rebuilt with hard links; a link is data we keep as a
    link, never a folder to copy into (its target may be outside the tree).
    """
    source = tasks_dir(holder)
    if os.path.islink(source):
        os.symlink(os.readlink(source), tasks_dir(staging))
    elif os.path.isdir(source):
        link_tree(source, tasks_dir(staging))


def reconcile_tasks(old_tasks, new_tasks):
    """Bring into ``new_tasks`` what changed in ``old_tasks`` after they were linked.

    An order written between the hard-link copy and the swap is a new file
    (or a new inode after an atomic rewrite) in the old folder only.
    """
    if not os.path.isdir(old_tasks) or os.path.islink(old_tasks):
        return
    if not os.path.isdir(new_tasks):
        link_tree(old_tasks, new_tasks)
        return
    for entry in os.listdir(old_tasks):
        src_path, dst_path = os.path.join(old_tasks, entry), os.path.join(new_tasks, entry)
        src = os.lstat(src_path)
        if stat.S_ISDIR(src.st_mode):
            reconcile_tasks(src_path, dst_path)
        elif stat.S_ISREG(src.st_mode):
            try:
                if os.lstat(dst_path).st_ino == src.st_ino:
                    continue
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            temp = os.path.join(new_tasks, '.bxenv-link-%d' % os.getpid())
            if os.path.lexists(temp):
                os.unlink(temp)
            os.link(src_path, temp)
            os.rename(temp, dst_path)


def clean_leftovers(root, name):
    """Settle what a killed run left: restore or finish a swap, drop staging folders.

    Must run under ``provider_lock``. Returns the paths it removed.
    """
    live = os.path.join(root, name)
    prefixes = dict((kind, '.%s.%s-' % (name, kind)) for kind in (STAGING, OLD, REMOVING))
    entries = sorted(os.listdir(root))
    olds = [os.path.join(root, e) for e in entries if e.startswith(prefixes[OLD])]
    if olds and not os.path.lexists(live):
        # Killed between "live -> old" and "staging -> live": put the old one back.
        os.rename(olds.pop(), live)
    removed = []
    for old in olds:
        reconcile_tasks(tasks_dir(old), tasks_dir(live))
        _remove_tree(old)
        removed.append(old)
    for entry in entries:
        if entry.startswith(prefixes[STAGING]) or entry.startswith(prefixes[REMOVING]):
            path = os.path.join(root, entry)
            if os.path.lexists(path):
                _remove_tree(path)
                removed.append(path)
    return removed


def chown_tree(top, uid, gid, skip=()):
    os.chown(top, uid, gid, follow_symlinks=False)
    for current, dirnames, filenames in os.walk(top):
        if current == top:
            dirnames[:] = [d for d in dirnames if d not in skip]
        for entry in dirnames + filenames:
            os.chown(os.path.join(current, entry), uid, gid, follow_symlinks=False)


def read_record(holder):
    """Our record of the installed archive (``.bxenv-archive.json``), or None."""
    try:
        with open(os.path.join(holder, _archive.RECORD_FILE)) as handle:
            record = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_record(folder, record):
    path = os.path.join(folder, _archive.RECORD_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, 'w') as handle:
        json.dump(record, handle, sort_keys=True, indent=1)


def config_relpath(name):
    return 'etc/%s.conf' % name


def is_current(holder, name, sha256, replace_config):
    """True when ``holder`` holds the archive ``sha256`` and its files are intact.

    Files the provider made itself (logs, caches) are not our business; files
    from the archive that were changed or removed mean a reinstall. The config
    is not compared unless the archive's is to replace it.
    """
    record = read_record(holder)
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
    """Put the live ``etc/<name>.conf`` (a regular file) into the staging folder."""
    source = os.path.join(holder, config_relpath(name))
    if not os.path.isfile(source) or os.path.islink(source):
        return False
    root_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        etc_fd = _archive._open_dir(['etc'], root_fd, create=True)
    finally:
        os.close(root_fd)
    try:
        base = name + '.conf'
        try:
            os.unlink(base, dir_fd=etc_fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
        mode = stat.S_IMODE(os.stat(source).st_mode)
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=etc_fd)
        try:
            with open(source, 'rb') as handle:
                for chunk in iter(lambda: handle.read(65536), b''):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    finally:
        os.close(etc_fd)
    os.chmod(os.path.join(staging, 'etc'), 0o755)
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
        raise BxError('bxProvider: archive %s: bin/%s does not answer help with a valid reply: %s'
                      % (src, name, exc.message))


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
        raise BxError('bxProvider: cannot install provider %s from %s: %s' % (name, src, exc))


def _install(providers, name, src, owner, group, force, replace_config, max_members, max_size, check_mode):
    check_provider_name(name)
    uid, gid = resolve_owner(owner, group)
    _archive.check_archive_file(src)
    sha256 = _archive.sha256_file(src)
    root = providers.root
    holder = providers.holder(name)
    if os.path.islink(holder):
        raise BxError('bxProvider: %s is a symlink; not replacing it with an archive' % holder)
    if os.path.lexists(holder) and not os.path.isdir(holder):
        raise BxError('bxProvider: %s exists and is not a folder' % holder)
    if check_mode:
        return _install_check(providers, name, src, sha256, force, replace_config, max_members, max_size)
    if not os.path.isdir(root):
        os.makedirs(root, 0o755)
    with plugin_lock(providers, name):
        clean_leftovers(root, name)
        before = _archive.manifest(holder)
        if not force and is_current(holder, name, sha256, replace_config):
            return _result(False, holder, providers.probe(name), sha256, before, before)
        staging = tempfile.mkdtemp(prefix=os.path.basename(_side_name(root, name, STAGING)), dir=root)
        try:
            files = _archive.extract(src, name, staging, max_members, max_size)
            if not replace_config:
                _keep_config(holder, staging, name)
            after = _archive.manifest(staging)
            _check_help(providers, name, staging, src)
            _write_record(staging, {'sha256': sha256, 'archive': os.path.basename(src), 'files': files})
            chown_tree(staging, uid, gid)
            keep_tasks(holder, staging)
            _swap(root, name, holder, staging)
        except BaseException:
            if os.path.lexists(staging):
                _remove_tree(staging)
            raise
    return _result(True, holder, providers.probe(name), sha256, before, after)


def _swap(root, name, holder, staging):
    if not os.path.isdir(holder):
        os.rename(staging, holder)
        return
    old = tempfile.mkdtemp(prefix=os.path.basename(_side_name(root, name, OLD)), dir=root)
    os.rename(holder, old)  # replaces the empty folder mkdtemp made
    os.rename(staging, holder)
    reconcile_tasks(tasks_dir(old), tasks_dir(holder))
    _remove_tree(old)


def _install_check(providers, name, src, sha256, force, replace_config, max_members, max_size):
    """Check mode: judge and unpack into a temporary folder outside the providers root."""
    holder = providers.holder(name)
    before = _archive.manifest(holder)
    if not force and is_current(holder, name, sha256, replace_config):
        return _result(False, holder, providers.probe(name), sha256, before, before)
    scratch = tempfile.mkdtemp(prefix='bxenv-plugin-check-')
    try:
        staging = os.path.join(scratch, name)
        os.mkdir(staging)
        _archive.extract(src, name, staging, max_members, max_size)
        if not replace_config:
            _keep_config(holder, staging, name)
        after = _archive.manifest(staging)
        view = Providers(scratch, providers.runner, timeout=providers.timeout, max_output=providers.max_output)
        _check_help(view, name, staging, src)
        provider = view.probe(name)
        provider['files'] = providers.empty_record(name)['files']
    finally:
        shutil.rmtree(scratch)
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
        raise BxError('bxProvider: cannot remove provider %s: %s' % (name, exc))


def _remove(providers, name, force, check_mode):
    root = providers.root
    holder = providers.holder(name)
    if not os.path.isdir(root):
        return _removed(False, holder, {})
    if check_mode:
        return _remove_steps(root, name, holder, force, check_mode)
    with plugin_lock(providers, name):
        clean_leftovers(root, name)
        return _remove_steps(root, name, holder, force, check_mode)


def _removed(changed, holder, before):
    return {
        'changed': changed,
        'message': deleted_message(holder),
        'files': _archive.diff_manifests(before, {}),
        'diff': {'before': _archive.manifest_text(before), 'after': '',
                 'before_header': holder, 'after_header': holder},
    }


def _remove_steps(root, name, holder, force, check_mode):
    if not os.path.lexists(holder):
        return _removed(False, holder, {})
    pending = pending_orders(holder)
    if pending and not force:
        raise BxError('bxProvider: Provider %s has orders that are not complete: %s; '
                      'not removing %s (force: true removes it anyway)' % (name, ', '.join(pending), holder))
    before = _archive.manifest(holder, skip=())
    if check_mode:
        return _removed(True, holder, before)
    if os.path.islink(holder):
        os.unlink(holder)
    else:
        doomed = tempfile.mkdtemp(prefix=os.path.basename(_side_name(root, name, REMOVING)), dir=root)
        os.rename(holder, doomed)
        shutil.rmtree(doomed)
    return _removed(True, holder, before)
