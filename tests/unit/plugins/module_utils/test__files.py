# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Links, FIFOs, big files and races planted in a provider's folder.

Whoever can write in a provider's folder must not make the collection
write, read or run anything outside it, hang it, or lose an order. Outside
files are checked by content, inode and mode before and after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import glob
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time

import pytest

import ansible_collections
from ansible_collections.bitrix.bxenv.plugins.module_utils import (
    _queries, _cli, _files, _locking, _orders, _install, _tasks)
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import OWNER, calls, make_provider, make_script_provider, slow
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils import plugin_archives as pa

REPLIES = {'order': {'task_id': 't_cfg5'}, 'order_status': {'status': 'in_progress'}}


def fingerprint(path):
    info = os.lstat(path)
    with open(path, 'rb') as handle:
        return handle.read(), info.st_ino, info.st_mode, info.st_nlink


@pytest.fixture
def world(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    secret = outside / 'secret'
    secret.write_bytes(b'error: TOPSECRET')
    secret.chmod(0o600)
    return {'root': str(tmp_path / 'providers'), 'outside': str(outside), 'secret': str(secret)}


def providers(world):
    return Providers(world['root'], timeout=20)


def plant_link(holder, name, target):
    tasks = os.path.join(holder, 'tasks')
    os.makedirs(tasks, exist_ok=True)
    os.symlink(target, os.path.join(tasks, name))


@pytest.mark.parametrize('front', ['core', 'command'])
def test_order_replaces_a_linked_task_file_and_leaves_the_target(world, front):
    holder = make_provider(world['root'], 'p', REPLIES)
    plant_link(holder, 't_cfg5', world['secret'])
    before = fingerprint(world['secret'])
    if front == 'core':
        assert _orders.place(providers(world), 'p', '1', label='web').task_id == 't_cfg5'
    else:
        out = io.StringIO()
        assert _cli.main(['-a', 'order', '--provider', 'p', '--config_id', '1', '-o', 'json'], out, io.StringIO(),
                         settings={'providers_dir': world['root']}) == 0
    assert fingerprint(world['secret']) == before
    task = os.path.join(holder, 'tasks', 't_cfg5')
    assert not os.path.islink(task) and os.path.getsize(task) == 0


def test_orders_list_never_reads_through_a_link(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    plant_link(holder, 'stolen', world['secret'])
    open(os.path.join(holder, 'tasks', 'real'), 'w').close()
    orders = _queries.orders_list(providers(world), 'p')['p']
    assert 'TOPSECRET' not in json.dumps(orders)
    assert orders['real']['status'] == 'in_progress'
    assert orders['stolen']['error'] == 1
    assert orders['stolen']['message'] == 'bxenv: %s is a symbolic link; refusing to read it' % os.path.join(
        holder, 'tasks', 'stolen')
    assert [argv for argv in calls(holder) if argv[0] == 'order_status'] == [['order_status', 'real']]


def test_a_huge_task_file_is_refused_unread(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    os.makedirs(os.path.join(holder, 'tasks'))
    with open(os.path.join(holder, 'tasks', 'big'), 'wb') as handle:
        handle.truncate(2 * 1024 ** 3)  # sparse: 2 GB that cost no disk
    entry = _queries.orders_list(providers(world), 'p')['p']['big']
    assert entry['error'] == 1 and 'is larger than 1048576 bytes; refusing to read it' in entry['message']


def test_a_fifo_label_is_refused_without_hanging(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    labels = os.path.join(holder, 'tasks', '.bxenv', 'labels')
    os.makedirs(labels)
    os.mkfifo(os.path.join(labels, 'web'))
    outcome = {}

    def order():
        try:
            _orders.place(providers(world), 'p', '1', label='web')
        except BxError as exc:
            outcome['message'] = exc.message

    worker = threading.Thread(target=order)
    worker.daemon = True
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), 'ordering hung on a FIFO'
    assert outcome['message'] == 'bxenv: %s/web is a FIFO, not a regular file; refusing to read it' % labels
    assert [argv for argv in calls(holder) if argv[0] == 'order'] == []


@pytest.mark.parametrize('part', ['tasks', 'tasks/.bxenv'])
def test_linked_bookkeeping_folders_are_refused(world, part):
    holder = make_provider(world['root'], 'p', REPLIES)
    if part == 'tasks':
        os.symlink(world['outside'], os.path.join(holder, 'tasks'))
    else:
        os.makedirs(os.path.join(holder, 'tasks'))
        os.symlink(world['outside'], os.path.join(holder, 'tasks', '.bxenv'))
    listing = sorted(os.listdir(world['outside']))
    with pytest.raises(BxError) as info:
        _orders.place(providers(world), 'p', '1', label='web')
    assert 'is a symbolic link, not a folder; refusing to use it' in info.value.message
    assert sorted(os.listdir(world['outside'])) == listing


def _upgrade_archive(tmp_path, version):
    folder = tmp_path / ('archives-%s' % version)
    folder.mkdir()
    return pa.good_archive(str(folder), 'p', version=version)


def test_upgrade_keeps_a_linked_tasks_folder_as_a_link(world, tmp_path):
    prov = providers(world)
    _install.install(prov, 'p', _upgrade_archive(tmp_path, '1'), **OWNER)
    holder = os.path.join(world['root'], 'p')
    os.symlink(world['outside'], os.path.join(holder, 'tasks'))
    os.chmod(world['outside'], 0o700)
    before = fingerprint(world['secret'])
    result = _install.install(prov, 'p', _upgrade_archive(tmp_path, '2'), **OWNER)
    assert result['changed'] is True
    assert os.readlink(os.path.join(holder, 'tasks')) == world['outside']
    assert fingerprint(world['secret']) == before  # no hard link made to it (st_nlink)
    assert os.stat(world['outside']).st_mode & 0o7777 == 0o700


def test_new_tasks_folder_has_the_originals_mode(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    old = os.umask(0o022)
    try:
        _orders.place(providers(world), 'p', '1')
    finally:
        os.umask(old)
    assert os.stat(os.path.join(holder, 'tasks')).st_mode & 0o777 == 0o750


UNINSTALL = '''
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils import _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
try:
    _install.remove(Providers(sys.argv[2], timeout=20), 'p')
    print('removed')
except BxError as exc:
    print(exc.message)
'''


def test_uninstall_waits_for_an_order_in_flight_and_then_refuses(world):
    holder = make_provider(world['root'], 'p', {'order': slow({'task_id': 'T-1'}, 1.5)})
    collections_root = os.path.dirname(list(ansible_collections.__path__)[0])
    order = subprocess.Popen([sys.executable, '-c', 'import sys; sys.path.insert(0, sys.argv[1]); '
                              'from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders, _provider; '
                              'print(_orders.place(_provider.Providers(sys.argv[2], timeout=20), "p", "1").task_id)',
                              collections_root, world['root']], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while ['order', '1'] not in calls(holder) and time.monotonic() < deadline:
        time.sleep(0.02)
    remove = subprocess.run([sys.executable, '-c', UNINSTALL, collections_root, world['root']],
                            stdout=subprocess.PIPE, check=True)
    assert order.communicate(timeout=30)[0].decode().strip() == 'T-1'
    assert remove.stdout.decode().startswith('bxProvider: Provider p has orders that are not complete: T-1;')
    assert os.path.isfile(os.path.join(holder, 'tasks', 'T-1'))


def test_an_order_never_starts_on_a_removed_provider(world, monkeypatch):
    make_provider(world['root'], 'p', REPLIES)
    prov = providers(world)
    probe = prov.probe

    def probe_then_remove(name):
        record = probe(name)
        _install.remove(prov, name)
        return record

    monkeypatch.setattr(prov, 'probe', probe_then_remove)
    with pytest.raises(BxError) as info:
        _orders.place(prov, 'p', '1', label='web')
    assert info.value.message == 'bxenv: provider p was removed while this order waited for it; nothing was ordered'


def test_refused_archive_leaves_no_lock_in_the_providers_root(world, tmp_path):
    bad = [path for label, path, reason in pa.bad_archives(str(tmp_path), 'p', world['outside'])][0]
    with pytest.raises(BxError):
        _install.install(providers(world), 'p', bad, **OWNER)
    assert os.listdir(world['root']) == []
    assert _queries.list_providers(providers(world)) == {}


def test_a_provider_linked_out_of_its_folder_is_not_run(world):
    marker = os.path.join(world['outside'], 'ran')
    outside_tool = os.path.join(world['outside'], 'tool')
    with open(outside_tool, 'w') as handle:
        handle.write('#!/bin/sh\ntouch %s\n' % marker)
    os.chmod(outside_tool, 0o755)
    os.makedirs(os.path.join(world['root'], 'p', 'bin'))
    os.symlink(outside_tool, os.path.join(world['root'], 'p', 'bin', 'p'))
    entry = _queries.list_providers(providers(world))['p']
    assert entry['error'] == 1 and 'outside the provider folder; it is not run as provider p' in entry['message']
    assert not os.path.exists(marker)


def test_providers_run_in_their_own_folder(world, tmp_path, monkeypatch):
    holder = make_script_provider(world['root'], 'p', 'printf \'{"status": "%s"}\' "$(pwd)"')
    monkeypatch.chdir(str(tmp_path))
    prov = providers(world)
    assert prov.call(prov.probe('p'), 'configs') == {'status': holder}


def test_task_files_read_by_name_only(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    os.makedirs(os.path.join(holder, 'tasks'))
    os.mkfifo(os.path.join(holder, 'tasks', 'fifo'))
    with pytest.raises(BxError) as info:
        _tasks.read_task_file(holder, 'fifo')
    assert info.value.message.endswith('fifo is a FIFO, not a regular file; refusing to read it')


RECORD_INSTALL = '''
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils import _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
try:
    _install.install(Providers(sys.argv[2], timeout=20), 'p', sys.argv[3], owner='root', group='root')
    print('installed')
except BxError as exc:
    print(exc.message)
'''


@pytest.mark.parametrize('planted,kind', [('fifo', 'is a FIFO, not a regular file'),
                                          ('/dev/zero', 'is a symbolic link; refusing to read it'),
                                          ('folder', 'is a folder, not a regular file')])
def test_a_planted_archive_record_is_refused_without_hanging(world, tmp_path, planted, kind):
    archive = _upgrade_archive(tmp_path, '1')
    _install.install(providers(world), 'p', archive, **OWNER)
    record = os.path.join(world['root'], 'p', '.bxenv-archive.json')
    os.unlink(record)
    if planted == 'fifo':
        os.mkfifo(record)
    elif planted == 'folder':
        os.mkdir(record)
    else:
        os.symlink(planted, record)
    collections_root = os.path.dirname(list(ansible_collections.__path__)[0])
    # the timeout is a safety net for the old code's hang, not an assertion
    done = subprocess.run([sys.executable, '-c', RECORD_INSTALL, collections_root, world['root'], archive],
                          stdout=subprocess.PIPE, timeout=120, check=True)
    assert done.stdout.decode().strip() == (
        'bxProvider: cannot tell which archive %s holds: bxenv: %s %s; refusing to read it '
        '(force: true reinstalls it)' % (os.path.join(world['root'], 'p'), record, kind.split(';')[0]))
    assert _install.install(providers(world), 'p', archive, force=True, **OWNER)['changed'] is True
    assert os.path.isfile(record) and not os.path.islink(record)


@pytest.mark.parametrize('plant', ['etc is a link', 'config is a link', 'config is a FIFO'])
def test_an_upgrade_never_copies_through_a_planted_config(world, tmp_path, plant):
    _install.install(providers(world), 'p', _upgrade_archive(tmp_path, '1'), **OWNER)
    holder = os.path.join(world['root'], 'p')
    os.unlink(os.path.join(holder, 'etc', 'p.conf'))
    if plant == 'etc is a link':
        os.rmdir(os.path.join(holder, 'etc'))
        os.rename(world['secret'], os.path.join(world['outside'], 'p.conf'))
        os.symlink(world['outside'], os.path.join(holder, 'etc'))
    elif plant == 'config is a link':
        os.symlink(world['secret'], os.path.join(holder, 'etc', 'p.conf'))
    else:
        os.mkfifo(os.path.join(holder, 'etc', 'p.conf'))
    with pytest.raises(BxError) as info:
        _install.install(providers(world), 'p', _upgrade_archive(tmp_path, '2'), **OWNER)
    assert info.value.message.startswith('bxProvider: cannot keep the config %s/etc/p.conf: bxenv: ' % holder)
    assert info.value.message.endswith("(replace_config: true installs the archive's)")
    result = _install.install(providers(world), 'p', _upgrade_archive(tmp_path, '3'), replace_config=True, **OWNER)
    assert result['changed'] is True
    for top, _dirs, files in os.walk(holder):
        for name in files:
            with open(os.path.join(top, name), 'rb') as handle:
                assert b'TOPSECRET' not in handle.read()


TASK_WRITE = '''
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _tasks
holder, step = sys.argv[2:4]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if step == 'created':
    _files.write_all = die
elif step == 'written':
    os.fsync = die
elif step == 'renamed':
    _files.fsync = die
_tasks.write_task_file(holder, 'T-new', 'complete: Server=192.0.2.7 is added to the pool')
'''


@pytest.mark.parametrize('step', ['created', 'written', 'renamed'])
def test_a_task_write_killed_at_any_step_leaves_only_real_tasks(world, step):
    holder = make_provider(world['root'], 'p', REPLIES)
    _tasks.write_task_file(holder, 'T-1', 'complete: Server=192.0.2.6 is added to the pool')
    collections_root = os.path.dirname(list(ansible_collections.__path__)[0])
    done = subprocess.run([sys.executable, '-c', TASK_WRITE, collections_root, holder, step], timeout=120, check=False)
    assert done.returncode == -9
    expected = ['T-1', 'T-new'] if step == 'renamed' else ['T-1']
    assert _tasks.list_task_ids(holder) == expected
    # what the original lists: every regular file of tasks/
    tasks = os.path.join(holder, 'tasks')
    assert sorted(n for n in os.listdir(tasks) if os.path.isfile(os.path.join(tasks, n))) == expected
    temps = os.listdir(os.path.join(tasks, '.bxenv', 'tmp'))
    assert len(temps) == (0 if step == 'renamed' else 1)
    assert _install.pending_orders(holder) == []
    _tasks.write_task_file(holder, 'T-2', '')  # sweeps the dead writer's temp
    assert os.listdir(os.path.join(tasks, '.bxenv', 'tmp')) == []
    _tasks.write_task_file(holder, 'T-2', 'complete: Server=192.0.2.8 is added to the pool')
    assert _install.remove(providers(world), 'p')['changed'] is True
    assert os.listdir(world['root']) == []


def test_the_providers_root_holds_only_providers(world, tmp_path):
    prov = providers(world)
    make_provider(world['root'], 'q', REPLIES)
    _orders.place(prov, 'q', '1', label='web')
    _install.install(prov, 'p', _upgrade_archive(tmp_path, '1'), **OWNER)
    _install.install(prov, 'p', _upgrade_archive(tmp_path, '2'), **OWNER)
    assert sorted(os.listdir(world['root'])) == ['p', 'q']
    _install.remove(prov, 'p')
    assert os.listdir(world['root']) == ['q']
    state = os.path.join(os.path.dirname(world['root']), '.bxenv-providers')
    locks = ['p.order.lock', 'p.plugin.lock', 'q.label.web.lock', 'q.order.lock']
    assert sorted(os.listdir(os.path.join(state, 'locks'))) == locks


def test_an_older_versions_lock_folder_is_moved_once_free(world):
    make_provider(world['root'], 'p', REPLIES)
    legacy = os.path.join(world['root'], '.bxenv')
    os.mkdir(legacy)
    for lock in ('p.plugin.lock', 'p.order.lock', 'other.order.lock'):
        open(os.path.join(legacy, lock), 'w').close()
    # an older version's run holds the lock of another provider: the folder stays
    held = os.open(os.path.join(legacy, 'other.order.lock'), os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        _orders.place(providers(world), 'p', '1')
        assert sorted(os.listdir(world['root'])) == ['.bxenv', 'p']
        # and one that holds the same provider's lock excludes this version's run
        same = os.open(os.path.join(legacy, 'p.order.lock'), os.O_RDWR)
        try:
            fcntl.flock(same, fcntl.LOCK_EX)
            with pytest.raises(BxError, match='Timed out after 0.2 s waiting for the lock %s/p.order.lock' % legacy):
                with _locking.provider_lock(world['root'], 'p', 'order', timeout=0.2):
                    pass
        finally:
            os.close(same)
    finally:
        os.close(held)
    _orders.place(providers(world), 'p', '2')
    assert os.listdir(world['root']) == ['p']
    # a folder holding anything but lock files is not ours to remove
    os.mkdir(legacy)
    open(os.path.join(legacy, 'notes.txt'), 'w').close()
    _orders.place(providers(world), 'p', '3')
    assert sorted(os.listdir(legacy)) == ['notes.txt']


# The one file layer -------------------------------------------------------

def test_a_pool_file_is_read_through_links_but_never_waited_on(tmp_path):
    real = tmp_path / 'real'
    real.write_bytes(b'data')
    (tmp_path / 'link').symlink_to(real)
    assert _files.read_file(str(tmp_path / 'link')) == b'data'  # a path the user gave: followed, as open() does
    os.mkfifo(str(tmp_path / 'fifo'))
    for name, code in (('fifo', errno.EINVAL), ('.', errno.EISDIR), ('missing', errno.ENOENT)):
        with pytest.raises(OSError) as caught:
            _files.read_file(str(tmp_path / name))
        assert caught.value.errno == code
    with pytest.raises(_files.UnsafeFile, match='larger than 3 bytes'):
        _files.read_file(str(real), limit=3)


def test_a_log_is_appended_to_and_never_written_through_a_link(tmp_path):
    log = str(tmp_path / 'log')
    _files.append(log, b'one\n')
    _files.append(log, b'two\n')
    assert open(log, 'rb').read() == b'one\ntwo\n'
    victim = tmp_path / 'victim'
    victim.write_bytes(b'kept')
    (tmp_path / 'linked').symlink_to(victim)
    os.mkfifo(str(tmp_path / 'fifo'))
    for name in ('linked', 'fifo'):
        with pytest.raises(OSError):
            _files.append(str(tmp_path / name), b'x')
    assert victim.read_bytes() == b'kept'


def test_a_private_folder_is_new_0700_and_removed_with_all_below(tmp_path):
    with _files.private_folder('bxenv-test-', str(tmp_path)) as (path, fd):
        assert os.path.dirname(path) == str(tmp_path) and os.path.basename(path).startswith('bxenv-test-')
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o700 & ~_umask()
        _files.write_new(fd, 'stub', b'#!/bin/sh\n', 0o700)
        with _files.folder_at(fd, 'a', 'b', create=True) as deep:
            _files.write_new(deep, 'f', b'')
        os.symlink(str(tmp_path), os.path.join(path, 'out'))
    assert os.listdir(str(tmp_path)) == []  # the link went, never what it points to
    with pytest.raises(RuntimeError):
        with _files.private_folder('bxenv-test-', str(tmp_path)) as (path, fd):
            raise RuntimeError('the body failed')
    assert os.listdir(str(tmp_path)) == []


def test_a_replaced_file_keeps_its_mode_and_a_folder_is_refused(tmp_path):
    path = tmp_path / 'hosts'
    path.write_bytes(b'old')
    path.chmod(0o640)
    _files.replace_file(str(path), b'new')
    assert path.read_bytes() == b'new' and stat.S_IMODE(path.stat().st_mode) == 0o640
    with pytest.raises(OSError) as caught:
        _files.replace_file(str(tmp_path), b'x')
    assert caught.value.errno == errno.EISDIR


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


MODULE_UTILS = os.path.dirname(_files.__file__)
# What only the file layer may do (in code, not in docstrings or comments).
FILE_CALLS = re.compile(r'(?<![\w.])open\(|os\.open\(|\bO_(RDONLY|WRONLY|RDWR|NOFOLLOW|CREAT|EXCL|CLOEXEC)\b'
                        r'|\btempfile\b|\bshutil\.(?!which\b)|os\.walk\b|fdopen|mkstemp|rmtree')
# The exceptions, each with its reason: the kernel's /proc, read directly
# (_runner). The detached watcher script of _runner opens its ``rc`` file
# itself, but it is a program of its own held in a string, not code here.
ALLOWED = {('_runner.py', "with open('/proc/%s/stat' % name) as handle:")}


def _code_lines(path):
    """``(line, code)`` of a Python file, strings and comments blanked."""
    import tokenize
    with open(path, 'rb') as handle:
        tokens = list(tokenize.tokenize(handle.readline))
    lines = open(path).read().splitlines()
    blanked = [list(line) for line in lines]
    for token in tokens:
        if token.type in (tokenize.STRING, tokenize.COMMENT):
            (row, col), (end_row, end_col) = token.start, token.end
            for number in range(row, end_row + 1):
                line = blanked[number - 1]
                start = col if number == row else 0
                end = end_col if number == end_row else len(line)
                line[start:end] = ' ' * (end - start)
    return [(lines[n], ''.join(chars)) for n, chars in enumerate(blanked)]


def test_only_the_file_layer_opens_files():
    found = []
    for path in sorted(glob.glob(os.path.join(MODULE_UTILS, '*.py'))):
        name = os.path.basename(path)
        if name == '_files.py':
            continue
        for line, code in _code_lines(path):
            if FILE_CALLS.search(code) and (name, line.strip()) not in ALLOWED:
                found.append('%s: %s' % (name, line.strip()))
    assert found == []


def test_no_module_calls_a_private_function_of_another():
    modules = set(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(MODULE_UTILS, '_*.py')))
    found = []
    for path in sorted(glob.glob(os.path.join(MODULE_UTILS, '_*.py'))):
        for line, code in _code_lines(path):
            for module, attribute in re.findall(r'(?<![\w.])(_\w+)\.(_\w+)', code):
                if module in modules and not attribute.startswith('__'):
                    found.append('%s: %s.%s' % (os.path.basename(path), module, attribute))
            match = re.search(r'module_utils\.(_\w+) import (.*)', code)
            if match and re.search(r'(?<![\w.])_\w', match.group(2)):
                found.append('%s: %s' % (os.path.basename(path), line.strip()))
    assert found == []
