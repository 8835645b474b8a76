# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The BitrixVM server pool in ``pool_dir`` (``/etc/ansible``): read and add.

Files (docs/protocol.md sections 8 and 9): ``ansible.cfg`` (the pool key), ``hosts``
(INI inventory, ``[bitrix-*]`` groups), ``host_vars/<name>`` (YAML),
``group_vars/bitrix-hosts.yml`` (monitoring switch).

Adding a host, as the caller runs it::

    plan = plan_add(server, pool_dir)    # every refusal and the naming (DNS),
                                         # before any contact with the server
    ... copy the pool key (pool_key(pool_dir)) to the server ...
    add_host(server, pool_dir, resolved=plan['resolved'])   # both files, under the lock

Every add holds one pool-wide ``flock`` while it re-reads the pool, re-checks
the refusals, picks the name and writes. ``host_vars/<name>`` is written
first and the ``hosts`` line last, so the line is the commit point: a host
found in ``hosts`` (``find_host``) is complete; an interrupted add leaves at
most an unused ``host_vars`` file that the next add of that name replaces.

Reading YAML uses PyYAML ``safe_load`` when it is importable (Ansible needs
it, so it is on the appliance); otherwise a reader of flat ``key: value``
files, which is what the pool's own files are. Writing needs no library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import secrets
import shlex
import time

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, shown
from ansible_collections.bitrix.bxenv.plugins.module_utils._locking import DEFAULT_LOCK_TIMEOUT, exclusive_lock
from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _naming

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - depends on the host
    yaml = None
    HAS_YAML = False

DEFAULT_POOL_DIR = '/etc/ansible'
LOCK_NAME = '.bxenv-pool.lock'
HOSTS_GROUP = 'bitrix-hosts'
HOST_VARS_MODE = 0o640
DEFAULT_ADDRESS = '127.0.0.1'  # docs/protocol.md section 9: a pool host line without ansible_ssh_host
DEFAULT_CONNECTION = 'ssh'

# What a pool folder holds, for the messages about a missing or broken one.
POOL_HINT = ('a pool folder (pool_dir) holds hosts, listing the pool servers under [bitrix-hosts], a '
             'host_vars/<name> file for each, and ansible.cfg, whose private_key_file names the pool key')

_SECTION = re.compile(r'\A\[([^\]\s]+)\]\s*(?:[#;].*)?\Z')
_KEY_LINE = re.compile(r'\Aprivate_key_file\s*=\s*(.*?)\s*\Z')


# ---------------------------------------------------------------- the pool key

def pool_key(pool_dir=DEFAULT_POOL_DIR):
    """Return ``(private_key_path, public_key_path)`` from ``ansible.cfg``.

    The value of the last ``private_key_file = <path>`` line that is not a
    comment (the original also took commented-out lines). A trailing
    `` ;comment`` is dropped and ``~`` expanded, as Ansible does; a relative
    path is taken from ``pool_dir``, as Ansible does for ``ansible.cfg``.
    """
    cfg = os.path.join(pool_dir, 'ansible.cfg')
    try:
        text = _files.read_file(cfg).decode('utf-8', 'surrogateescape')
    except (OSError, IOError) as exc:
        raise BxError(_messages.KEY_NO_CONFIG % (cfg, exc.strerror, POOL_HINT), 1)
    value = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        match = _KEY_LINE.match(line)
        if match:
            value = re.sub(r'\s+;.*\Z', '', match.group(1))
            if len(value) >= 2 and value[0] == value[-1] and value[0] in '\'"':
                value = value[1:-1]
    if not value:
        # 'derictive' (sic): the original's text, kept (docs/protocol.md section 11).
        raise BxError(_messages.KEY_NO_DIRECTIVE % cfg, 2)
    private = os.path.join(pool_dir, os.path.expanduser(value))
    for path, missing in ((private, _messages.KEY_MISSING_PRIVATE), (private + '.pub', _messages.KEY_MISSING_PUBLIC)):
        if not os.path.isfile(path):
            raise BxError(missing % (path, cfg), 3)
    return private, private + '.pub'


# ---------------------------------------------------------------- reading

def load_yaml_file(path):
    """The mapping in a YAML file, or None when it is missing or not loadable."""
    try:
        data = _files.read_file(path)
    except (OSError, IOError):
        return None
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        return None
    if HAS_YAML:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
    else:
        value = _load_flat_yaml(text)
    return value if isinstance(value, dict) else None


def _load_flat_yaml(text):
    """``key: value`` lines, ``---``, comments; anything else is not loadable."""
    result = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#') or stripped == '---':
            continue
        match = re.match(r'\A([A-Za-z0-9_.-]+):(?:\s+(.*))?\Z', stripped)
        if not match or line[0].isspace():
            return None
        value = (match.group(2) or '').strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '\'"':
            value = value[1:-1]
        elif value.isdigit():
            value = int(value)
        result[match.group(1)] = value
    return result


