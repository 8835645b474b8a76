# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Put the pool's public key on a new server, with the OpenSSH client only.

The original runs ``expect ssh_keycopy`` with the password on its command
line and ignores the server's host key. Here:

* the password reaches ssh through ``SSH_ASKPASS`` (``SSH_ASKPASS_REQUIRE=force``;
  the runner gives ssh a session of its own, so no tty, and stdin from
  /dev/null): a tiny Python askpass script reads it from a 0600 file in a
  private 0700 temp folder, whose *path* is in the environment; the folder
  is removed as soon as ssh is done. The password is never in argv, the
  environment, logs or results;
* ``-F /dev/null`` and explicit ``-o`` options: nothing is read from or
  written to ``~/.ssh``; the host key is recorded on first contact in the
  given known-hosts file (``StrictHostKeyChecking=accept-new``) and a changed
  key is refused;
* the key is added once (the remote side adds the line only when missing),
  a key login is tried first (then no password is needed) and afterwards
  (to prove the key works).

Failures keep the original's texts and codes (docs/protocol.md section 8 step 1.2),
with ``error=<n>`` mimicking the expect script's exit codes: 101 password
expired, 103 password change prompted, 104 wrong password (its own text),
and otherwise ssh's exit status. A short cause follows after ``; ``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
import shutil
import sys
import tempfile
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

LOG_FILE = '/opt/webdir/logs/ssh_keycopy.log'
MSG_WRONG_PASSWORD = 'User enter incorrect password'
MSG_CHANGE_PASSWORD = 'User must change password, error=%s: please view log file ' + LOG_FILE
MSG_OTHER = 'The error occurred, error=%s: please view log file ' + LOG_FILE

CODE_EXPIRED = 101        # the server says the password has expired
CODE_CHANGE_PROMPT = 103  # the server asks for a new password
CODE_WRONG_PASSWORD = 104

ASKPASS_DIR_ENV = 'BXENV_ASKPASS_DIR'
ASKPASS_PYTHON_ENV = 'BXENV_ASKPASS_PYTHON'
KEY_OK = 'BXENV_KEY_OK'
KEY_ADDED = 'BXENV_KEY_ADDED'
KEY_PRESENT = 'BXENV_KEY_PRESENT'

# Run by ssh as SSH_ASKPASS with the prompt as its only argument. It answers
# the login password prompt once; any other prompt (a second try, a new
# password, a host key question) is refused and noted for diagnosis.
ASKPASS_SCRIPT = r'''# bitrix.bxenv askpass helper: prints the password from a private file
import os
import re
import sys

folder = os.environ['%(env)s']
prompt = sys.argv[1] if len(sys.argv) > 1 else ''
with open(os.path.join(folder, 'prompts'), 'a') as log:
    log.write(' '.join(prompt.split()) + '\n')
login = re.search(r"(?i)('s|^|\))\s*password:\s*$", prompt)
change = re.search(r"(?i)\b(new|old|current|retype|again|change|expired)\b.*password", prompt)
if not login or change:
    sys.exit(1)
try:
    os.close(os.open(os.path.join(folder, 'answered'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
except OSError:
    sys.exit(1)
with open(os.path.join(folder, 'password'), 'rb') as handle:
    secret = handle.read()
out = getattr(sys.stdout, 'buffer', sys.stdout)
out.write(secret + b'\n')
out.flush()
'''

_EXPIRED = re.compile(r'(?i)password has expired|password change required|must change your password'
                      r'|required to change your password')
_KEY_TYPE = re.compile(r'^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$')
_KEY_BLOB = re.compile(r'^[A-Za-z0-9+/]+={0,3}$')


def _is_change_prompt(prompt):
    """A prompt about the password that is not the login prompt (as in ASKPASS_SCRIPT)."""
    if 'password' not in prompt.lower():
        return False
    login = re.search(r"(?i)('s|^|\))\s*password:\s*$", prompt)
    change = re.search(r"(?i)\b(new|old|current|retype|again|change|expired)\b.*password", prompt)
    return bool(change or not login)


def _fail(code, message, cause=None):
    if cause:
        message = '%s; %s' % (message, cause)
    raise BxError(message, code=code)


