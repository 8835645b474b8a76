# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install, upgrade and remove provider plugins with real archives and processes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries, _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils import plugin_archives as pa
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.test__archive import tree_state
from ansible_collections.bitrix.bxenv.tests.unit.fakes import OWNER, RecordingRunner as Runner

NAME = 'superprovider'


@pytest.fixture
def world(tmp_path):
    """``tmp/providers`` (the root), ``tmp/outside``, ``tmp/archives``."""
    for sub in ('providers', 'outside', 'archives'):
        (tmp_path / sub).mkdir()
    return tmp_path


def providers_of(world):
    return Providers(str(world / 'providers'), Runner(), timeout=30)


def install(world, archive, **kwargs):
    options = dict(OWNER)
    options.update(kwargs)
    return _install.install(providers_of(world), NAME, archive, **options)


def holder_of(world):
    return world / 'providers' / NAME


def work_of(world):
    return _install.work_path(str(world / 'providers'), NAME)


def side_folders(world):
    """Leftovers: entries of our work folder for NAME, and anything but NAME in the root."""
    work = work_of(world)
    return (sorted(os.listdir(work)) if os.path.isdir(work) else []) + \
        sorted(e for e in os.listdir(str(world / 'providers')) if e != NAME)


def without_calls_log(state):
    """A tree state without the fake provider's own call log (the probe runs help)."""
    return dict((k, v) for k, v in state.items() if not k.endswith('calls.log'))


def orders_of(holder):
    """The tree state of tasks/ without our empty temp folder (made when needed, kept)."""
    state = tree_state(str(holder / 'tasks'))
    return dict((k, v) for k, v in state.items() if k != '.bxenv/tmp')


def add_orders(holder):
    tasks = holder / 'tasks'
    (tasks / '.bxenv').mkdir(parents=True)
    (tasks / 't-new').write_text('')
    (tasks / 't-done').write_text('complete: Server=192.0.2.10 is added to the pool')
    (tasks / 't-err').write_text('error: User enter incorrect password')
    (tasks / '.bxenv' / 't-new.label').write_text('web1')


@pytest.mark.parametrize('fmt', pa.FORMATS)
@pytest.mark.parametrize('top', [None, NAME])
def test_install_every_format_and_layout(world, fmt, top):
    archive = pa.good_archive(world / 'archives', NAME, fmt, top=top)
    result = install(world, archive)
    holder = str(holder_of(world))
    assert result['changed'] is True
    assert result['message'] == 'bxProvider: Provider data created, you can found it in %s' % holder
    assert result['provider']['status'] == 'enabled'
    assert result['provider']['files']['execute'] == holder + '/bin/' + NAME
    assert result['provider']['config'] == 'exists'
    assert result['files']['added'] == ['VERSION', 'bin/' + NAME, 'etc/%s.conf' % NAME, 'fake.json']
    listed = _queries.list_providers(providers_of(world))
    assert listed == {NAME: {'status': 'enabled'}}
    assert side_folders(world) == []
    record = json.loads((holder_of(world) / '.bxenv-archive.json').read_text())
    assert record['sha256'] == result['sha256'] == _install._archive.sha256_file(archive)


def test_same_archive_twice_changes_nothing(world):
    archive = pa.good_archive(world / 'archives', NAME)
    install(world, archive)
    before = tree_state(str(world / 'providers'))
    again = install(world, archive)
    assert again['changed'] is False
    assert again['files'] == {'added': [], 'changed': [], 'removed': []}
    assert again['provider']['status'] == 'enabled'
    after = tree_state(str(world / 'providers'))
    assert without_calls_log(after) == without_calls_log(before)
    assert install(world, archive, force=True)['changed'] is True


def test_a_damaged_install_is_repaired(world):
    archive = pa.good_archive(world / 'archives', NAME)
    install(world, archive)
    (holder_of(world) / 'VERSION').write_text('tampered\n')
    result = install(world, archive)
    assert result['changed'] is True and result['files']['changed'] == ['VERSION']
    assert (holder_of(world) / 'VERSION').read_text() == '1\n'