def _host_options(rest):
    """``key=value`` options of a host line (quotes and ``#`` comments as Ansible)."""
    try:
        tokens = shlex.split(rest, comments=True)
    except ValueError:
        tokens = rest.split()
    options = {}
    for token in tokens:
        key, sep, value = token.partition('=')
        if sep:
            options[key] = value
    return options


def group_names(text):
    """Every group a ``hosts`` text names, in any section: the headers
    (without ``:vars`` and ``:children``) and the lines of ``:children`` sections."""
    groups = []
    children = False
    for raw in text.split('\n'):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            header = line[1:].split(']', 1)[0].strip()
            children = header.endswith(':children')
            found = header.split(':', 1)[0]
        elif children:
            found = line.split()[0]
        else:
            continue
        if found and found not in groups:
            groups.append(found)
    return groups


def parse_hosts(text):
    """Parse a ``hosts`` text (docs/protocol.md section 9).

    Returns ``{name: host}`` in file order; a host is a dict with ``name``,
    ``address`` (``ansible_ssh_host``, else ``ansible_host``, else
    ``127.0.0.1`` as the original), ``addresses`` (every address given on any
    of its lines), ``connection`` and ``groups`` (the ``bitrix-*`` sections it
    is listed in). Only ``[bitrix-<group>]`` sections count; ``:vars`` and
    ``:children`` sections and others are skipped. A bare name counts as a
    host too, as it does for Ansible.
    """
    hosts = {}
    group = None
    # Only '\n' ends a line, as for insert_host_line (str.splitlines knows more).
    for raw in text.split('\n'):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        section = _SECTION.match(line)
        if section or line.startswith('['):
            name = section.group(1) if section else ''
            group = name if name.startswith('bitrix-') and ':' not in name else None
            continue
        if group is None:
            continue
        parts = line.split(None, 1)
        name = parts[0]
        options = _host_options(parts[1]) if len(parts) > 1 else {}
        host = hosts.setdefault(name, {'name': name, 'address': None, 'addresses': [],
                                       'connection': None, 'groups': []})
        if group not in host['groups']:
            host['groups'].append(group)
        for key in ('ansible_ssh_host', 'ansible_host'):
            value = options.get(key)
            if value and value not in host['addresses']:
                host['addresses'].append(value)
        address = options.get('ansible_ssh_host') or options.get('ansible_host')
        if address:
            host['address'] = address
        if options.get('ansible_connection'):
            host['connection'] = options['ansible_connection']
    for host in hosts.values():
        host['address'] = host['address'] or DEFAULT_ADDRESS
        host['connection'] = host['connection'] or DEFAULT_CONNECTION
    return hosts


class Pool(object):
    """What ``read_pool`` found; ``text`` is None when ``hosts`` is unreadable."""

    def __init__(self, pool_dir, text, error=None):
        self.pool_dir = pool_dir
        self.hosts_file = os.path.join(pool_dir, 'hosts')
        self.text = text
        self.error = error
        self.hosts = parse_hosts(text) if text is not None else {}
        self.groups = group_names(text) if text is not None else []
        for host in self.hosts.values():
            host['host_vars_file'] = self.host_vars_file(host['name'])

    def host_vars_file(self, name):
        return os.path.join(self.pool_dir, 'host_vars', name)

    @property
    def members(self):
        """Names in ``[bitrix-hosts]``, in file order."""
        return [n for n, h in self.hosts.items() if HOSTS_GROUP in h['groups']]

    def exists(self):
        """True when some ``[bitrix-hosts]`` member has a loadable ``host_vars``."""
        return any(load_yaml_file(self.host_vars_file(n)) is not None for n in self.members)

    def check_exists(self):
        """Raise ``pool_not_created`` (the original's text, first) with what is
        wrong, where, and what a pool folder holds, unless the pool exists."""
        if not self.pool_dir:
            problem = 'pool_dir is empty'
        elif self.text is None:
            problem = 'cannot read %s: %s' % (self.hosts_file, self.error)
        elif not self.exists():
            problem = ('no host under [%s] of %s has a readable host_vars file in %s'
                       % (HOSTS_GROUP, self.hosts_file, os.path.join(self.pool_dir, 'host_vars')))
        else:
            return
        raise BxError(_messages.POOL_NOT_CREATED_BECAUSE % (problem, POOL_HINT))


def read_pool(pool_dir=DEFAULT_POOL_DIR):
    if not pool_dir:
        # os.path.join('', 'hosts') would read ./hosts of whatever folder this runs in.
        return Pool('', None)
    path = os.path.join(pool_dir, 'hosts')
    try:
        data = _files.read_file(path)
    except (OSError, IOError) as exc:
        return Pool(pool_dir, None, exc.strerror)
    # surrogateescape: any byte survives the round trip unchanged.
    return Pool(pool_dir, data.decode('utf-8', 'surrogateescape'))


