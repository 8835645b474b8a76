# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bx-provider command's own settings: a root-only file, never the command line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli, _settings
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

ME = os.getuid()


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / 'etc'
    path.mkdir(mode=0o755)
    os.chmod(str(path), 0o755)
    return path


def write(folder, values, mode=0o644):
    path = str(folder / 'bx-provider.json')
    with open(path, 'w') as handle:
        handle.write(values if isinstance(values, str) else json.dumps(values))
    os.chmod(path, mode)
    return path


def test_missing_file_means_the_appliance_defaults(folder):
    assert _settings.load(str(folder / 'none.json'), trusted_uid=ME) == {
        'providers_dir': '/opt/webdir/providers', 'pool_dir': '/etc/ansible', 'jobs_dir': '/opt/webdir/temp',
        'ansible_playbook': '/usr/bin/ansible-playbook', 'owner': 'bitrix', 'group': 'bitrix', 'timeout': 60,
        'workers': 8, 'max_output': 16 * 1024 * 1024, 'setup_job': True,
        'ssh_log_file': '/opt/webdir/logs/ssh_keycopy.log'}


def test_values_are_laid_over_the_defaults(folder):
    path = write(folder, {'providers_dir': '/srv/providers', 'timeout': 90, 'setup_job': False})
    loaded = _settings.load(path, trusted_uid=ME)
    assert (loaded['providers_dir'], loaded['timeout'], loaded['setup_job'], loaded['pool_dir']) == (
        '/srv/providers', 90, False, '/etc/ansible')


@pytest.mark.parametrize('values, problem', [
    ({'providers': '/x'}, "unknown setting 'providers' in {path}; known: ansible_playbook, group, jobs_dir,"),
    ({'providers_dir': 'relative'}, 'setting providers_dir in {path} must be an absolute path'),
    ({'ssh_log_file': 'logs/ssh_keycopy.log'}, 'setting ssh_log_file in {path} must be an absolute path'),
    ({'timeout': '60'}, 'setting timeout in {path} must be a whole number'),
    ({'timeout': True}, 'setting timeout in {path} must be a whole number'),
    ({'setup_job': 1}, 'setting setup_job in {path} must be true or false'),
    ({'owner': ''}, 'setting owner in {path} must be a user or group name'),
    (['providers_dir'], 'settings in {path} must be a JSON object'),
    ('{"timeout": 6', 'the settings file {path} is not JSON'),
    ('\xff', 'the settings file {path} is not JSON'),
])
def test_bad_content_is_refused_by_name(folder, values, problem):
    path = write(folder, values)
    with pytest.raises(_settings.SettingsError) as caught:
        _settings.load(path, trusted_uid=ME)
    assert caught.value.message.startswith('bx-provider-bxenv: ' + problem.format(path=path))


@pytest.mark.parametrize('mode', [0o664, 0o646, 0o666])
def test_a_file_others_can_write_is_refused(folder, mode):
    path = write(folder, {'providers_dir': '/x'}, mode)
    with pytest.raises(_settings.SettingsError) as caught:
        _settings.load(path, trusted_uid=ME)
    assert caught.value.message == ('bx-provider-bxenv: %s is writable by others than its owner; refusing to trust it'
                                    % path)


def test_a_folder_others_can_write_is_refused(folder):
    path = write(folder, {'providers_dir': '/x'})
    os.chmod(str(folder), 0o777 | 0o1000)  # even sticky: the file's own folder must be root's alone
    with pytest.raises(_settings.SettingsError) as caught:
        _settings.load(path, trusted_uid=ME)
    assert 'writable by others than its owner' in caught.value.message


def test_a_file_of_another_user_is_refused(folder):
    path = write(folder, {'providers_dir': '/x'})
    if ME == 0:
        os.chown(path, 65534, 65534)
        trusted = 0
    else:
        trusted = ME + 1  # neither root nor the trusted user owns the test's folders
    with pytest.raises(_settings.SettingsError) as caught:
        _settings.load(path, trusted_uid=trusted)
    assert 'not to root; refusing to trust it' in caught.value.message


def test_links_and_fifos_are_refused_without_blocking(folder, tmp_path):
    target = write(tmp_path, {'providers_dir': '/x'})
    os.symlink(target, str(folder / 'link.json'))
    with pytest.raises(BxError) as caught:
        _settings.load(str(folder / 'link.json'), trusted_uid=ME)
    assert 'is a symbolic link; refusing to read it' in caught.value.message
    os.mkfifo(str(folder / 'fifo.json'), 0o600)
    with pytest.raises(BxError) as caught:
        _settings.load(str(folder / 'fifo.json'), trusted_uid=ME)
    assert 'a FIFO, not a regular file' in caught.value.message


def test_the_command_uses_its_settings_file_and_refuses_a_bad_one(folder, tmp_path):
    root = tmp_path / 'providers'
    root.mkdir()
    path = write(folder, {'providers_dir': str(root)})
    out = io.StringIO()
    original_load = _settings.load
    try:
        _settings.load = lambda name: original_load(name, trusted_uid=ME)
        assert _cli.main(['-o', 'json'], out, io.StringIO(), settings_file=path) == 0
        assert json.loads(out.getvalue()) == {'params': {'providers': {}}}
        os.chmod(path, 0o666)
        out = io.StringIO()
        assert _cli.main(['-o', 'json'], out, io.StringIO(), settings_file=path) == 1
        assert json.loads(out.getvalue())['message'].endswith('refusing to trust it')
    finally:
        _settings.load = original_load


@pytest.mark.parametrize('argv', [
    # What the web interface writes when a pasted value holds spaces: each
    # would have reached a setting or a second action before.
    ['-a', 'list', '--provider', 'p', '--providers_dir', '/x', '-o', 'json'],
    ['-a', 'status', '--provider', 'p', '-a', 'uninstall', '--force', '-o', 'json'],
    ['-a', 'order_status', '--provider', 'p', '--task_id', '1002', 'x', '-o', 'json'],
    ['-a', 'order_to_host', '--provider', 'p', '--pool', '/tmp/pool', '--task_id', '1', '-o', 'json'],
    ['-a', 'configs', '--provider', 'p', '--ansible_playbook=/tmp/evil', '-o', 'json'],
])
def test_pasted_words_never_become_settings(tmp_path, argv):
    root = tmp_path / 'providers'
    root.mkdir()
    out = io.StringIO()

    def runner(*args, **kwargs):
        raise AssertionError('nothing may run for a refused command line')
    assert _cli.main(argv, out, io.StringIO(), runner=runner, settings={'providers_dir': str(root)}) == 1
    document = json.loads(out.getvalue())
    assert document['error'] == 1 and document['message'].startswith(('Unknown option: ', 'Option ', 'Unexpected'))
    assert os.listdir(str(root)) == []