def test_upgrade_keeps_orders_and_config(world):
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    holder = holder_of(world)
    add_orders(holder)
    (holder / 'etc' / (NAME + '.conf')).write_text('token=local secret\n')
    inode = os.stat(str(holder / 'tasks' / 't-new')).st_ino
    result = install(world, pa.good_archive(world / 'archives', NAME, version='2', config='# new default\n'))
    assert result['changed'] is True
    assert result['files']['changed'] == ['VERSION']
    assert (holder / 'VERSION').read_text() == '2\n'
    assert (holder / 'etc' / (NAME + '.conf')).read_text() == 'token=local secret\n'
    assert sorted(os.listdir(str(holder / 'tasks'))) == ['.bxenv', 't-done', 't-err', 't-new']
    assert (holder / 'tasks' / '.bxenv' / 't-new.label').read_text() == 'web1'
    assert (holder / 'tasks' / 't-err').read_text() == 'error: User enter incorrect password'
    assert os.stat(str(holder / 'tasks' / 't-new')).st_ino == inode
    assert side_folders(world) == []
    assert 'diff' in result and '+VERSION' not in result['diff']['after']
    # replace_config takes the archive's config
    result = install(world, pa.good_archive(world / 'archives', NAME, version='3', config='# v3\n'),
                     replace_config=True)
    assert (holder / 'etc' / (NAME + '.conf')).read_text() == '# v3\n'
    assert 'etc/%s.conf' % NAME in result['files']['changed']


def test_an_upgrade_without_config_in_the_archive_keeps_the_live_one(world):
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    install(world, pa.good_archive(world / 'archives', NAME, version='2', config=None))
    assert (holder_of(world) / 'etc' / (NAME + '.conf')).read_text() == '# config from the archive\n'


@pytest.mark.parametrize('owner,group,missing', [
    ('no-such-user-x', 'root', 'user no-such-user-x'),
    ('root', 'no-such-group-x', 'group no-such-group-x'),
])
def test_a_missing_owner_fails_before_anything_is_written(world, owner, group, missing):
    root = world / 'providers'
    root.rmdir()
    with pytest.raises(BxError) as caught:
        _install.install(providers_of(world), NAME, pa.good_archive(world / 'archives', NAME),
                         owner=owner, group=group)
    assert caught.value.message == 'bxProvider: %s does not exist on the host' % missing
    assert not root.exists()


def test_bad_archives_leave_everything_as_it_was(world):
    install(world, pa.good_archive(world / 'archives', NAME))
    add_orders(holder_of(world))
    before = tree_state(str(world))
    passwd = open('/etc/passwd', 'rb').read()
    cases = pa.bad_archives(world / 'archives', NAME, str(world / 'outside'))
    state = tree_state(str(world))  # the corpus itself is new in archives/
    for label, path, reason in cases:
        with pytest.raises(BxError) as caught:
            install(world, path)
        assert reason in caught.value.message, (label, caught.value.message)
        assert path in caught.value.message, label
        assert tree_state(str(world)) == state, label
    assert dict((k, v) for k, v in state.items() if not k.startswith('archives')) == \
        dict((k, v) for k, v in before.items() if not k.startswith('archives'))
    assert os.listdir(str(world / 'outside')) == []
    assert open('/etc/passwd', 'rb').read() == passwd
    assert _queries.list_providers(providers_of(world)) == {NAME: {'status': 'enabled'}}


def test_bad_help_message(world):
    archive = pa.write_archive(str(world / 'archives' / 'p.zip'),
                               pa.plugin_entries(NAME, help_reply={'__raw__': True, 'stdout': 'oops'}))
    with pytest.raises(BxError) as caught:
        install(world, archive)
    assert caught.value.message.startswith(
        'bxProvider: archive %s: bin/%s does not answer help with a valid reply: '
        'bxProvider::executeProviderCmd: Command `' % (archive, NAME))
    assert 'did not return one JSON object' in caught.value.message
    assert os.listdir(str(world / 'providers')) == []  # the locks live next to the root