def find_host(pool, name=None, address=None):
    """The pool host called ``name`` or reachable at ``address``, else None.

    ``address`` matches a host's ``ansible_ssh_host``/``ansible_host`` or its
    name (case-insensitively, as host names are).
    """
    wanted_name = name.lower() if name else None
    wanted_address = address.lower() if address else None
    for host in pool.hosts.values():
        host_name = host['name'].lower()
        if wanted_name is not None and host_name == wanted_name:
            return host
        if wanted_address is not None:
            if wanted_address == host_name or wanted_address in [a.lower() for a in host['addresses']]:
                return host
    return None


def setup_playbook(pool_dir=DEFAULT_POOL_DIR):
    """The pool set-up playbook an add is followed by (docs/protocol.md section 8 step 6).

    ``monitor.yml`` when ``group_vars/bitrix-hosts.yml`` has
    ``monitoring_status: enable``, else ``common.yml``. Returns
    ``{'path', 'name', 'exists', 'monitoring'}``.
    """
    group_vars = load_yaml_file(os.path.join(pool_dir, 'group_vars', HOSTS_GROUP + '.yml')) or {}
    monitoring = group_vars.get('monitoring_status') == 'enable'
    name = 'monitor.yml' if monitoring else 'common.yml'
    path = os.path.join(pool_dir, name)
    return {'path': path, 'name': name, 'exists': os.path.isfile(path), 'monitoring': monitoring}


# ---------------------------------------------------------------- refusals

def _refuse(pool, server, hostname=None, addresses=()):
    """The refusals of ``server`` (and of the addresses it resolved to)."""
    for candidate in addresses:
        if _naming.is_this_host(candidate):
            raise BxError(_messages.CANNOT_USE_SERVER % shown(server))
    pool.check_exists()
    for candidate in [server] + list(addresses):
        host = find_host(pool, address=candidate)
        if host is not None:
            raise BxError(_messages.ALREADY_IN_POOL % (server, host['name']))
    if hostname:
        _refuse_name(pool, server, hostname, 'option hostname')


def _refuse_name(pool, server, name, origin):
    """Refuse inventory name ``name`` (found from ``origin``) when Ansible or
    the pool gives it another meaning, or another host has it."""
    problem = _naming.inventory_name_problem(name, pool.groups)
    if problem:
        raise BxError(_messages.NAME_REFUSED
                      % (shown(name), server, origin, problem))
    host = find_host(pool, name=name)
    if host is not None:
        raise BxError(_messages.NAME_USED
                      % (name, server, host['address']))


def check_addable(server, pool_dir=DEFAULT_POOL_DIR, hostname=None):
    """Refuse before any network contact (DNS included); return the ``Pool`` read.

    In order: an explicit ``hostname`` that is no DNS name, a server that is
    this host in any form (code 1, original text), a value that is neither
    an IPv4 address nor a DNS name, a missing pool (``pool_not_created``), a
    server already in the pool under any name, an explicit ``hostname`` that
    cannot name a pool host or is already used.
    """
    if hostname is not None:
        _naming.check_hostname(hostname)
    _naming.refuse_this_host(server)
    _naming.server_kind(server)
    pool = read_pool(pool_dir)
    _refuse(pool, server, hostname)
    return pool


# ---------------------------------------------------------------- writing

_YAML_IMPLICIT = re.compile(r'''\A(?:
    y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
  | ~|null|Null|NULL
  | [-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
  | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
  | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
  | [-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
  | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
  | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
  | [0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*
)\Z''', re.X)
_YAML_PLAIN = re.compile(r'\A[A-Za-z0-9_][A-Za-z0-9_./-]*\Z')


def yaml_scalar(value):
    """A YAML scalar that reads back as ``value`` (YAML 1.1 and 1.2).

    Integers and strings of digits without a leading zero are written as
    numbers, as the original does; other strings are plain when no YAML
    reader would take them for a number, boolean, null or date, else quoted.
    """
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    value = str(value)
    if re.match(r'\A(?:0|[1-9][0-9]*)\Z', value):
        return value
    if _YAML_PLAIN.match(value) and not _YAML_IMPLICIT.match(value):
        return value
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return json.dumps(value, ensure_ascii=False)
    return "'%s'" % value.replace("'", "''")


def render_host_vars(values):
    """``---`` then ``key: value`` lines, keys sorted, as the original writes."""
    lines = ['---'] + ['%s: %s' % (key, yaml_scalar(values[key])) for key in sorted(values)]
    return '\n'.join(lines) + '\n'


