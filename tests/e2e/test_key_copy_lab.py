# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key copy against real sshd lab hosts (needs root: network namespaces)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ssh import (
    LOG_FILE, check_key_login, copy_key, key_copier, known_hosts_path,
)
from ansible_collections.bitrix.bxenv.tests.lab.pytest_lab import lab  # noqa: F401  pylint: disable=unused-import
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner

# The original's texts with the default log file, error=<code> to fill in.
MSG_WRONG_PASSWORD = _messages.WRONG_PASSWORD
MSG_CHANGE_PASSWORD = _messages.CHANGE_PASSWORD % ('%s', LOG_FILE)
MSG_OTHER = _messages.OTHER_ERROR % ('%s', LOG_FILE)

LAB_HOSTS = 3


class RecordingRunner(Runner):
    """The collection's runner, recording what it ran, with a secrets check."""

    def assert_secret_free(self, password):
        for argv in self.argvs:
            assert password not in argv and not [a for a in argv if password in a]
        for env in self.environs:
            assert not [v for v in env.values() if password in v]


@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    """A pool folder with a key pair and the known-hosts file path."""
    root = tmp_path_factory.mktemp('pool')
    key = str(root / 'id_rsa')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bxenv-pool', '-f', key], check=True)
    with open(key + '.pub') as handle:
        public = handle.read().strip()
    return {'key': key, 'public': public, 'known_hosts': str(root / '.ssh' / 'known_hosts'),
            'tmp': str(root)}


def _authorized(host):
    path = os.path.join(host['root_dir'], '.ssh', 'authorized_keys')
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def _copy(host, pool, password, runner=None, **kwargs):
    return copy_key(runner or RecordingRunner(), host['address'], password, pool['key'], pool['known_hosts'],
                    ssh_timeout=5, **kwargs)


def _real_root_ssh():
    return sorted(os.listdir('/root/.ssh')) if os.path.isdir('/root/.ssh') else None


def test_copy_key_then_idempotent(lab, pool, tmp_path):
    host, others = lab.hosts[0], lab.hosts[1:]
    real_before = _real_root_ssh()
    runner = RecordingRunner()
    askpass_tmp = str(tmp_path / 'askpass')
    os.mkdir(askpass_tmp)
    log_file = str(tmp_path / 'ssh_keycopy.log')

    result = _copy(host, pool, host['password'], runner, tmpdir=askpass_tmp, log_file=log_file)

    assert result['changed'] is True and result['key_added'] is True and result['password_used'] is True
    assert result['host_key_recorded'] is True
    assert _authorized(host) == pool['public'] + '\n'
    assert os.stat(os.path.join(host['root_dir'], '.ssh')).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(host['root_dir'], '.ssh', 'authorized_keys')).st_mode & 0o777 == 0o600
    assert [_authorized(h) for h in others] == [None, None]
    assert _real_root_ssh() == real_before
    # the host key was recorded, unhashed, under the pool's folder
    with open(pool['known_hosts']) as handle:
        recorded = handle.read().split()
    assert recorded[:3] == [host['address']] + host['host_key'].split()[:2]
    assert os.stat(os.path.dirname(pool['known_hosts'])).st_mode & 0o777 == 0o700
    # key login really works, with our client options
    assert check_key_login(Runner(), host['address'], pool['key'], pool['known_hosts'])[0] is True
    # the password went through ssh's stdin to askpass only; the helper's folder is gone
    runner.assert_secret_free(host['password'])
    assert any(e.get('SSH_ASKPASS_REQUIRE') == 'force' for e in runner.environs)
    assert all(argv[:3] == [sys.executable, '-I', '-c'] and argv[5] == 'ssh' for argv in runner.argvs)
    assert all('-F' in argv and argv[argv.index('-F') + 1] == '/dev/null' for argv in runner.argvs)
    assert os.listdir(askpass_tmp) == []
    with open(log_file) as handle:
        assert host['password'] not in handle.read()
    assert host['password'] not in repr(result)

    # second run: key login works at once, no password step, nothing changes
    again = RecordingRunner()
    result = _copy(host, pool, host['password'], again)
    assert result['changed'] is False and result['password_used'] is False
    assert result['host_key_recorded'] is False
    assert len(again.argvs) == 1 and again.environs == [{}]
    assert _authorized(host) == pool['public'] + '\n'
    # and no password is needed then
    assert _copy(host, pool, None)['changed'] is False