def _check_server(server, user, port):
    for what, value in (('server', server), ('user', user)):
        if not value or value.startswith('-') or re.search(r'[\s\x00-\x1f\x7f@]', value):
            _fail(2, MSG_OTHER % 2, 'bad %s name %r' % (what, value))
    if not isinstance(port, int) or not 0 < port < 65536:
        _fail(2, MSG_OTHER % 2, 'bad port %r' % (port,))


def read_public_key(public_key_file):
    """The public key line (``type base64 [comment]``) from its file."""
    try:
        with open(public_key_file) as handle:
            lines = [line.strip() for line in handle.read().splitlines() if line.strip()]
    except (IOError, OSError, UnicodeDecodeError) as exc:
        _fail(2, MSG_OTHER % 2, 'cannot read public key %s: %s' % (public_key_file, exc))
    fields = lines[0].split() if len(lines) == 1 else []
    if len(fields) < 2 or not _KEY_TYPE.match(fields[0]) or not _KEY_BLOB.match(fields[1]):
        _fail(2, MSG_OTHER % 2, 'public key %s is not one OpenSSH public key line' % public_key_file)
    return ' '.join(fields)


def _common_options(known_hosts_file, ssh_timeout):
    return [
        '-F', '/dev/null',
        '-o', 'UserKnownHostsFile=%s' % known_hosts_file,
        '-o', 'StrictHostKeyChecking=accept-new',
        '-o', 'HashKnownHosts=no',
        '-o', 'UpdateHostKeys=no',
        '-o', 'CheckHostIP=no',
        '-o', 'IdentitiesOnly=yes',
        '-o', 'ConnectTimeout=%d' % ssh_timeout,
        '-o', 'ServerAliveInterval=%d' % ssh_timeout,
        '-o', 'ServerAliveCountMax=2',
        '-o', 'ControlMaster=no',
        '-o', 'ControlPath=none',
        '-o', 'ForwardAgent=no',
        '-o', 'ForwardX11=no',
        '-o', 'ClearAllForwardings=yes',
        '-o', 'RequestTTY=no',
        '-n',
    ]


def _target(server, user, port):
    return ['-p', str(port), '-l', user, '--', server]


def _run_ssh(runner, argv, ssh_timeout, environ=None):
    """``(rc, stdout, stderr, timed_out)`` of one ssh run through the runner.

    ssh gets three connect timeouts and some slack before it is killed.
    """
    result = runner(argv, timeout=ssh_timeout * 3 + 10, environ_update=environ)
    return result.rc, result.text('stdout'), result.stderr_text(), result.timed_out


def _cause(stderr, known_hosts_file, server):
    """A short, clear reason from ssh's stderr (which never holds the password)."""
    if 'REMOTE HOST IDENTIFICATION HAS CHANGED' in stderr or 'Host key verification failed' in stderr:
        return ('the host key of %s differs from the one recorded in %s: Host key verification failed'
                % (server, known_hosts_file))
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith('Warning: Permanently added')]
    return lines[-1] if lines else None


def _log(log_file, server, step, rc, stderr):
    if not log_file or not os.path.isdir(os.path.dirname(log_file) or '.'):
        return
    try:
        with open(log_file, 'a') as handle:
            handle.write('[%s] %d server=%s step=%s rc=%s %s\n' % (
                time.strftime('%Y-%m-%d %H:%M:%S'), os.getpid(), server, step, rc,
                ' | '.join(line.strip() for line in stderr.splitlines() if line.strip())))
    except (IOError, OSError):
        pass


def check_key_login(runner, server, private_key_file, known_hosts_file, user='root', port=22,
                    ssh_timeout=10, ssh_bin='ssh', log_file=None):
    """Try a key-only login; returns ``(ok, rc, stderr)``. Records the host
    key on first contact; never asks for anything. ``runner`` has the
    signature of ``_runner.run``."""
    _check_server(server, user, port)
    argv = [ssh_bin] + _common_options(
        known_hosts_file, ssh_timeout) + [
        '-o', 'BatchMode=yes',
        '-o', 'IdentityFile=%s' % private_key_file,
        '-o', 'PubkeyAuthentication=yes',
        '-o', 'PasswordAuthentication=no',
        '-o', 'KbdInteractiveAuthentication=no',
        '-o', 'PreferredAuthentications=publickey',
    ] + _target(server, user, port) + ['echo %s' % KEY_OK]
    rc, out, err, dummy = _run_ssh(runner, argv, ssh_timeout)
    _log(log_file, server, 'key-login', rc, err)
    return rc == 0 and KEY_OK in out.split(), rc, err