def test_check_mode_writes_nothing(world):
    root = world / 'providers'
    root.rmdir()
    archive = pa.good_archive(world / 'archives', NAME)
    result = install(world, archive, check_mode=True)
    assert result['changed'] is True
    assert result['provider']['status'] == 'enabled'
    assert result['provider']['files']['holder'] == str(holder_of(world))
    assert result['files']['added'] == ['VERSION', 'bin/' + NAME, 'etc/%s.conf' % NAME, 'fake.json']
    assert not root.exists()
    install(world, archive)
    before = tree_state(str(root))
    assert install(world, archive, check_mode=True)['changed'] is False
    upgrade = install(world, pa.good_archive(world / 'archives', NAME, version='2'), check_mode=True)
    assert upgrade['changed'] is True and upgrade['files']['changed'] == ['VERSION']
    after = tree_state(str(root))
    assert without_calls_log(after) == without_calls_log(before)
    with pytest.raises(BxError):
        install(world, str(world / 'archives' / 'none.tgz'), check_mode=True)


def test_remove_refuses_pending_orders_unless_forced(world):
    install(world, pa.good_archive(world / 'archives', NAME))
    add_orders(holder_of(world))
    before = tree_state(str(world))
    with pytest.raises(BxError) as caught:
        _install.remove(providers_of(world), NAME)
    assert caught.value.message == (
        'bxProvider: Provider %s has orders that are not complete: t-err, t-new; not removing %s '
        '(force: true removes it anyway)' % (NAME, holder_of(world)))
    assert tree_state(str(world)) == before
    check = _install.remove(providers_of(world), NAME, force=True, check_mode=True)
    assert check['changed'] is True and 'tasks/t-new' in check['files']['removed']
    assert tree_state(str(world)) == before
    result = _install.remove(providers_of(world), NAME, force=True)
    assert result == dict(result, changed=True, message='bxProvider: Provider data deleted from %s' % holder_of(world))
    assert not holder_of(world).exists() and side_folders(world) == []
    assert _install.remove(providers_of(world), NAME)['changed'] is False


def test_remove_with_only_complete_orders(world):
    install(world, pa.good_archive(world / 'archives', NAME))
    (holder_of(world) / 'tasks').mkdir()
    (holder_of(world) / 'tasks' / 't1').write_text('complete: Server=x is added to the pool')
    assert _install.remove(providers_of(world), NAME)['changed'] is True
    assert not holder_of(world).exists()


def test_remove_a_symlinked_provider_keeps_its_target(world):
    target = world / 'outside' / 'real'
    target.mkdir()
    (target / 'data').write_text('x')
    os.symlink(str(target), str(holder_of(world)))
    assert _install.remove(providers_of(world), NAME)['changed'] is True
    assert not os.path.lexists(str(holder_of(world))) and (target / 'data').exists()


def _session_pids(sid):
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _collections_path():
    here = os.path.abspath(_install.__file__)
    for _level in range(5):
        here = os.path.dirname(here)
    return os.path.dirname(here)


INSTALL_SCRIPT = '''
import json
import sys
from ansible_collections.bitrix.bxenv.plugins.module_utils import _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner
_install.install(Providers(sys.argv[1], Runner(), timeout=120), sys.argv[2], sys.argv[3], **json.loads(sys.argv[4]))
'''


