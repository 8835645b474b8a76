# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netns_lab: a BitrixVM provider plugin whose servers are local lab hosts.

Each server it "sells" is a network namespace ``bxprov<k>`` on this machine,
reached at ``10.214.<k>.2`` over a veth pair, running its own OpenSSH
``sshd`` with its own root password and ``/root`` (the lab mechanism of
``lab.py``, shipped beside this file). It speaks the provider protocol
(``help``, ``configs``, ``order <config_id>``, ``order_status <task_id>``),
so the whole order -> wait -> add-to-pool path can be tried for real on one
Linux machine, as root.

``order`` answers at once with a task id and leaves the provisioning to a
detached background process (a "boot" delay, then the host is started);
``order_status`` answers ``in_progress`` until the host's sshd answers with
an SSH banner, then ``finished`` with ``server`` and ``server_password``.
It offers ``order_token`` (docs/protocol.md, section 3): an ``order`` whose
``BX_ORDER_TOKEN`` an earlier order was placed with returns that order; the
token is saved in the order's file, in the same write and under the same
lock that place the order.

Own actions, for people and tests: ``destroy <task_id>``, ``destroy-all``,
``list`` (orders without passwords) and ``sweep`` (namespaces of this
provider whose state folder was deleted). Everything is kept under the
``state_dir`` of ``etc/netns_lab.conf`` (default ``<plugin>/var``), mode
0700; order files, which hold the root password, are 0600.

Stdlib only, Python 3.8+, no shell.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time

import lab

NAME = 'netns_lab'
OPTIONS = ['help', 'configs', 'order', 'order_status', 'order_token']
# The optional capability order_token: the variable and the token's form.
TOKEN_VARIABLE = 'BX_ORDER_TOKEN'
TOKEN = re.compile(r'\A[0-9a-f]{40}\Z')
# Distinct from the test lab (10.213.<k>.0/24, bxlab<k>), so both can run at
# once; the namespace name is the claim on <k> across every install.
lab.NET_PREFIX = '10.214'
lab.NS_PREFIX = 'bxprov'

PLANS = [
    {'id': '1', 'descr': 'lab-small: sshd in a network namespace, own root password, /root, /tmp and /var/log',
     'overlay': False, 'boot_delay': 2},
    {'id': '2', 'descr': 'lab-overlay: as lab-small, with a private overlay of / (changes stay in RAM)',
     'overlay': True, 'boot_delay': 2},
    {'id': '3', 'descr': 'lab-instant: as lab-overlay, no boot delay',
     'overlay': True, 'boot_delay': 0},
]
FIRST_TASK_ID = 1001
SSH_PORT = 22
BANNER_TIMEOUT = 2.0


class ProviderError(Exception):
    """Becomes the protocol's error reply."""


# ---------------------------------------------------------------- settings and state

def read_settings(holder):
    """``etc/netns_lab.conf`` as a dict (``key = value`` lines), with defaults."""
    settings = {'state_dir': 'var', 'boot_delay': ''}
    path = os.path.join(holder, 'etc', NAME + '.conf')
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except IOError:
        lines = []
    for line in lines:
        line = line.split('#', 1)[0].strip()
        key, sep, value = line.partition('=')
        if sep and key.strip() in settings:
            settings[key.strip()] = value.strip()
    settings['state_dir'] = os.path.join(holder, settings['state_dir'] or 'var')
    delay = settings['boot_delay']
    try:
        settings['boot_delay'] = float(delay) if delay != '' else None
    except ValueError:
        raise ProviderError('%s: boot_delay must be a number of seconds, not %r' % (path, delay))
    return settings