def _remote_add_command(key_line):
    """A POSIX sh script adding the key line to ~/.ssh/authorized_keys once."""
    blob = ' '.join(key_line.split()[:2])
    script = (
        'umask 077; d="$HOME/.ssh"; f="$d/authorized_keys"; '
        '[ -d "$d" ] || mkdir -m 700 "$d" || exit 3; '
        'if [ -f "$f" ] && grep -v "^[[:space:]]*#" "$f" | grep -qF -- %(blob)s; then echo %(present)s; else '
        'if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f" || exit 4; fi; '
        'printf "%%s\\n" %(line)s >> "$f" || exit 4; echo %(added)s; fi; '
        'if command -v restorecon >/dev/null 2>&1; then restorecon -R "$d" >/dev/null 2>&1; fi; exit 0'
    ) % {'blob': shlex.quote(blob), 'line': shlex.quote(key_line), 'present': KEY_PRESENT, 'added': KEY_ADDED}
    return 'sh -c ' + shlex.quote(script)


def _write_private(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _password_step(runner, server, password, key_line, known_hosts_file, user, port, ssh_timeout,
                   ssh_bin, python, tmpdir, log_file):
    """Log in with the password and add the key; returns (rc, stdout, stderr, prompts, answered, timed_out)."""
    if not python or not os.path.isabs(python):
        _fail(2, MSG_OTHER % 2, 'python %r cannot run the askpass helper' % (python,))
    folder = tempfile.mkdtemp(prefix='bxenv-askpass-', dir=tmpdir)
    try:
        os.chmod(folder, 0o700)
        _write_private(os.path.join(folder, 'password'), password.encode('utf-8'), 0o600)
        _write_private(os.path.join(folder, 'askpass.py'),
                       (ASKPASS_SCRIPT % {'env': ASKPASS_DIR_ENV}).encode('utf-8'), 0o600)
        # A shell stub, so the interpreter path may be of any length or shape
        # (a '#!' line is cut at 127 bytes on older kernels and splits at spaces).
        askpass = os.path.join(folder, 'askpass')
        _write_private(askpass, ('#!/bin/sh\nexec "$%s" "$%s/askpass.py" "$@"\n'
                                 % (ASKPASS_PYTHON_ENV, ASKPASS_DIR_ENV)).encode('utf-8'), 0o700)
        argv = [ssh_bin] + _common_options(
            known_hosts_file, ssh_timeout) + [
            '-o', 'BatchMode=no',
            '-o', 'PubkeyAuthentication=no',
            '-o', 'PasswordAuthentication=yes',
            '-o', 'KbdInteractiveAuthentication=yes',
            '-o', 'PreferredAuthentications=password,keyboard-interactive',
            '-o', 'NumberOfPasswordPrompts=1',
        ] + _target(server, user, port) + [_remote_add_command(key_line)]
        environ = {
            'SSH_ASKPASS': askpass,
            'SSH_ASKPASS_REQUIRE': 'force',
            'DISPLAY': os.environ.get('DISPLAY') or 'bxenv:0',  # OpenSSH < 8.4 wants one
            ASKPASS_DIR_ENV: folder,
            ASKPASS_PYTHON_ENV: python,
        }
        rc, out, err, timed_out = _run_ssh(runner, argv, ssh_timeout, environ)
        try:
            with open(os.path.join(folder, 'prompts')) as handle:
                prompts = handle.read().splitlines()
        except (IOError, OSError):
            prompts = []
        answered = os.path.exists(os.path.join(folder, 'answered'))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _log(log_file, server, 'password', rc, err)
    return rc, out, err, prompts, answered, timed_out


def copy_key(runner, server, password, private_key_file, known_hosts_file, public_key_file=None,
             user='root', port=22, ssh_timeout=10, ssh_bin='ssh', python=sys.executable, tmpdir=None,
             log_file=None):
    """Make key login to ``user@server`` work with the pool key.

    Returns ``{'changed', 'key_added', 'password_used', 'host_key_recorded',
    'server', 'user', 'port', 'known_hosts_file'}``; raises ``BxError``.
    ``password`` may be None or '' when key login already works.
    """
    _check_server(server, user, port)
    key_line = read_public_key(public_key_file or private_key_file + '.pub')
    folder = os.path.dirname(os.path.abspath(known_hosts_file))
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    size_before = os.path.getsize(known_hosts_file) if os.path.exists(known_hosts_file) else 0
    common = dict(user=user, port=port, ssh_timeout=ssh_timeout, ssh_bin=ssh_bin, log_file=log_file)
    result = {'changed': False, 'key_added': False, 'password_used': False, 'server': server,
              'user': user, 'port': port, 'known_hosts_file': known_hosts_file}

    ok, rc, err = check_key_login(runner, server, private_key_file, known_hosts_file, **common)
    if not ok:
        if _EXPIRED.search(err):
            _fail(1, MSG_CHANGE_PASSWORD % CODE_EXPIRED, _cause(err, known_hosts_file, server))
        if 'Permission denied' not in err:   # unreachable, host key changed, ...
            _fail(2, MSG_OTHER % rc, _cause(err, known_hosts_file, server) or 'key login failed')
        if password is None or password == '':
            _fail(2, MSG_OTHER % rc, 'key login refused and no password given')
        rc, out, err, prompts, answered, timed_out = _password_step(
            runner, server, password, key_line, known_hosts_file, user, port, ssh_timeout,
            ssh_bin, python, tmpdir, log_file)
        result['password_used'] = True
        words = out.split()
        if rc != 0 or not (KEY_ADDED in words or KEY_PRESENT in words):
            text = out + '\n' + err
            if _EXPIRED.search(text):
                _fail(1, MSG_CHANGE_PASSWORD % CODE_EXPIRED, 'the password of %s has expired' % user)
            if any(_is_change_prompt(p) for p in prompts):
                _fail(1, MSG_CHANGE_PASSWORD % CODE_CHANGE_PROMPT, 'the server asks for a new password')
            if answered and 'Permission denied' in err:
                _fail(2, MSG_WRONG_PASSWORD)
            if timed_out:
                _fail(2, MSG_OTHER % rc, 'ssh timed out')
            _fail(2, MSG_OTHER % rc, _cause(err, known_hosts_file, server) or 'adding the key failed')
        result['key_added'] = KEY_ADDED in words
        ok, rc, err = check_key_login(runner, server, private_key_file, known_hosts_file, **common)
        if not ok:
            _fail(2, MSG_OTHER % rc, 'the key is in authorized_keys but key login fails: %s'
                  % (_cause(err, known_hosts_file, server) or 'no reason given'))
    result['changed'] = result['key_added']
    size_after = os.path.getsize(known_hosts_file) if os.path.exists(known_hosts_file) else 0
    result['host_key_recorded'] = size_after > size_before
    return result


def known_hosts_path(pool_dir):
    """The pool's own known-hosts file: ``<pool_dir>/.ssh/known_hosts``."""
    return os.path.join(pool_dir, '.ssh', 'known_hosts')


def key_copier(runner, pool_dir, timeout=None, known_hosts_file=None, log_file=LOG_FILE, **options):
    """``copy_key(server, password, private_key_file, public_key_file)`` bound to
    a runner and a pool, as ``_order_to_host.order_to_host`` wants it.

    ``timeout`` (seconds) becomes ssh's ConnectTimeout; the log file is
    written only when its folder exists (as the original's logs)."""
    ssh_timeout = max(1, int(timeout)) if timeout else 10
    known_hosts = known_hosts_file or known_hosts_path(pool_dir)

    def copy(server, password, private_key_file, public_key_file=None):
        return copy_key(runner, server, password, private_key_file, known_hosts,
                        public_key_file=public_key_file, ssh_timeout=ssh_timeout, log_file=log_file, **options)
    return copy