def test_key_present_but_not_working_is_not_added_twice(lab, pool):
    host = lab.hosts[1]
    ssh_dir = os.path.join(host['root_dir'], '.ssh')
    os.mkdir(ssh_dir, 0o700)
    path = os.path.join(ssh_dir, 'authorized_keys')
    # an existing file without a final newline, the key present but commented out
    with open(path, 'w') as handle:
        handle.write('# ' + pool['public'] + '\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther other')
    os.chmod(path, 0o600)
    result = _copy(host, pool, host['password'])
    assert result['changed'] is True
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert lines == ['# ' + pool['public'], 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther other', pool['public']]


def test_wrong_password(lab, pool):
    host = lab.hosts[2]
    with pytest.raises(BxError) as err:
        _copy(host, pool, host['password'] + 'x')
    assert err.value.code == 2 and err.value.message == MSG_WRONG_PASSWORD
    assert _authorized(host) is None
    assert 'Failed password for root' in open(host['log']).read()


def test_password_zero_is_a_password(lab, pool):
    host = lab.add(password='0')
    runner = RecordingRunner()
    result = _copy(host, pool, '0', runner)
    assert result['changed'] is True and _authorized(host) == pool['public'] + '\n'


def test_askpass_works_under_a_long_interpreter_path(lab, pool, tmp_path):
    """A '#!' line is cut at 127 bytes on older kernels and split at spaces:
    the helper must not depend on it (deep venvs, execution environments)."""
    deep = tmp_path / ('interpreter with spaces ' + 'd' * 60) / ('e' * 100)
    deep.mkdir(parents=True)
    python = deep / 'python3'
    python.symlink_to(sys.executable)
    assert len(str(python)) > 200
    host = lab.add()
    result = _copy(host, pool, host['password'], python=str(python))
    assert result['password_used'] is True and _authorized(host) == pool['public'] + '\n'


def test_no_password_and_no_key(lab, pool):
    host = lab.add()
    for password in (None, ''):
        with pytest.raises(BxError) as err:
            _copy(host, pool, password)
        assert err.value.code == 2
        assert err.value.message == (MSG_OTHER % 255) + '; key login refused and no password given'
    assert _authorized(host) is None


def test_password_change_required(lab, pool):
    host = lab.add(expired=True)
    with pytest.raises(BxError) as err:
        _copy(host, pool, host['password'])
    assert err.value.code == 1
    assert err.value.message.startswith(MSG_CHANGE_PASSWORD % 101)
    assert _authorized(host) is None


def test_changed_host_key_is_refused(lab, pool):
    host = lab.add(password='first')
    assert _copy(host, pool, 'first')['changed'] is True
    with open(pool['known_hosts']) as handle:
        known = handle.read()
    # the same address comes back as another machine (new host key)
    lab.remove(host)
    impostor = lab.add(index=host['index'], password='first')
    assert impostor['address'] == host['address'] and impostor['host_key'] != host['host_key']
    connections = lab.connections(impostor)
    with pytest.raises(BxError) as err:
        _copy(impostor, pool, 'first')
    assert err.value.code == 2
    assert err.value.message.startswith(MSG_OTHER % 255 + '; ')
    assert 'Host key verification failed' in err.value.message
    # no password was sent: only the key-login attempt reached the server, and it stopped at the host key
    assert lab.connections(impostor) == connections + 1
    assert 'Accepted' not in open(impostor['log']).read() and 'Failed password' not in open(impostor['log']).read()
    assert _authorized(impostor) is None
    with open(pool['known_hosts']) as handle:
        assert handle.read() == known


def test_unreachable_and_bad_names(lab, pool):
    host = lab.hosts[0]
    with pytest.raises(BxError) as err:
        copy_key(Runner(), host['address'], 'pw', pool['key'], pool['known_hosts'], port=2222, ssh_timeout=5)
    assert err.value.code == 2
    assert err.value.message.startswith(MSG_OTHER % 255 + '; ')
    assert 'Connection refused' in err.value.message
    connections = lab.connections(host)
    for server in ('-oProxyCommand=touch /tmp/x', 'a b', ''):
        with pytest.raises(BxError) as err:
            copy_key(Runner(), server, 'pw', pool['key'], pool['known_hosts'])
        assert err.value.code == 2
    assert lab.connections(host) == connections


def test_key_copier_for_order_to_host(lab, tmp_path):
    """The adapter the pool-add flow uses: known hosts under the pool folder."""
    host = lab.add(password='copier pw')
    pool_dir = str(tmp_path / 'pool')
    os.mkdir(pool_dir)
    key = os.path.join(pool_dir, 'id_rsa')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
    copy = key_copier(Runner(), pool_dir, timeout=5, log_file=str(tmp_path / 'ssh_keycopy.log'))
    assert copy(host['address'], 'copier pw', key, key + '.pub')['changed'] is True
    assert copy(host['address'], 'copier pw', key, key + '.pub')['changed'] is False
    with open(known_hosts_path(pool_dir)) as handle:
        assert handle.read().split()[0] == host['address']
    with open(str(tmp_path / 'ssh_keycopy.log')) as handle:
        assert 'copier pw' not in handle.read()