class State(object):
    """The provider's folder of orders and lab hosts, under one lock."""

    def __init__(self, state_dir):
        self.dir = state_dir
        self.orders = os.path.join(state_dir, 'orders')
        self.hosts = os.path.join(state_dir, 'hosts')
        self.logs = os.path.join(state_dir, 'log')
        self._fd = None

    def ensure(self):
        for folder in (self.dir, self.orders, self.hosts, self.logs):
            try:
                os.makedirs(folder, 0o700)
            except OSError as exc:  # made earlier, or by a call running beside this one
                if exc.errno != errno.EEXIST:
                    raise
            os.chmod(folder, 0o700)

    def __enter__(self):
        self.ensure()
        self._fd = os.open(os.path.join(self.dir, '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self._fd)
        self._fd = None

    def order_path(self, task_id):
        return os.path.join(self.orders, task_id + '.json')

    def load(self, task_id):
        """The order ``task_id`` or None (ids are ours: digits only)."""
        if not task_id.isdigit():
            return None
        try:
            with open(self.order_path(task_id)) as handle:
                return json.load(handle)
        except IOError:
            return None

    def save(self, order):
        lab.write_json(self.order_path(order['task_id']), order)

    def all_orders(self):
        if not os.path.isdir(self.orders):
            return []
        ids = sorted((n[:-5] for n in os.listdir(self.orders) if n.endswith('.json') and n[:-5].isdigit()), key=int)
        return [o for o in (self.load(i) for i in ids) if o is not None]

    def by_token(self, token):
        """The order placed with ``token``, or None."""
        for order in self.all_orders():
            if order.get('token') == token:
                return order
        return None

    def next_task_id(self):
        path = os.path.join(self.dir, 'next_task_id')
        try:
            with open(path) as handle:
                value = int(handle.read().strip())
        except (IOError, ValueError):
            value = FIRST_TASK_ID
        with open(path + '.tmp', 'w') as handle:
            handle.write('%d\n' % (value + 1))
        os.rename(path + '.tmp', path)
        return str(value)


# ---------------------------------------------------------------- processes and SSH

def process_start(pid):
    """Start time of a live process (field 22 of /proc/<pid>/stat), else None."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except (IOError, ValueError):
        return None
    return None if fields[0] in ('Z', 'X') else int(fields[19])


def alive(record):
    return bool(record) and record.get('pid') and process_start(record['pid']) == record.get('start')


def ssh_banner(address, port=SSH_PORT, timeout=BANNER_TIMEOUT):
    """True when ``address:port`` answers with an SSH protocol banner."""
    try:
        conn = socket.create_connection((address, port), timeout=timeout)
    except (OSError, socket.error):
        return False
    try:
        conn.settimeout(timeout)
        data = b''
        while b'\n' not in data and len(data) < 256:
            chunk = conn.recv(256)
            if not chunk:
                break
            data += chunk
        return data.startswith(b'SSH-')
    except (OSError, socket.error):
        return False
    finally:
        conn.close()


def require_root(what):
    if os.geteuid() != 0:
        raise ProviderError('%s: %s needs root (it creates network namespaces and runs sshd in them)' % (NAME, what))


def find_plan(config_id):
    for plan in PLANS:
        if plan['id'] == config_id:
            return plan
    raise ProviderError('%s: no configuration with id=%s (ids: %s)'
                        % (NAME, config_id, ', '.join(p['id'] for p in PLANS)))


# ---------------------------------------------------------------- protocol actions

def do_help(ctx):
    return {'options': OPTIONS, 'status': 'enabled', 'name': NAME}


def do_configs(ctx):
    delay = ctx['settings']['boot_delay']
    configurations = []
    for plan in PLANS:
        entry = dict(plan)
        if delay is not None:
            entry['boot_delay'] = delay
        configurations.append(entry)
    return {'configurations': configurations, 'status': 'enabled'}


def order_token():
    """The order token the caller sent (``order_token``), or None when it sent none."""
    token = os.environ.get(TOKEN_VARIABLE)
    if token is not None and not TOKEN.match(token):
        raise ProviderError('%s: %s must be 40 lowercase hexadecimal characters; nothing was ordered'
                            % (NAME, TOKEN_VARIABLE))
    return token


def do_order(ctx, config_id):
    require_root('order')
    plan = find_plan(config_id)
    token = order_token()
    delay = ctx['settings']['boot_delay']
    with State(ctx['settings']['state_dir']) as state:
        # Under the state lock, so a token is looked up and saved in one step.
        earlier = None if token is None else state.by_token(token)
        if earlier is not None:
            return {'task_id': earlier['task_id'], 'config_id': earlier['config_id'], 'repeated': True}
        task_id = state.next_task_id()
        order = {
            'task_id': task_id, 'config_id': plan['id'], 'overlay': plan['overlay'],
            'boot_delay': plan['boot_delay'] if delay is None else delay,
            'state': 'provisioning', 'created': int(time.time()), 'token': token,
            'password': secrets.token_urlsafe(12), 'host': None, 'provisioner': None, 'message': None,
        }
        state.save(order)
        # Detached: its own session, no pipes of ours, so the caller (and
        # the `timeout` wrapping it) does not wait for it.
        with open(os.path.join(state.logs, task_id + '.log'), 'ab') as log:
            proc = subprocess.Popen([sys.executable, ctx['entry'], '_provision', task_id],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd='/',
                                    start_new_session=True, close_fds=True)
        order['provisioner'] = {'pid': proc.pid, 'start': process_start(proc.pid)}
        state.save(order)
    return {'task_id': task_id, 'config_id': plan['id'], 'status': 'in_progress'}


def do_provision(ctx, task_id):
    """The background half of ``order``: boot delay, then start the lab host."""
    state = State(ctx['settings']['state_dir'])
    order = state.load(task_id)
    if order is None:
        raise ProviderError('%s: no order task_id=%s' % (NAME, task_id))
    time.sleep(max(0.0, float(order['boot_delay'])))
    with state:
        order = state.load(task_id)
        if order is None or order['state'] != 'provisioning':
            return {'task_id': task_id, 'state': order and order['state']}
        try:
            host = lab.add_host(state.hosts, password=order['password'], overlay=order['overlay'])
        except Exception as exc:  # any failure ends the order with its reason
            order.update(state='failed', message='provisioning failed: %s' % exc)
        else:
            order.update(state='running', host={'name': host['name'], 'namespace': host['namespace'],
                                                'address': host['address'], 'port': host['port']})
        state.save(order)
    return {'task_id': task_id, 'state': order['state']}


def do_order_status(ctx, task_id):
    state = State(ctx['settings']['state_dir'])
    order = state.load(task_id)
    if order is None:
        raise ProviderError('%s: no order task_id=%s' % (NAME, task_id))
    reply = {'task_id': task_id, 'config_id': order['config_id']}
    if order['state'] == 'provisioning':
        if not alive(order['provisioner']):
            # Killed before it could record anything: say so instead of waiting forever.
            order = state.load(task_id)
            if order['state'] == 'provisioning':
                reply.update(status='failed', message='the provisioning process is gone; order again')
                return reply
        if order['state'] == 'provisioning':
            reply.update(status='in_progress', message='the server is booting')
            return reply
    if order['state'] == 'running':
        host = order['host']
        if not ssh_banner(host['address'], host['port']):
            reply.update(status='in_progress', message='waiting for sshd on %s' % host['address'])
            return reply
        reply.update(status='finished', server=host['address'], server_password=order['password'],
                     server_name=host['name'])
        return reply
    reply.update(status='failed', message=order['message'] or 'the order is %s' % order['state'])
    return reply


def _destroy(state, order):
    """Stop the order's host (or its provisioner); under the state lock."""
    if order['state'] == 'provisioning' and alive(order['provisioner']):
        try:
            os.kill(order['provisioner']['pid'], signal.SIGTERM)
        except OSError:
            pass
    if order.get('host'):
        lab.remove_host(state.hosts, order['host']['name'])
    changed = order['state'] != 'destroyed'
    order.update(state='destroyed', message='server destroyed by "%s destroy"' % NAME)
    state.save(order)
    return changed


def do_destroy(ctx, task_id):
    require_root('destroy')
    with State(ctx['settings']['state_dir']) as state:
        order = state.load(task_id)
        if order is None:
            raise ProviderError('%s: no order task_id=%s' % (NAME, task_id))
        changed = _destroy(state, order)
    return {'task_id': task_id, 'status': 'destroyed', 'changed': changed}


def do_destroy_all(ctx):
    require_root('destroy-all')
    destroyed = []
    with State(ctx['settings']['state_dir']) as state:
        for order in state.all_orders():
            if _destroy(state, order):
                destroyed.append(order['task_id'])
        lab.down(state.hosts)  # hosts no order knows of (an interrupted provisioning)
    return {'destroyed': destroyed, 'namespaces': namespaces(ctx)}


def do_list(ctx):
    orders = []
    for order in State(ctx['settings']['state_dir']).all_orders():
        host = order.get('host') or {}
        orders.append({'task_id': order['task_id'], 'config_id': order['config_id'], 'state': order['state'],
                       'server': host.get('address'), 'namespace': host.get('namespace'),
                       'message': order.get('message')})
    return {'orders': orders}


def namespaces(ctx):
    """Namespaces of this install's hosts that still exist."""
    out = subprocess.run(['ip', 'netns', 'list'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout
    present = set(line.split()[0] for line in out.splitlines() if line.split())
    ours = set()
    for order in State(ctx['settings']['state_dir']).all_orders():
        if order.get('host'):
            ours.add(order['host']['namespace'])
    return sorted(ours & present)


def do_sweep(ctx):
    require_root('sweep')
    return {'removed': lab.sweep()}


ACTIONS = {
    'help': (do_help, 0),
    'configs': (do_configs, 0),
    'order': (do_order, 1),
    'order_status': (do_order_status, 1),
    'destroy': (do_destroy, 1),
    'destroy-all': (do_destroy_all, 0),
    'list': (do_list, 0),
    'sweep': (do_sweep, 0),
    '_provision': (do_provision, 1),
}


def main(argv, entry):
    """Run one action; print its JSON reply; 0 on success, 1 with an error reply."""
    holder = os.path.dirname(os.path.dirname(entry))
    try:
        if not argv or argv[0] not in ACTIONS:
            raise ProviderError('%s: unknown action %r; actions: %s'
                                % (NAME, argv[0] if argv else '', ', '.join(sorted(ACTIONS))))
        handler, nargs = ACTIONS[argv[0]]
        if len(argv) - 1 != nargs:
            raise ProviderError('%s: action %s takes %d argument(s)' % (NAME, argv[0], nargs))
        ctx = {'holder': holder, 'entry': entry, 'settings': read_settings(holder)}
        reply = handler(ctx, *argv[1:])
        code = 0
    except (ProviderError, lab.LabError, OSError) as exc:
        reply = {'error': 1, 'error_message': str(exc)}
        code = 1
    sys.stdout.write(json.dumps(reply, sort_keys=True) + '\n')
    return code