def test_sigkill_during_an_upgrade_leaves_the_old_provider(world):
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    holder = holder_of(world)
    add_orders(holder)
    orders = orders_of(holder)
    slow = pa.good_archive(world / 'archives', NAME, version='slow', help_reply={
        '__raw__': True, 'stdout': json.dumps(pa.FULL_HELP), 'sleep': 120})
    env = dict(os.environ, PYTHONPATH=_collections_path())
    proc = subprocess.Popen([sys.executable, '-c', INSTALL_SCRIPT, str(world / 'providers'), NAME, slow,
                             json.dumps(OWNER)], env=env, start_new_session=True)
    try:
        # wait until the staged plugin is being asked for help
        deadline = time.monotonic() + 60
        staged_help = None
        while staged_help is None and time.monotonic() < deadline and proc.poll() is None:
            for side in side_folders(world):
                if os.path.exists(os.path.join(work_of(world), side, 'calls.log')):
                    staged_help = side
            time.sleep(0.05)
        assert staged_help and staged_help.startswith('staging-')
    finally:
        for pid in _session_pids(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # the old provider works, with its orders; the staging folder is not a provider
    assert (holder / 'VERSION').read_text() == '1\n'
    assert orders_of(holder) == orders
    assert staged_help in side_folders(world)
    assert os.listdir(str(world / 'providers')) == [NAME]
    assert _queries.list_providers(providers_of(world)) == {NAME: {'status': 'enabled'}}
    # the next run cleans up and upgrades
    result = install(world, pa.good_archive(world / 'archives', NAME, version='2'))
    assert result['changed'] is True and (holder / 'VERSION').read_text() == '2\n'
    assert side_folders(world) == []
    assert orders_of(holder) == orders


def link_copy(source, dest):
    shutil.copytree(source, dest, symlinks=True, copy_function=os.link)


def installed_with_orders(world):
    """Version 1 installed with its orders, the work folder made: (holder, providers root)."""
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    holder = holder_of(world)
    add_orders(holder)
    os.makedirs(work_of(world), exist_ok=True)
    return holder, world / 'providers'


@pytest.mark.parametrize('place', ['work', 'legacy root'])
def test_a_swap_killed_halfway_is_undone(world, place):
    # killed after "live -> old", before "staging -> live" (two renames:
    # this version without renameat2, or a version before issue 21)
    holder, root = installed_with_orders(world)
    if place == 'work':
        old, staging = os.path.join(work_of(world), 'old-abc'), os.path.join(work_of(world), 'staging-1')
    else:
        old, staging = str(root / ('.%s.old-abc' % NAME)), str(root / ('.%s.staging-def' % NAME))
    os.rename(str(holder), old)
    os.mkdir(staging)
    assert _queries.list_providers(providers_of(world)) == {}
    with _install.plugin_lock(providers_of(world), NAME):
        _install.clean_leftovers(str(root), NAME)
    assert (holder / 'VERSION').read_text() == '1\n' and (holder / 'tasks' / 't-new').exists()
    assert side_folders(world) == []


@pytest.mark.parametrize('left', ['old-abc', 'exchanged staging', '.%s.old-abc' % NAME])
def test_orders_written_during_the_swap_are_kept(world, left):
    # killed after the swap, before the old folder was settled; an order
    # placed meanwhile went to the old folder only
    holder, root = installed_with_orders(world)
    if left.startswith('.'):
        old = str(root / left)
    else:  # a staging folder not named after its own inode was swapped: it is the old plugin
        old = os.path.join(work_of(world), 'old-abc' if left == 'old-abc' else 'staging-1')
    link_copy(str(holder), old)
    (holder / 'tasks' / 't-err').unlink()
    (holder / 'tasks' / 't-err').write_text('complete: rewritten after the swap in the live folder')
    with open(os.path.join(old, 'tasks', 't-late'), 'w'):
        pass
    os.unlink(os.path.join(old, 'tasks', 't-new'))
    with open(os.path.join(old, 'tasks', 't-new'), 'w') as handle:
        handle.write('error: rewritten by an atomic writer')
    with _install.plugin_lock(providers_of(world), NAME):
        _install.clean_leftovers(str(root), NAME)
    assert (holder / 'tasks' / 't-late').read_text() == ''
    assert (holder / 'tasks' / 't-new').read_text() == 'error: rewritten by an atomic writer'
    assert (holder / 'tasks' / 't-err').read_text() == 'complete: rewritten after the swap in the live folder'
    assert side_folders(world) == []
    assert os.listdir(str(holder / 'tasks' / '.bxenv' / 'tmp')) == []


def test_bad_provider_name(world):
    with pytest.raises(BxError) as caught:
        _install.install(providers_of(world), '../evil', 'x.tgz', **OWNER)
    assert 'invalid provider name' in caught.value.message
    with pytest.raises(BxError) as caught:
        _install.remove(providers_of(world), '.hidden')
    assert 'invalid provider name' in caught.value.message


# A child that installs (or writes a task file) and SIGKILLs itself at one
# step: right after the named function returned (or, for os.rename, after
# the rename of the named source).
KILL_SCRIPT = '''
import json, os, signal, sys
from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _files, _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner
root, name, archive, owner, step = sys.argv[1:6]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def after(module, attr):
    real = getattr(module, attr)
    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        die()
        return result
    setattr(module, attr, wrapped)

if step.startswith('two-renames'):
    _files.rename2 = lambda *args: bool(args[-1] == _files.RENAME_NOREPLACE and 0)
    real_rename, source = os.rename, step.split(':')[1]
    def rename(src, dst, **kwargs):
        real_rename(src, dst, **kwargs)
        if src.startswith(source):
            die()
    os.rename = rename
else:
    module, attr = step.split('.')
    after({'_install': _install, '_archive': _archive, '_files': _files}[module], attr)
_install.install(Providers(root, Runner(), timeout=120), name, archive, **json.loads(owner))
'''

# (step, the plugin version that must be live right after the kill)
UPGRADE_STEPS = [
    ('_archive.extract', '1'), ('_install._keep_config', '1'), ('_install._check_help', '1'),
    ('_install._write_record', '1'), ('_install.chown_tree', '1'), ('_install.keep_tasks', '1'),
    ('_files.rename2', '2'), ('_install.reconcile_tasks', '2'), ('_files.remove', '2'),
    ('two-renames:' + NAME, None), ('two-renames:staging-', '2'),
]


def run_killed(world, archive, step):
    env = dict(os.environ, PYTHONPATH=_collections_path())
    proc = subprocess.run([sys.executable, '-c', KILL_SCRIPT, str(world / 'providers'), NAME, archive,
                           json.dumps(OWNER), step], env=env, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize('step,live', UPGRADE_STEPS)
def test_sigkill_at_each_step_of_an_upgrade(world, step, live):
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    holder = holder_of(world)
    add_orders(holder)
    orders = orders_of(holder)
    new = pa.good_archive(world / 'archives', NAME, version='2')
    run_killed(world, new, step)
    root = str(world / 'providers')
    assert os.listdir(root) == ([NAME] if live else [])  # nothing of ours in the root
    if live:
        # old or new, never none, with every order, and a working provider
        assert (holder / 'VERSION').read_text() == live + '\n'
        assert orders_of(holder) == orders
        assert _queries.list_providers(providers_of(world)) == {NAME: {'status': 'enabled'}}
    else:
        # killed between the two renames of the fallback: the next run puts it back
        assert [e for e in side_folders(world) if e.startswith('old-')]
    swapped_old = [e for e in side_folders(world) if e.startswith('staging-') and
                   e != 'staging-%d' % os.lstat(os.path.join(work_of(world), e)).st_ino]
    for entry in swapped_old:  # an order placed in the old folder just before the swap
        with open(os.path.join(work_of(world), entry, 'tasks', 't-late'), 'w'):
            pass
    result = install(world, new)
    assert (holder / 'VERSION').read_text() == '2\n'
    assert result['changed'] is (live != '2')
    assert side_folders(world) == []
    expected = dict(orders, **({'t-late': orders['t-new']} if swapped_old else {}))
    assert orders_of(holder) == expected
    assert _install.remove(providers_of(world), NAME, force=True)['changed'] is True
    assert os.listdir(root) == [] and side_folders(world) == []


def make_deep(parent, name, depth):
    """``parent/name/d/d/...`` ``depth`` folders deep, a file at the bottom (no path is that long)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in [name] + ['d'] * depth:
            os.mkdir(part, dir_fd=fd)
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.close(os.open('bottom', os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)


def test_a_deep_archive_is_refused_and_later_runs_work(world):
    deep = pa.write_archive(str(world / 'archives' / 'deep.tar.gz'),
                            pa.plugin_entries(NAME) + [pa.Entry('d/' * 1500 + 'f', data='x')])
    with pytest.raises(BxError) as caught:
        install(world, deep)
    assert 'nested deeper than 64 folders' in caught.value.message and deep in caught.value.message
    assert os.listdir(str(world / 'providers')) == [] and side_folders(world) == []
    install(world, pa.good_archive(world / 'archives', NAME))
    assert _install.remove(providers_of(world), NAME)['changed'] is True


def test_deep_leftovers_and_deep_plugin_trees_never_block(world):
    install(world, pa.good_archive(world / 'archives', NAME, version='1'))
    # a killed run of an older version, one of this version, and the plugin's own deep cache
    make_deep(str(world / 'providers'), '.%s.staging-old' % NAME, 1500)
    make_deep(work_of(world), 'new-abc', 1500)
    make_deep(str(holder_of(world)), 'cache', 1500)
    result = install(world, pa.good_archive(world / 'archives', NAME, version='2'))
    assert result['changed'] is True and side_folders(world) == []
    assert not os.path.lexists(str(holder_of(world) / 'cache'))  # the old plugin's own files went with it
    make_deep(str(holder_of(world)), 'cache', 1500)
    removed = _install.remove(providers_of(world), NAME)
    assert 'cache/' + 'd/' * 1500 + 'bottom' in removed['files']['removed']
    assert os.listdir(str(world / 'providers')) == [] and side_folders(world) == []


def _open_folders(*paths):
    return [os.open(str(path), os.O_RDONLY | os.O_DIRECTORY) for path in paths]


@pytest.mark.parametrize('depth,fits', [(63, True), (64, False)])
def test_the_tasks_copy_is_bounded_in_depth(tmp_path, depth, fits):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    src.mkdir()
    dst.mkdir()
    make_deep(str(src), 'd', depth)  # depth + 1 folders, a file at the bottom
    fds = _open_folders(src, dst)
    try:
        if fits:
            _install._link_tree(*fds)
            bottom = os.path.join(*(['d'] * (depth + 1) + ['bottom']))
            assert os.stat(str(dst / bottom)).st_ino == os.stat(str(src / bottom)).st_ino
        else:
            with pytest.raises(BxError, match='nested deeper than 64 folders'):
                _install._link_tree(*fds)
    finally:
        for fd in fds:
            os.close(fd)


def test_late_orders_in_nested_folders_are_carried_and_links_are_not_entered(tmp_path):
    old, new, temp, outside = tmp_path / 'old', tmp_path / 'new', tmp_path / 'temp', tmp_path / 'outside'
    for folder in (old / 'a' / 'b', old / 'l', new / 'a', temp, outside):
        folder.mkdir(parents=True)
    (old / 'a' / 'b' / 'late').write_text(u'')
    (old / 'l' / 'x').write_text(u'')
    (new / 'l').symlink_to(str(outside))
    fds = _open_folders(old, new, temp)
    try:
        _install.reconcile_tasks(*fds)
    finally:
        for fd in fds:
            os.close(fd)
    assert os.stat(str(new / 'a' / 'b' / 'late')).st_ino == os.stat(str(old / 'a' / 'b' / 'late')).st_ino
    assert os.listdir(str(outside)) == [] and os.listdir(str(temp)) == []