def insert_host_line(text, line):
    """``text`` with ``line`` inserted right after the first ``[bitrix-hosts]`` line.

    Every other byte is kept. The new line takes the header's line ending.
    """
    for match in re.finditer(r'([^\n]*?)(\r?\n|\Z)', text):
        section = _SECTION.match(match.group(1).strip())
        if section and section.group(1) == HOSTS_GROUP:
            ending = match.group(2)
            if not ending:  # the header is the last line, without a newline
                return text + '\n' + line + '\n'
            return text[:match.end()] + line + ending + text[match.end():]
        if match.end() == len(text):
            break
    raise BxError(_messages.CANNOT_UPDATE_GROUP, 1)


def host_line(name, address):
    """The ``[bitrix-hosts]`` line of a new host."""
    return '%s ansible_ssh_host=%s' % (name, address)


def _choose_name(pool, server, resolved, hostname):
    """The inventory name, after every refusal that needs the DNS answers."""
    _refuse(pool, server, hostname, resolved['addresses'])
    if hostname:
        return hostname
    if resolved['name'] is None:
        return _naming.next_server_name(list(pool.hosts) + pool.groups)
    origin = 'DNS name of the server' if resolved['connect'] == 'fqdn' else 'reverse DNS of %s' % server
    _refuse_name(pool, server, resolved['name'], origin)
    return resolved['name']


def _plan(pool, server, resolved, hostname, rng, clock):
    name = _choose_name(pool, server, resolved, hostname)
    values = _naming.host_vars_values(server, resolved, name, rng, clock)
    line = host_line(name, resolved['address'])
    return {
        'name': name,
        'server': server,
        'address': resolved['address'],
        'connect': resolved['connect'],
        'groups': [HOSTS_GROUP],
        'hosts_file': pool.hosts_file,
        'resolved': resolved,
        'hosts_line': line,
        'hosts_before': pool.text,
        'hosts_after': insert_host_line(pool.text, line),
        'host_vars_file': pool.host_vars_file(name),
        'host_vars': values,
        'host_vars_text': render_host_vars(values),
    }


def _defaults(resolver, rng, clock):
    return resolver or _naming.SystemResolver(), rng or secrets.SystemRandom(), clock or time.time


def plan_add(server, pool_dir=DEFAULT_POOL_DIR, hostname=None, resolver=None, rng=None, clock=None):
    """What ``add_host`` would do, writing nothing: every refusal, DNS and the
    naming, before any contact with the server (and for check and diff mode).

    Returns the same dict as ``add_host`` (``resolved``: the DNS answers, for
    ``add_host``), with ``changed: True``. A concurrent add may still take
    the name first.
    """
    resolver, rng, clock = _defaults(resolver, rng, clock)
    pool = check_addable(server, pool_dir, hostname)
    resolved = _naming.resolve_server(server, resolver)
    result = _plan(pool, server, resolved, hostname, rng, clock)
    result['changed'] = True
    return result


def add_host(server, pool_dir=DEFAULT_POOL_DIR, hostname=None, resolver=None, rng=None, clock=None,
             lock_timeout=DEFAULT_LOCK_TIMEOUT, resolved=None):
    """Add ``server`` to ``[bitrix-hosts]`` and write its ``host_vars``.

    DNS is asked before the lock is taken (unless ``resolved``, the DNS
    answers of ``plan_add``, is given); the pool is re-read, re-checked and
    named under it. Returns ``{name, server, address, connect, groups,
    hosts_file, resolved, hosts_line, hosts_before, hosts_after,
    host_vars_file, host_vars, host_vars_text, changed}``. Raises BxError
    (nothing written when a refusal or the naming fails).
    """
    resolver, rng, clock = _defaults(resolver, rng, clock)
    pool = check_addable(server, pool_dir, hostname)
    resolved = resolved or _naming.resolve_server(server, resolver)
    _choose_name(pool, server, resolved, hostname)  # refuse without even taking the lock
    with exclusive_lock(os.path.join(pool_dir, LOCK_NAME), timeout=lock_timeout):
        pool = read_pool(pool_dir)
        result = _plan(pool, server, resolved, hostname, rng, clock)
        # host_vars first: the hosts line is the commit point (module docstring).
        _write(result['host_vars_file'], result['host_vars_text'], HOST_VARS_MODE, host_vars=True)
        _write(result['hosts_file'], result['hosts_after'], None, host_vars=False)
    result['changed'] = True
    return result


def _write(path, text, mode, host_vars):
    try:
        if host_vars:
            folder = os.path.dirname(path)
            try:
                os.mkdir(folder, 0o755)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        # A host_vars symlink is replaced, not followed; a hosts symlink is followed.
        _files.replace_file(path, text.encode('utf-8', 'surrogateescape'), mode=mode,
                            follow_symlinks=not host_vars)
    except (OSError, IOError) as exc:
        raise BxError(_messages.GROUP_CANNOT_OPEN % (exc.filename or path, exc.strerror), 2)
