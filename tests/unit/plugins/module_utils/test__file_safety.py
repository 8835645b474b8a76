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

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import ansible_collections
from ansible_collections.bitrix.bxenv.plugins.module_utils import _actions, _cli, _orders, _plugin, _tasks
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
        assert _cli.main(['-a', 'order', '--provider', 'p', '--config_id', '1', '--providers_dir', world['root'],
                          '-o', 'json'], out, io.StringIO()) == 0
    assert fingerprint(world['secret']) == before
    task = os.path.join(holder, 'tasks', 't_cfg5')
    assert not os.path.islink(task) and os.path.getsize(task) == 0


def test_orders_list_never_reads_through_a_link(world):
    holder = make_provider(world['root'], 'p', REPLIES)
    plant_link(holder, 'stolen', world['secret'])
    open(os.path.join(holder, 'tasks', 'real'), 'w').close()
    orders = _actions.orders_list(providers(world), 'p')['p']
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
    entry = _actions.orders_list(providers(world), 'p')['p']['big']
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
    _plugin.install(prov, 'p', _upgrade_archive(tmp_path, '1'), **OWNER)
    holder = os.path.join(world['root'], 'p')
    os.symlink(world['outside'], os.path.join(holder, 'tasks'))
    os.chmod(world['outside'], 0o700)
    before = fingerprint(world['secret'])
    result = _plugin.install(prov, 'p', _upgrade_archive(tmp_path, '2'), **OWNER)
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
from ansible_collections.bitrix.bxenv.plugins.module_utils import _plugin
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import Providers
try:
    _plugin.remove(Providers(sys.argv[2], timeout=20), 'p')
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
        _plugin.remove(prov, name)
        return record

    monkeypatch.setattr(prov, 'probe', probe_then_remove)
    with pytest.raises(BxError) as info:
        _orders.place(prov, 'p', '1', label='web')
    assert info.value.message == 'bxenv: provider p was removed while this order waited for it; nothing was ordered'


def test_refused_archive_leaves_no_lock_in_the_providers_root(world, tmp_path):
    bad = [path for label, path, reason in pa.bad_archives(str(tmp_path), 'p', world['outside'])][0]
    with pytest.raises(BxError):
        _plugin.install(providers(world), 'p', bad, **OWNER)
    assert os.listdir(world['root']) == ['.bxenv']
    assert _actions.list_providers(providers(world)) == {}


def test_a_provider_linked_out_of_its_folder_is_not_run(world):
    marker = os.path.join(world['outside'], 'ran')
    outside_tool = os.path.join(world['outside'], 'tool')
    with open(outside_tool, 'w') as handle:
        handle.write('#!/bin/sh\ntouch %s\n' % marker)
    os.chmod(outside_tool, 0o755)
    os.makedirs(os.path.join(world['root'], 'p', 'bin'))
    os.symlink(outside_tool, os.path.join(world['root'], 'p', 'bin', 'p'))
    entry = _actions.list_providers(providers(world))['p']
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
