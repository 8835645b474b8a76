# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real SSH test hosts in network namespaces, for tests, the demo and CI.

Each host is a network namespace ``bxlab<k>`` joined to this machine by a
veth pair on 10.213.<k>.0/24 (this machine .1, the host .2), running its own
OpenSSH ``sshd -D`` inside a private mount namespace where a private copy of
``/etc/shadow`` (its own root password), a private ``/root``, ``/tmp`` and
``/var/log`` and a tmpfs ``/run`` are bind-mounted; with ``overlay`` the
whole of ``/`` is a private overlay (upper layer on a tmpfs) and sshd runs
chrooted into it. Nothing outside the lab folder is written: not the real
``/etc/shadow``, ``/root``, ``/var/log/wtmp`` nor ``/run``.

Needs root, ``ip`` (iproute2), ``unshare`` and ``mount`` (util-linux),
``openssl`` and OpenSSH's ``sshd``/``ssh-keygen`` (``openssh-server`` is
installed with apt-get when missing).

Library::

    lab = up(lab_dir, count=3, overlay=False)   # -> state dict, also lab.json
    host = add_host(lab_dir, index=None, password=None, expired=False)
    proc = ssh(host, 'id -u')                   # password login, for tests
    remove_host(lab_dir, host['name'])
    down(lab_dir)

CLI::

    python3 tests/lab/lab.py up --dir DIR --count N [--overlay] [--password P]
    python3 tests/lab/lab.py add --dir DIR [--index K] [--password P] [--expired]
    python3 tests/lab/lab.py down --dir DIR
    python3 tests/lab/lab.py status --dir DIR
    python3 tests/lab/lab.py sweep      # orphans of killed runs (host folder gone)

The state file ``<dir>/lab.json`` lists every host: ``name``, ``index``,
``namespace``, ``address``, ``port``, ``user``, ``password``, ``expired``,
``overlay``, ``pid`` (sshd), ``pid_start`` (its start time, against pid
reuse), ``log`` (sshd log, LogLevel VERBOSE: every connection is logged),
``host_dir``, ``root_dir`` (the host's ``/root``), ``host_key`` (public key
line, for a known_hosts file) and ``veth``. Stdlib only, Python 3.8+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

NET_PREFIX = '10.213'
NS_PREFIX = 'bxlab'
STATE_FILE = 'lab.json'
SSHD = '/usr/sbin/sshd'
LOG_LEVEL = 'VERBOSE'
READY_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
_HERE = os.path.abspath(__file__)
INNER_DIR = '/run/bxlab/host'  # the host folder as sshd sees it


class LabError(Exception):
    pass


def _run(argv, data=None, check=True):
    proc = subprocess.run(argv, input=data, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=None if data is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LabError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode,
                                                  proc.stderr.decode('utf-8', 'replace').strip()))
    return proc


def ensure_sshd():
    """Install openssh-server with apt-get when sshd is missing."""
    if os.path.exists(SSHD):
        return
    sys.stderr.write('lab: %s is missing: running apt-get update && apt-get install -y openssh-server\n' % SSHD)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for argv in (['apt-get', 'update'], ['apt-get', 'install', '-y', 'openssh-server']):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr, env=env, check=False)
        if proc.returncode != 0:
            raise LabError('%s failed (rc=%d)' % (' '.join(argv), proc.returncode))
    if not os.path.exists(SSHD):
        raise LabError('openssh-server installed but %s is still missing' % SSHD)


# ---------------------------------------------------------------- state file

def _state_path(lab_dir):
    return os.path.join(lab_dir, STATE_FILE)


class _Locked(object):
    """An exclusive lock on the lab folder, so concurrent add/down calls do not lose hosts."""

    def __init__(self, lab_dir):
        os.makedirs(lab_dir, mode=0o700, exist_ok=True)
        self.path = os.path.join(lab_dir, '.lock')

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def load(lab_dir):
    """The lab's state: ``{'dir': ..., 'hosts': [...]}`` (empty when none)."""
    lab_dir = os.path.abspath(lab_dir)
    try:
        with open(_state_path(lab_dir)) as handle:
            return json.load(handle)
    except IOError:
        return {'dir': lab_dir, 'hosts': []}


def write_json(path, data):
    """Replace ``path`` atomically with ``data`` as JSON, readable by its owner only."""
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write('\n')
    os.rename(tmp, path)


