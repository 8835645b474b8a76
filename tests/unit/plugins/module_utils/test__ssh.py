# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key copy against a stand-in ``ssh``: where the password goes, and
what a kill -9 of the run leaves behind (the real OpenSSH: tests/e2e)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages, _runner, _ssh
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner, alive, wait_gone

PASSWORD = 'S3cret pw: "quoted" $HOME'
SERVER = '192.0.2.10'

# Acts as ssh does towards SSH_ASKPASS: runs it with the prompt as its only
# argument, its stdin and stderr being ssh's. It records what it saw in
# $out (its environment, a copy of the askpass folder, a hash of each
# answer), never an answer itself. The key login (BatchMode=yes) works once
# the password step has run. $mode: ok (adds the key), twice (asks again, as
# ssh does after a wrong password, and fails), change (asks for a new
# password), wait (then waits to be killed).
# twice asks again, as ssh does after a wrong password, and fails.
FAKE_SSH = r'''#!/bin/sh
out=%(out)s
mode=%(mode)s
case "$*" in
  *BatchMode=yes*)
    [ -e "$out/key-added" ] && { echo BXENV_KEY_OK; exit 0; }
    echo "root@server: Permission denied (publickey)." >&2; exit 255;;
esac
env > "$out/env"
cp -R "$(dirname "$SSH_ASKPASS")" "$out/askpass-folder"
ask() {
  if answer=$("$SSH_ASKPASS" "$1"); then
    printf %%s "$answer" | sha256sum | cut -d' ' -f1 >> "$out/answers"
  else
    echo refused >> "$out/answers"
  fi
}
if [ "$mode" = change ]; then ask "New password: "; echo "Permission denied" >&2; exit 255; fi
ask "root@server's password: "
if [ "$mode" = twice ]; then ask "root@server's password: "; echo "Permission denied (password)." >&2; exit 255; fi
if [ "$mode" = wait ]; then
  echo $$ > "$out/ready.tmp" && mv "$out/ready.tmp" "$out/ready"
  exec sleep 600
fi
touch "$out/key-added"
echo BXENV_KEY_ADDED
'''


def _digest(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


@pytest.fixture
def lab(tmp_path):
    """Folders and a key pair; ``fake(mode)`` writes the stand-in ssh in ``bin/``."""
    paths = dict((name, tmp_path / name) for name in ('bin', 'out', 'tmp', 'pool'))
    for path in paths.values():
        path.mkdir()
    key = str(paths['pool'] / 'id_ed25519')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)

    def fake(mode):
        ssh = paths['bin'] / 'ssh'
        ssh.write_text(FAKE_SSH % {'out': paths['out'], 'mode': mode})
        ssh.chmod(0o700)
        return str(ssh)

    paths.update(root=tmp_path, key=key, known_hosts=str(paths['pool'] / '.ssh' / 'known_hosts'), fake=fake)
    return paths


def _files_holding(top, secret):
    """Every file below ``top`` whose bytes hold ``secret``."""
    found = []
    for folder, dummy, names in os.walk(str(top)):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as handle:
                    if secret.encode('utf-8') in handle.read():
                        found.append(path)
    return found


def _answers(lab):
    return (lab['out'] / 'answers').read_text().split()


def test_password_goes_through_a_pipe_only(lab):
    runner = RecordingRunner()
    result = _ssh.copy_key(runner, SERVER, PASSWORD, lab['key'], lab['known_hosts'], ssh_bin=lab['fake']('ok'),
                           tmpdir=str(lab['tmp']))
    assert result['changed'] is True and result['password_used'] is True
    assert _answers(lab) == [_digest(PASSWORD)]
    # not in argv, the environment, or any file (the askpass folder as ssh saw it included)
    assert not [argv for argv in runner.argvs if PASSWORD in ' '.join(argv)]
    assert not [env for env in runner.environs if PASSWORD in ' '.join(env.values())]
    assert PASSWORD not in (lab['out'] / 'env').read_text()
    assert sorted(os.listdir(str(lab['out'] / 'askpass-folder'))) == ['askpass']
    assert _files_holding(lab['root'], PASSWORD) == []
    assert os.listdir(str(lab['tmp'])) == []
    # every ssh ran under the guard
    assert all(argv[:3] == [sys.executable, '-I', '-c'] and argv[5] == lab['fake']('ok') for argv in runner.argvs)


def test_a_second_prompt_is_refused(lab):
    with pytest.raises(BxError) as err:
        _ssh.copy_key(_runner.run, SERVER, PASSWORD, lab['key'], lab['known_hosts'], ssh_bin=lab['fake']('twice'),
                      tmpdir=str(lab['tmp']))
    # as after a wrong password: the password is given once, never twice
    assert _answers(lab) == [_digest(PASSWORD), 'refused']
    assert (err.value.code, err.value.message) == (2, _messages.WRONG_PASSWORD)


def test_a_new_password_prompt_is_refused(lab):
    with pytest.raises(BxError) as err:
        _ssh.copy_key(_runner.run, SERVER, PASSWORD, lab['key'], lab['known_hosts'], ssh_bin=lab['fake']('change'),
                      tmpdir=str(lab['tmp']))
    assert _answers(lab) == ['refused']
    assert (err.value.code, err.value.message) == (1, (_messages.CHANGE_PASSWORD % (_ssh.CODE_CHANGE_PROMPT, _ssh.LOG_FILE))
                                                   + '; the server asks for a new password')


