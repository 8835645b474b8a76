# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Put the pool's public key on a new server, with the OpenSSH client only.

The original runs ``expect ssh_keycopy`` with the password on its command
line and ignores the server's host key. Here:

* the password reaches ssh through ``SSH_ASKPASS`` (``SSH_ASKPASS_REQUIRE=force``;
  the runner gives ssh a session of its own, so no tty) and never touches a
  disk: the runner writes it into ssh's stdin, a pipe. ``ssh -n`` never
  reads its stdin (its session reads /dev/null), and the askpass helper ssh
  starts inherits it and reads the password from it, to its end, once: a
  second prompt finds the pipe empty and is refused. Not a file (a kill -9
  leaves it behind), not the environment (readable in /proc for as long as
  ssh runs), and not an extra descriptor (ssh closes every descriptor above
  2 when it starts). The password is never in argv, the environment, a
  file, logs or results. The helper itself (a constant shell stub in a
  private temp folder, removed when ssh is done; after a kill -9 of the run
  it stays) holds nothing secret;
* ssh runs under a small guard (``GUARD``) that asks Linux to SIGKILL it when
  the process running the key copy dies (``PR_SET_PDEATHSIG``, kept across
  the exec of ssh), so even a kill -9 of the run leaves no ssh behind. The
  runner's timeout still ends its whole process group;
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
and otherwise ssh's exit status. A short cause follows after ``; ``. They
name the log file the key copy writes (``log_file``, a setting; the
original's ``/opt/webdir/logs/ssh_keycopy.log`` by default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
import shutil
import sys
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, quoted
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import SETTING_RANGES, check_settings

LOG_FILE = '/opt/webdir/logs/ssh_keycopy.log'

CODE_EXPIRED = 101        # the server says the password has expired
CODE_CHANGE_PROMPT = 103  # the server asks for a new password
CODE_WRONG_PASSWORD = 104

ASKPASS_PYTHON_ENV = 'BXENV_ASKPASS_PYTHON'
ASKPASS_CODE_ENV = 'BXENV_ASKPASS_CODE'
# Start of the lines the askpass helper adds to ssh's stderr for diagnosis.
ASKPASS_NOTE = 'bxenv-askpass:'
KEY_OK = 'BXENV_KEY_OK'
KEY_ADDED = 'BXENV_KEY_ADDED'
KEY_PRESENT = 'BXENV_KEY_PRESENT'

# Run by ssh as SSH_ASKPASS (through a shell stub) with the prompt as its only
# argument. It answers the login password prompt with what it reads from its
# stdin (ssh's, the pipe the runner writes the password into); any other
# prompt (a new password, a host key question) and a second login prompt
# (the pipe is empty by then) are refused. Each prompt, and whether it was
# answered, is noted on stderr (ssh's) for diagnosis.
ASKPASS_SCRIPT = r'''
import re
import sys

prompt = ' '.join((sys.argv[1] if len(sys.argv) > 1 else '').split())
sys.stderr.write('%(note)s prompt %%s\n' %% prompt)
login = re.search(r"(?i)('s|^|\))\s*password:\s*$", prompt)
change = re.search(r"(?i)\b(new|old|current|retype|again|change|expired)\b.*password", prompt)
if not login or change:
    sys.exit(1)
secret = sys.stdin.buffer.read()
if not secret:
    sys.exit(1)
sys.stderr.write('%(note)s answered\n')
sys.stdout.buffer.write(secret + b'\n')
''' % {'note': ASKPASS_NOTE}

# Runs ssh (argv[2:]) in its own place (exec). Linux sends it SIGKILL when
# the thread that started it dies, however that dies; ssh is not set-uid, so
# the setting survives the exec. A parent already gone (argv[1] is its pid)
# means the key copy was killed while this started: nothing to run.
GUARD = r'''
import os
import sys

try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
except (ImportError, AttributeError, OSError):
    pass  # not Linux: an orphan ssh still ends after its own timeouts
if os.getppid() != int(sys.argv[1]):
    sys.exit(125)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    sys.stderr.write('cannot run %s: %s\n' % (sys.argv[2], exc.strerror or exc))
    sys.exit(127)
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


def log_message(template, code, log_file):
    """``_messages.CHANGE_PASSWORD`` or ``_messages.OTHER_ERROR`` for ``code``, naming ``log_file``
    (the original's file when there is none)."""
    return template % (code, log_file or LOG_FILE)


def _fail(code, message, cause=None):
    if cause:
        message = '%s; %s' % (message, cause)
    raise BxError(message, code=code)


def _other(rc, log_file, cause=None):
    _fail(2, log_message(_messages.OTHER_ERROR, rc, log_file), cause)


def _change(code, log_file, cause):
    _fail(1, log_message(_messages.CHANGE_PASSWORD, code, log_file), cause)


def _check_server(server, user, port, ssh_timeout, log_file=None):
    for what, value in (('server', server), ('user', user)):
        if not isinstance(value, str) or not value or value.startswith('-') \
                or re.search(r'[\s\x00-\x1f\x7f@]', value):
            _other(2, log_file, 'bad %s name %s' % (what, quoted(value)))
    for name, value in (('ssh_port', port), ('ssh_timeout', ssh_timeout)):
        try:
            if value is None:  # check_settings takes None for "not given"
                raise BxError('%s must be given' % name)
            check_settings(**{name: value})
        except BxError as exc:
            _other(2, log_file, exc.message)


def read_public_key(public_key_file, log_file=None):
    """The public key line (``type base64 [comment]``) from its file."""
    try:
        text = _files.read_file(public_key_file, _files.MAX_READ).decode('utf-8')
    except (IOError, OSError, UnicodeDecodeError, _files.UnsafeFile) as exc:
        _other(2, log_file, 'cannot read public key %s: %s' % (public_key_file, exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fields = lines[0].split() if len(lines) == 1 else []
    if len(fields) < 2 or not _KEY_TYPE.match(fields[0]) or not _KEY_BLOB.match(fields[1]):
        _other(2, log_file, 'public key %s is not one OpenSSH public key line' % public_key_file)
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


def _run_ssh(runner, argv, ssh_timeout, python, log_file, environ=None, password=None):
    """``(rc, stdout, stderr, notes, timed_out)`` of one ssh run (under
    ``GUARD``) through the runner; ``password`` is written to its stdin.

    ``notes`` are the askpass helper's lines, taken out of stderr. ssh gets
    three connect timeouts and some slack before it is killed.
    """
    if not python or not os.path.isabs(python):
        _other(2, log_file, 'python %r cannot run the ssh guard' % (python,))
    result = runner([python, '-I', '-c', GUARD, str(os.getpid())] + argv, timeout=ssh_timeout * 3 + 10,
                    environ_update=environ, data=password)
    lines = result.stderr_text().splitlines()
    notes = [line[len(ASKPASS_NOTE):].strip() for line in lines if line.startswith(ASKPASS_NOTE)]
    stderr = '\n'.join(line for line in lines if not line.startswith(ASKPASS_NOTE))
    return result.rc, result.text('stdout'), stderr, notes, result.timed_out


def _cause(stderr, known_hosts_file, server):
    """A short, clear reason from ssh's stderr (which never holds the password)."""
    if 'REMOTE HOST IDENTIFICATION HAS CHANGED' in stderr or 'Host key verification failed' in stderr:
        return ('the host key of %s differs from the one recorded in %s: Host key verification failed'
                % (server, known_hosts_file))
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith('Warning: Permanently added')]
    return lines[-1] if lines else None


def _log(log_file, server, step, rc, stderr):
    """A line in ``log_file`` when its folder exists (never through a link)."""
    if not log_file or not os.path.isdir(os.path.dirname(log_file) or '.'):
        return
    line = '[%s] %d server=%s step=%s rc=%s %s\n' % (
        time.strftime('%Y-%m-%d %H:%M:%S'), os.getpid(), server, step, rc,
        ' | '.join(part.strip() for part in stderr.splitlines() if part.strip()))
    try:
        _files.append(log_file, line.encode('utf-8', 'surrogateescape'))
    except (IOError, OSError, UnicodeEncodeError):
        pass


def check_key_login(runner, server, private_key_file, known_hosts_file, user='root', port=22,
                    ssh_timeout=10, ssh_bin='ssh', log_file=None, python=sys.executable):
    """Try a key-only login; returns ``(ok, rc, stderr)``. Records the host
    key on first contact; never asks for anything. ``runner`` has the
    signature of ``_runner.run``; ``python`` runs the guard."""
    _check_server(server, user, port, ssh_timeout, log_file)
    argv = [ssh_bin] + _common_options(
        known_hosts_file, ssh_timeout) + [
        '-o', 'BatchMode=yes',
        '-o', 'IdentityFile=%s' % private_key_file,
        '-o', 'PubkeyAuthentication=yes',
        '-o', 'PasswordAuthentication=no',
        '-o', 'KbdInteractiveAuthentication=no',
        '-o', 'PreferredAuthentications=publickey',
    ] + _target(server, user, port) + ['echo %s' % KEY_OK]
    rc, out, err, dummy, dummy = _run_ssh(runner, argv, ssh_timeout, python, log_file)
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


def _password_step(runner, server, password, key_line, known_hosts_file, user, port, ssh_timeout,
                   ssh_bin, python, tmpdir, log_file):
    """Log in with the password and add the key; returns (rc, stdout, stderr, prompts, answered, timed_out)."""
    try:
        secret = password.encode('utf-8')
    except UnicodeEncodeError:
        _other(2, log_file, 'the password is not valid Unicode')
    with _files.private_folder('bxenv-askpass-', tmpdir, ignore_errors=True) as (folder, folder_fd):
        # A shell stub, so the interpreter path may be of any length or shape
        # (a '#!' line is cut at 127 bytes on older kernels and splits at spaces).
        askpass = os.path.join(folder, 'askpass')
        _files.write_new(folder_fd, 'askpass', ('#!/bin/sh\nexec "$%s" -I -c "$%s" "$@"\n'
                                                % (ASKPASS_PYTHON_ENV, ASKPASS_CODE_ENV)).encode('utf-8'), 0o700)
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
            ASKPASS_PYTHON_ENV: python,
            ASKPASS_CODE_ENV: ASKPASS_SCRIPT,
        }
        rc, out, err, notes, timed_out = _run_ssh(runner, argv, ssh_timeout, python, log_file, environ, secret)
    _log(log_file, server, 'password', rc, err)
    prompts = [note[len('prompt '):] for note in notes if note.startswith('prompt ')]
    return rc, out, err, prompts, 'answered' in notes, timed_out


def copy_key(runner, server, password, private_key_file, known_hosts_file, public_key_file=None,
             user='root', port=22, ssh_timeout=10, ssh_bin='ssh', python=sys.executable, tmpdir=None,
             log_file=None):
    """Make key login to ``user@server`` work with the pool key.

    Returns ``{'changed', 'key_added', 'password_used', 'host_key_recorded',
    'server', 'user', 'port', 'known_hosts_file'}``; raises ``BxError``.
    ``password`` may be None or '' when key login already works. The steps
    are logged to ``log_file`` when its folder exists; failures name it
    (the original's file when it is None).
    """
    _check_server(server, user, port, ssh_timeout, log_file)
    key_line = read_public_key(public_key_file or private_key_file + '.pub', log_file)
    folder = os.path.dirname(os.path.abspath(known_hosts_file))
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    size_before = os.path.getsize(known_hosts_file) if os.path.exists(known_hosts_file) else 0
    common = dict(user=user, port=port, ssh_timeout=ssh_timeout, ssh_bin=ssh_bin, log_file=log_file, python=python)
    result = {'changed': False, 'key_added': False, 'password_used': False, 'server': server,
              'user': user, 'port': port, 'known_hosts_file': known_hosts_file}

    ok, rc, err = check_key_login(runner, server, private_key_file, known_hosts_file, **common)
    if not ok:
        if _EXPIRED.search(err):
            _change(CODE_EXPIRED, log_file, _cause(err, known_hosts_file, server))
        if 'Permission denied' not in err:   # unreachable, host key changed, ...
            _other(rc, log_file, _cause(err, known_hosts_file, server) or 'key login failed')
        if password is None or password == '':
            _other(rc, log_file, 'key login refused and no password given')
        rc, out, err, prompts, answered, timed_out = _password_step(
            runner, server, password, key_line, known_hosts_file, user, port, ssh_timeout,
            ssh_bin, python, tmpdir, log_file)
        result['password_used'] = True
        words = out.split()
        if rc != 0 or not (KEY_ADDED in words or KEY_PRESENT in words):
            text = out + '\n' + err
            if _EXPIRED.search(text):
                _change(CODE_EXPIRED, log_file, 'the password of %s has expired' % user)
            if any(_is_change_prompt(p) for p in prompts):
                _change(CODE_CHANGE_PROMPT, log_file, 'the server asks for a new password')
            if answered and 'Permission denied' in err:
                _fail(2, _messages.WRONG_PASSWORD)
            if timed_out:
                _other(rc, log_file, 'ssh timed out')
            _other(rc, log_file, _cause(err, known_hosts_file, server) or 'adding the key failed')
        result['key_added'] = KEY_ADDED in words
        ok, rc, err = check_key_login(runner, server, private_key_file, known_hosts_file, **common)
        if not ok:
            _other(rc, log_file, 'the key is in authorized_keys but key login fails: %s'
                   % (_cause(err, known_hosts_file, server) or 'no reason given'))
    result['changed'] = result['key_added']
    size_after = os.path.getsize(known_hosts_file) if os.path.exists(known_hosts_file) else 0
    result['host_key_recorded'] = size_after > size_before
    return result


def ssh_client(ssh_bin=None):
    """The path of the OpenSSH client ``ssh_bin`` (a name looked up in PATH, or
    a path; ``ssh`` by default); a BxError naming what to install when there is none."""
    found = shutil.which(ssh_bin or 'ssh')
    if not found:
        raise BxError(_messages.NO_SSH)
    return os.path.abspath(found)


def known_hosts_path(pool_dir):
    """The pool's own known-hosts file: ``<pool_dir>/.ssh/known_hosts``."""
    return os.path.join(pool_dir, '.ssh', 'known_hosts')


def key_copier(runner, pool_dir, timeout=None, known_hosts_file=None, log_file=LOG_FILE, **options):
    """``copy_key(server, password, private_key_file, public_key_file)`` bound to
    a runner and a pool, as ``_order_to_host.order_to_host`` wants it.

    ``timeout`` (seconds) becomes ssh's ConnectTimeout; ``log_file`` (the
    setting ``ssh_log_file`` of bx_order_to_host and bx-provider) is written
    only when its folder exists (as the original's logs) and is named by the
    failures. The ssh client (``ssh_bin``, default ``ssh`` from PATH) is
    looked for by ``ready()``, which the pool-add calls before any contact
    (a missing client is a local problem), so a run that copies no key does
    not need it."""
    # bx-provider gives its provider timeout, which may pass ssh_timeout's range.
    ssh_timeout = min(max(1, int(timeout)), SETTING_RANGES['ssh_timeout'][1]) if timeout else 10
    known_hosts = known_hosts_file or known_hosts_path(pool_dir)
    ssh_bin = options.pop('ssh_bin', 'ssh')

    def copy(server, password, private_key_file, public_key_file=None):
        return copy_key(runner, server, password, private_key_file, known_hosts, public_key_file=public_key_file,
                        ssh_timeout=ssh_timeout, ssh_bin=ssh_client(ssh_bin), log_file=log_file, **options)
    copy.ready = lambda: ssh_client(ssh_bin)
    return copy