def _save(lab_dir, state):
    write_json(_state_path(lab_dir), state)


# ---------------------------------------------------------------- one host

def _shadow_copy(password, expired):
    """The real /etc/shadow text with root's hash (and lastchg) replaced."""
    hashed = _run(['openssl', 'passwd', '-6', '-stdin'], data=password.encode('utf-8') + b'\n')
    hashed = hashed.stdout.decode('ascii').strip()
    lastchg = '0' if expired else str(int(time.time() // 86400))
    lines = []
    with open('/etc/shadow') as handle:
        for line in handle.read().splitlines():
            fields = line.split(':')
            if fields[0] == 'root' and len(fields) >= 3:
                fields[1] = hashed
                fields[2] = lastchg
                if expired and len(fields) >= 5:
                    fields[3] = '0'   # min days: a change is allowed at once
                line = ':'.join(fields)
            lines.append(line)
    return '\n'.join(lines) + '\n'


def _write(path, text, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


def _sshd_config(address, port, log_level):
    return '\n'.join([
        'ListenAddress %s:%d' % (address, port),
        'HostKey %s/ssh_host_ed25519_key' % INNER_DIR,
        'PidFile none',
        'PermitRootLogin yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'AuthorizedKeysFile .ssh/authorized_keys',
        'UsePAM no',
        'UseDNS no',
        'PrintMotd no',
        'PrintLastLog no',
        'MaxStartups 100:30:200',
        'LogLevel %s' % log_level,
        'Subsystem sftp internal-sftp',
        '',
    ])


def _pid_start(pid, live=False):
    """Start time of a process (field 22 of /proc/<pid>/stat), or None;
    with ``live``, None for a zombie too (PID 1 here may be slow to reap)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except IOError:
        return None
    if live and fields[0] in ('Z', 'X'):
        return None
    return int(fields[19])


def _claim_index(index):
    """Create the namespace; its name is the lock on the index and subnet."""
    candidates = [index] if index is not None else range(1, 255)
    for k in candidates:
        if not 1 <= int(k) <= 254:
            raise LabError('lab host index must be 1..254, not %r' % (k,))
        name = '%s%d' % (NS_PREFIX, k)
        proc = _run(['ip', 'netns', 'add', name], check=False)
        if proc.returncode == 0:
            return int(k), name
        if index is not None:
            raise LabError('lab host index %d is taken (ip netns add %s: %s)'
                           % (k, name, proc.stderr.decode('utf-8', 'replace').strip()))
    raise LabError('no free lab host index (namespaces %s1..254 all exist)' % NS_PREFIX)


def _wait_ready(host, proc):
    """Wait for sshd's "Server listening" log line (no probe connection, so
    the log shows only the connections tests make)."""
    deadline = time.time() + READY_TIMEOUT
    while time.time() < deadline:
        if proc.poll() is not None:
            raise LabError('sshd of %s exited with %s; see %s' % (host['name'], proc.returncode, host['log']))
        with open(host['log'], 'rb') as handle:
            if b'Server listening on ' in handle.read():
                return
        time.sleep(0.01)
    raise LabError('sshd of %s not listening after %ss; see %s' % (host['name'], READY_TIMEOUT, host['log']))


def _start_host(lab_dir, index=None, password=None, expired=False, overlay=False,
                port=22, log_level=LOG_LEVEL):
    k, namespace = _claim_index(index)
    name = 'lab%d' % k
    host_dir = os.path.join(lab_dir, name)
    address = '%s.%d.2' % (NET_PREFIX, k)
    gateway = '%s.%d.1' % (NET_PREFIX, k)
    veth = '%s%d' % (NS_PREFIX, k)
    if password is None:
        password = secrets.token_urlsafe(12)
    host = {
        'name': name, 'index': k, 'namespace': namespace, 'address': address, 'gateway': gateway,
        'port': port, 'user': 'root', 'password': password, 'expired': bool(expired),
        'overlay': bool(overlay), 'host_dir': host_dir, 'root_dir': os.path.join(host_dir, 'root'),
        'log': os.path.join(host_dir, 'sshd.log'), 'veth': veth, 'pid': None, 'pid_start': None,
    }
    try:
        if os.path.exists(host_dir):
            shutil.rmtree(host_dir)
        os.makedirs(host_dir, mode=0o700)
        for sub, mode in (('root', 0o700), ('tmp', 0o1777), ('varlog', 0o755), ('ov', 0o700)):
            os.mkdir(os.path.join(host_dir, sub))
            os.chmod(os.path.join(host_dir, sub), mode)
        for log in ('wtmp', 'btmp', 'lastlog'):
            _write(os.path.join(host_dir, 'varlog', log), '', 0o660)
        _write(os.path.join(host_dir, 'shadow'), _shadow_copy(password, expired), 0o640)
        shadow_stat = os.stat('/etc/shadow')
        os.chown(os.path.join(host_dir, 'shadow'), shadow_stat.st_uid, shadow_stat.st_gid)
        key = os.path.join(host_dir, 'ssh_host_ed25519_key')
        _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key])
        with open(key + '.pub') as handle:
            host['host_key'] = handle.read().strip()
        _write(os.path.join(host_dir, 'sshd_config'), _sshd_config(address, port, log_level), 0o600)

        _run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace])
        _run(['ip', 'addr', 'add', gateway + '/24', 'dev', veth])
        _run(['ip', 'link', 'set', veth, 'up'])
        nse = ['ip', 'netns', 'exec', namespace]
        _run(nse + ['ip', 'link', 'set', 'lo', 'up'])
        _run(nse + ['ip', 'addr', 'add', address + '/24', 'dev', 'eth0'])
        _run(nse + ['ip', 'link', 'set', 'eth0', 'up'])
        _run(nse + ['ip', 'route', 'add', 'default', 'via', gateway])

        # ip netns exec and unshare exec in place, and so does the inner stage:
        # the pid of this child is sshd's pid.
        with open(host['log'], 'ab') as log:
            proc = subprocess.Popen(
                nse + ['unshare', '-m', '--propagation', 'private',
                       sys.executable, _HERE, '_inner', host_dir] + (['--overlay'] if overlay else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
        host['pid'] = proc.pid
        host['pid_start'] = _pid_start(proc.pid)
        _wait_ready(host, proc)
    except BaseException:
        _stop_host(host)
        raise
    return host


def _inner(host_dir, overlay):
    """Runs inside the host's network and private mount namespace; ends as sshd.

    The host folder is first bind-mounted at ``/run/bxlab/host`` (on a fresh
    tmpfs ``/run``), so it stays reachable when ``/tmp`` or ``/root`` (where
    the lab folder may live) are covered by the host's private ones.
    """
    def mount(*args):
        _run(['mount'] + list(args))

    root = '/'
    if overlay:
        layer = os.path.join(host_dir, 'ov')
        mount('-t', 'tmpfs', '-o', 'mode=0700', 'bxlab-ov', layer)
        for sub in ('upper', 'work', 'merged'):
            os.mkdir(os.path.join(layer, sub))
        root = os.path.join(layer, 'merged')
        mount('-t', 'overlay', 'bxlab', '-o', 'lowerdir=/,upperdir=%s/upper,workdir=%s/work' % (layer, layer), root)
        mount('-t', 'proc', 'proc', os.path.join(root, 'proc'))
        mount('--rbind', '/dev', os.path.join(root, 'dev'))
        mount('--rbind', '/sys', os.path.join(root, 'sys'))
    run = os.path.join(root, 'run')
    mount('-t', 'tmpfs', '-o', 'mode=0755', 'bxlab-run', run)
    os.mkdir(os.path.join(run, 'sshd'), 0o755)
    stable = os.path.join(run, 'bxlab', 'host')
    os.makedirs(stable, 0o700)
    mount('--bind', host_dir, stable)
    mount('--bind', os.path.join(stable, 'shadow'), os.path.join(root, 'etc', 'shadow'))
    mount('--bind', os.path.join(stable, 'root'), os.path.join(root, 'root'))
    if not overlay:  # with an overlay, writes there already stay private
        mount('--bind', os.path.join(stable, 'varlog'), '/var/log')
        mount('--bind', os.path.join(stable, 'tmp'), '/tmp')
    if overlay:
        os.chroot(root)
    os.chdir('/')
    os.execv(SSHD, [SSHD, '-D', '-f', INNER_DIR + '/sshd_config', '-E', INNER_DIR + '/sshd.log'])


def _alive(pid, start):
    return bool(pid) and _pid_start(pid, live=True) == start


def _ns_pids(namespace):
    proc = _run(['ip', 'netns', 'pids', namespace], check=False)
    return [int(p) for p in proc.stdout.split()] if proc.returncode == 0 else []


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass


def _stop_host(host):
    """Kill the host's processes (recorded sshd pid, then all pids in its
    namespace), then delete its veth and namespace. Never by name."""
    pids = set(_ns_pids(host['namespace']))
    if host.get('pid') and _alive(host['pid'], host.get('pid_start')):
        pids.add(host['pid'])
    _signal(pids, signal.SIGTERM)
    deadline = time.time() + STOP_TIMEOUT
    while True:
        for pid in pids:
            _reap(pid)
        left = set(_ns_pids(host['namespace']))
        if host.get('pid') and _alive(host['pid'], host.get('pid_start')):
            left.add(host['pid'])
        if not left:
            break
        if time.time() > deadline:
            _signal(left, signal.SIGKILL)
            deadline = time.time() + STOP_TIMEOUT
            pids = left
        time.sleep(0.02)
    _run(['ip', 'link', 'del', host['veth']], check=False)
    _run(['ip', 'netns', 'del', host['namespace']], check=False)


# ---------------------------------------------------------------- public API

def add_host(lab_dir, index=None, password=None, expired=False, overlay=False, port=22, log_level=LOG_LEVEL):
    """Start one more host (index 1..254, or the first free one); returns its entry."""
    if os.geteuid() != 0:
        raise LabError('the lab needs root (network and mount namespaces)')
    ensure_sshd()
    lab_dir = os.path.abspath(lab_dir)
    if lab_dir == '/run' or lab_dir.startswith('/run/'):
        raise LabError('the lab folder cannot be under /run (each host gets its own /run)')
    with _Locked(lab_dir):
        state = load(lab_dir)
        host = _start_host(lab_dir, index=index, password=password, expired=expired,
                           overlay=overlay, port=port, log_level=log_level)
        state['hosts'].append(host)
        _save(lab_dir, state)
    return host


def up(lab_dir, count=3, overlay=False, password=None, log_level=LOG_LEVEL):
    """Start ``count`` hosts in ``lab_dir``; on any failure stop what was started."""
    lab_dir = os.path.abspath(lab_dir)
    try:
        for unused in range(count):
            add_host(lab_dir, password=password, overlay=overlay, log_level=log_level)
    except BaseException:
        down(lab_dir)
        raise
    return load(lab_dir)


def remove_host(lab_dir, name):
    """Stop one host and drop it from the state file."""
    lab_dir = os.path.abspath(lab_dir)
    with _Locked(lab_dir):
        state = load(lab_dir)
        for host in [h for h in state['hosts'] if h['name'] == name]:
            _stop_host(host)
        state['hosts'] = [h for h in state['hosts'] if h['name'] != name]
        _save(lab_dir, state)


def ssh(host, command, lab_dir=None, timeout=30):
    """Run ``command`` (a string for the remote shell) on a lab host as root,
    logging in with its password; returns ``subprocess.CompletedProcess``
    (text). Test tool: the password travels in this ssh's environment. The
    host key goes to ``<lab>/known_hosts``; nothing is written to ~/.ssh."""
    lab_dir = os.path.abspath(lab_dir or os.path.dirname(host['host_dir']))
    askpass = os.path.join(lab_dir, 'askpass.py')
    if not os.path.exists(askpass):
        _write(askpass + '.tmp', '#!%s\nimport os\nprint(os.environ["BXLAB_PASSWORD"])\n' % sys.executable, 0o700)
        os.rename(askpass + '.tmp', askpass)
    env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE='force', BXLAB_PASSWORD=host['password'])
    argv = ['setsid', '-w', 'ssh', '-F', '/dev/null', '-n', '-T',
            '-o', 'UserKnownHostsFile=%s' % os.path.join(lab_dir, 'known_hosts'),
            '-o', 'StrictHostKeyChecking=accept-new', '-o', 'PubkeyAuthentication=no',
            '-o', 'NumberOfPasswordPrompts=1', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
            '-p', str(host['port']), '-l', host['user'], host['address'], command]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=timeout, universal_newlines=True, check=False)


def _close_control_masters(lab_dir):
    """Ask ssh ControlPersist masters with sockets in ``<lab>/cp`` to exit."""
    folder = os.path.join(lab_dir, 'cp')
    if not os.path.isdir(folder):
        return
    for entry in os.listdir(folder):
        _run(['ssh', '-F', '/dev/null', '-o', 'ControlPath=' + os.path.join(folder, entry),
              '-O', 'exit', 'lab'], check=False)


def down(lab_dir):
    """Stop every host of the lab; the state file is kept, with no hosts."""
    lab_dir = os.path.abspath(lab_dir)
    if not os.path.isdir(lab_dir):
        return
    _close_control_masters(lab_dir)
    with _Locked(lab_dir):
        state = load(lab_dir)
        errors = []
        for host in state['hosts']:
            try:
                _stop_host(host)
            except Exception as exc:  # keep stopping the others
                errors.append('%s: %s' % (host['name'], exc))
        state['hosts'] = []
        _save(lab_dir, state)
    if errors:
        raise LabError('; '.join(errors))


def sweep(min_age=60):
    """Stop orphaned lab hosts of any lab folder: a ``bxlab*`` namespace whose
    sshd's host folder was deleted, or one with no process at all that is
    older than ``min_age`` seconds (a younger one may be starting). Returns
    the namespaces removed. For leftovers of killed test runs."""
    removed = []
    out = _run(['ip', 'netns', 'list'], check=False).stdout.decode('utf-8', 'replace')
    for line in out.splitlines():
        namespace = line.split()[0] if line.split() else ''
        if not namespace.startswith(NS_PREFIX) or not namespace[len(NS_PREFIX):].isdigit():
            continue
        pids = _ns_pids(namespace)
        orphan = not pids
        if orphan:
            try:
                orphan = time.time() - os.stat('/run/netns/' + namespace).st_mtime > min_age
            except OSError:
                continue
        for pid in pids:
            try:
                with open('/proc/%d/mountinfo' % pid) as handle:
                    sources = [m.split()[3] for m in handle if ' %s ' % INNER_DIR in m]
            except IOError:
                continue
            if sources and sources[0].endswith('//deleted'):
                orphan = True
        if orphan:
            _stop_host({'namespace': namespace, 'veth': namespace, 'pid': None})
            removed.append(namespace)
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(prog='lab.py', description='SSH test hosts in network namespaces')
    sub = parser.add_subparsers(dest='action')
    p_up = sub.add_parser('up', help='start N hosts')
    p_add = sub.add_parser('add', help='start one more host')
    p_down = sub.add_parser('down', help='stop every host')
    p_status = sub.add_parser('status', help='print the state file')
    sub.add_parser('sweep', help='stop orphaned lab hosts (host folder deleted, or no process)')
    for p in (p_up, p_add, p_down, p_status):
        p.add_argument('--dir', required=True)
    for p in (p_up, p_add):
        p.add_argument('--overlay', action='store_true', help='private overlay of / per host')
        p.add_argument('--password', help='root password (default: random per host)')
        p.add_argument('--log-level', default=LOG_LEVEL)
    p_up.add_argument('--count', type=int, default=3)
    p_add.add_argument('--index', type=int)
    p_add.add_argument('--expired', action='store_true', help='root must change its password')
    p_inner = sub.add_parser('_inner')
    p_inner.add_argument('host_dir')
    p_inner.add_argument('--overlay', action='store_true')
    args = parser.parse_args(argv)
    try:
        if args.action == '_inner':
            _inner(args.host_dir, args.overlay)
        elif args.action == 'up':
            json.dump(up(args.dir, args.count, args.overlay, args.password, args.log_level), sys.stdout, indent=2)
        elif args.action == 'add':
            json.dump(add_host(args.dir, args.index, args.password, args.expired, args.overlay,
                               log_level=args.log_level), sys.stdout, indent=2)
        elif args.action == 'down':
            down(args.dir)
        elif args.action == 'sweep':
            for namespace in sweep():
                sys.stdout.write('removed %s\n' % namespace)
        elif args.action == 'status':
            json.dump(load(args.dir), sys.stdout, indent=2)
        else:
            parser.error('an action is required')
    except LabError as exc:
        sys.stderr.write('lab: %s\n' % exc)
        return 1
    if args.action in ('up', 'add', 'status'):
        sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