# Runs the key copy as bx-provider or a module does, ssh found on PATH; the
# password comes on stdin so it is in no argv.
_CHILD = r'''
import sys
from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner, _ssh
_ssh.copy_key(_runner.run, sys.argv[1], sys.stdin.read(), sys.argv[2], sys.argv[3], tmpdir=sys.argv[4])
'''


def _wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.path.exists(path)


def test_kill_9_during_the_key_copy_leaves_no_password_and_no_ssh(lab):
    lab['fake']('wait')
    env = dict(os.environ, PATH='%s%s%s' % (lab['bin'], os.pathsep, os.environ.get('PATH', '')),
               PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, '-c', _CHILD, SERVER, lab['key'], lab['known_hosts'], str(lab['tmp'])],
                             stdin=subprocess.PIPE, env=env)
    try:
        child.stdin.write(PASSWORD.encode('utf-8'))
        child.stdin.close()
        ready = str(lab['out'] / 'ready')
        assert _wait_for(ready), 'the stand-in ssh never got to the password step'
        ssh_pid = int(open(ready).read())
        # ssh has the password (askpass answered) and waits: nothing on disk holds it
        assert _answers(lab) == [_digest(PASSWORD)]
        assert alive(ssh_pid)
        assert _files_holding(lab['root'], PASSWORD) == []
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert wait_gone(ssh_pid, 30), 'ssh outlived the key copy'
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _files_holding(lab['root'], PASSWORD) == []
    # what may stay is the helper's folder, with nothing but the constant stub
    for folder in os.listdir(str(lab['tmp'])):
        assert os.listdir(str(lab['tmp'] / folder)) == ['askpass']


def test_guard_does_not_start_ssh_for_a_parent_already_gone(lab):
    marker = lab['out'] / 'started'
    result = _runner.run([sys.executable, '-I', '-c', _ssh.GUARD, '1', 'touch', str(marker)], timeout=30)
    assert result.rc == 125 and not marker.exists()
    result = _runner.run([sys.executable, '-I', '-c', _ssh.GUARD, str(os.getpid()), 'touch', str(marker)], timeout=30)
    assert result.rc == 0 and marker.exists()


@pytest.mark.parametrize('options, cause', [
    ({'port': 0}, 'ssh_port must be a whole number from 1 to 65535, got 0'),
    ({'port': 10 ** 400}, 'ssh_port must be a whole number from 1 to 65535, got 1000000000'),
    ({'port': '22'}, "ssh_port must be a whole number from 1 to 65535, got '22'"),
    ({'ssh_timeout': 0}, 'ssh_timeout must be a whole number of seconds from 1 to 3600, got 0'),
    ({'ssh_timeout': 10 ** 12}, 'ssh_timeout must be a whole number of seconds from 1 to 3600, got 1000000000000'),
])
def test_bounds_before_any_ssh(lab, options, cause):
    runner = RecordingRunner()
    with pytest.raises(BxError) as err:
        _ssh.copy_key(runner, SERVER, PASSWORD, lab['key'], lab['known_hosts'], ssh_bin=lab['fake']('ok'), **options)
    assert err.value.code == 2
    assert err.value.message.startswith(_messages.OTHER_ERROR % (2, _ssh.LOG_FILE) + '; ' + cause)
    assert runner.argvs == []


def test_key_copier_keeps_a_long_command_timeout_in_range(lab):
    runner = RecordingRunner()
    copy = _ssh.key_copier(runner, str(lab['pool']), timeout=86400, ssh_bin=lab['fake']('ok'), tmpdir=str(lab['tmp']))
    assert copy(SERVER, PASSWORD, lab['key'])['changed'] is True
    assert 'ConnectTimeout=3600' in runner.argvs[0]


def test_the_log_file_is_a_parameter_named_by_the_failures(lab):
    logs = lab['root'] / 'logs'
    logs.mkdir()
    log_file = str(logs / 'ssh_keycopy.log')
    copy = _ssh.key_copier(_runner.run, str(lab['pool']), ssh_bin=lab['fake']('change'), tmpdir=str(lab['tmp']),
                           log_file=log_file)
    with pytest.raises(BxError) as err:
        copy(SERVER, PASSWORD, lab['key'])
    assert (err.value.code, err.value.message) == (
        1, 'User must change password, error=%d: please view log file %s; the server asks for a new password'
        % (_ssh.CODE_CHANGE_PROMPT, log_file))
    with open(log_file) as handle:
        steps = [line.split(' step=')[1].split()[0] for line in handle.read().splitlines()]
    assert steps == ['key-login', 'password']
    with pytest.raises(BxError) as err:
        _ssh.copy_key(RecordingRunner(), SERVER, PASSWORD, lab['key'], lab['known_hosts'], port=0, log_file=log_file)
    assert err.value.message.startswith('The error occurred, error=2: please view log file %s; ' % log_file)


def test_the_log_is_never_written_through_a_link_or_where_its_folder_is_missing(lab):
    victim = lab['root'] / 'victim'
    victim.write_text('kept\n')
    linked = lab['root'] / 'linked.log'
    linked.symlink_to(victim)
    missing = str(lab['root'] / 'no-such-folder' / 'ssh_keycopy.log')
    for log_file in (str(linked), missing):
        copy = _ssh.key_copier(RecordingRunner(), str(lab['pool']), ssh_bin=lab['fake']('ok'),
                               tmpdir=str(lab['tmp']), log_file=log_file)
        assert copy(SERVER, PASSWORD, lab['key'])['changed'] is True
        os.unlink(str(lab['out'] / 'key-added'))
    assert victim.read_text() == 'kept\n' and not os.path.exists(os.path.dirname(missing))
