# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Naming a new pool host (docs/protocol.md section 8 step 3) and its random ids.

DNS goes through a *resolver*: an object with ``reverse(ipv4) -> name or
None`` and ``forward(name) -> [ipv4, ...]``. The default one asks the
system resolver (``/etc/hosts`` and DNS, as nsswitch says); tests pass a fake.

The server value comes from a provider reply and ends up in an INI line and
a file name, so it must be a dotted-quad IPv4 address or a DNS name; nothing
else (spaces, ``=``, ``/``, newlines, other address forms) gets through.
Whatever a resolver or ``ssh`` would take for this host (``is_this_host``)
is refused, and so is an inventory name that Ansible or the pool gives
another meaning (``inventory_name_problem``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import secrets
import socket
import string

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, shown

# PTR names are used as inventory names only with these endings (original list).
PTR_SUFFIXES = ('.com', '.ru', '.de', '.org', '.ua', '.private', '.test', '.bx', '.lan')
# The original never picks '9' (an off-by-one); we use the whole alphabet.
RANDOM_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
RANDOM_LENGTH = 10
# Names for this host in the usual /etc/hosts files (any *.localhost too, RFC 6761).
LOOPBACK_NAMES = ('localhost', 'localhost.localdomain', 'localhost4', 'localhost4.localdomain4',
                  'localhost6', 'localhost6.localdomain6', 'ip6-localhost', 'ip6-loopback')
# Addresses that reach this host: loopback and "this network" (0.0.0.0 is
# this host to connect(); ssh 0.0.0.0 logs in here).
_THIS_HOST_NETS = (ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('0.0.0.0/8'))
# Inventory names Ansible itself gives a meaning (its implicit groups) and
# the pool's groups (docs/protocol.md section 9): a host called so would get
# the plays meant for them.
ANSIBLE_GROUPS = ('all', 'ungrouped')
POOL_GROUPS = ('bitrix-hosts', 'bitrix-mgmt', 'bitrix-web', 'bitrix-mysql', 'bitrix-pgsql', 'bitrix-memcached',
               'bitrix-sphinx', 'bitrix-push', 'bitrix-transformer')

_LABEL = r'[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
_DNS_NAME = re.compile(r'\A%s(?:\.%s)*\Z' % (_LABEL, _LABEL))
_OCTET = re.compile(r'\A(?:0|[1-9][0-9]{0,2})\Z')
# One part of an address as inet_aton(3) reads it: hex, octal or decimal.
_AT_PART = re.compile(r'\A(?:0[xX](?P<hex>[0-9a-fA-F]*)|(?P<oct>0[0-7]*)|(?P<dec>[1-9][0-9]*))\Z')


class SystemResolver(object):
    """The system resolver through ``socket``, IPv4 only, as the original."""

    def reverse(self, address):
        try:
            return socket.gethostbyaddr(address)[0]
        except (OSError, UnicodeError):
            return None

    def forward(self, name):
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return []
        found = []
        for info in infos:
            if info[4][0] not in found:
                found.append(info[4][0])
        return found


def is_ipv4(value):
    """A strict dotted quad (no leading zeros, which some parsers read as octal)."""
    parts = value.split('.')
    return len(parts) == 4 and all(_OCTET.match(p) and int(p) < 256 for p in parts)


def numeric_ipv4(value):
    """The IPv4 address ``value`` is in any form inet_aton(3), and so the
    resolver and ``ssh``, accept (``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``, a dotted quad), or None."""
    parts = value.split('.')
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        match = _AT_PART.match(part)
        if not match:
            return None
        digits, base = ((match.group('hex') or '0', 16) if match.group('hex') is not None
                        else (match.group('oct'), 8) if match.group('oct') else (match.group('dec'), 10))
        numbers.append(int(digits, base))
    # Every part but the last is one byte; the last fills the bytes left.
    last_bits = 8 * (5 - len(parts))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return None
    number = numbers[-1]
    for index, byte in enumerate(numbers[:-1]):
        number |= byte << (24 - 8 * index)
    return ipaddress.IPv4Address(number)


def ip_address(value):
    """The IPv4 or IPv6 address ``value`` denotes in any numeric form (IPv6 also
    in brackets or with a zone), or None for a name."""
    if not isinstance(value, str):
        return None
    found = numeric_ipv4(value)
    if found is not None:
        return found
    text = value[1:-1] if value.startswith('[') and value.endswith(']') else value
    try:
        return ipaddress.IPv6Address(text.split('%', 1)[0])
    except ValueError:
        return None


def is_dns_name(value):
    """A DNS name that no resolver reads as an address: labels of letters,
    digits, ``-`` and ``_``, and never an all-digits last label (``0x7f000001``
    and ``10.1`` are addresses to inet_aton(3))."""
    return (isinstance(value, str) and len(value) <= 253 and bool(_DNS_NAME.match(value))
            and not value.rsplit('.', 1)[-1].isdigit() and numeric_ipv4(value) is None)


def is_this_host(value):
    """True for what reaches this host: its names (``localhost``,
    ``*.localhost``, …) and addresses (127.0.0.0/8, 0.0.0.0/8, ``::``, ``::1``
    and the IPv4-mapped or -compatible forms of those), in any form a resolver
    accepts."""
    if not isinstance(value, str):
        return False
    lowered = value.lower()
    lowered = lowered[:-1] if lowered.endswith('.') else lowered
    if lowered in LOOPBACK_NAMES or lowered.endswith('.localhost'):
        return True
    address = ip_address(lowered)
    if address is None:
        return False
    if address.version == 6:
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif int(address) >> 32 == 0:  # ::, ::1 and IPv4-compatible ::a.b.c.d
            address = ipaddress.IPv4Address(int(address))
        else:
            return address.is_loopback
    return any(address in net for net in _THIS_HOST_NETS)


def refuse_this_host(server):
    """The original's refusal of a loopback server, for every form of this host."""
    if is_this_host(server):
        raise BxError(_messages.CANNOT_USE_SERVER % shown(server))


def server_kind(server):
    """``'ipv4'`` or ``'fqdn'`` (the later ``bx_connect``); anything else is refused.

    Like the original, a value of only digits and dots is an address: when it
    is not a valid one, it is not a DNS name either.
    """
    if isinstance(server, str) and is_ipv4(server):
        return 'ipv4'
    if is_dns_name(server):
        return 'fqdn'
    raise BxError(_messages.NOT_A_DNS_NAME % shown(server))


def check_hostname(name):
    """An explicit inventory name: a DNS name (also a safe file name)."""
    if not is_dns_name(name):
        raise BxError(_messages.INVALID_HOSTNAME % shown(name))
    return name


def inventory_name_problem(name, groups=()):
    """Why ``name`` cannot name a pool host, or None.

    A host called ``localhost`` would take the plays meant for the appliance
    itself, one called after a group (``all``, ``bitrix-web``, any group in
    ``groups``) the plays meant for that group, and a name that is an address
    is read as that address.
    """
    lowered = name.lower()
    if is_this_host(name):
        return 'Ansible and the resolver take it for this host'
    if lowered in ANSIBLE_GROUPS or lowered in POOL_GROUPS or lowered in set(g.lower() for g in groups):
        return 'it is the name of a group'
    if ip_address(name) is not None or not is_dns_name(name):
        return 'it is not a DNS name (an address, or other characters)'
    return None


def qualified_ptr(name):
    """The PTR name when the original would use it, else None."""
    if not name:
        return None
    name = name.rstrip('.')
    if not is_dns_name(name):
        return None
    if not name.lower().endswith(PTR_SUFFIXES):
        return None
    return name


def resolve_server(server, resolver):
    """Look up what naming needs, before the pool is locked.

    Returns ``{'server', 'address', 'addresses', 'connect', 'name'}``
    (``addresses``: every address ``ssh`` may try); ``name`` is None when the
    pool must give a ``server<K+1>`` name.
    """
    kind = server_kind(server)
    if kind == 'ipv4':
        name = qualified_ptr(resolver.reverse(server))
        if name is not None and server not in resolver.forward(name):
            # Not an FQDN of this address: the short name.
            name = name.split('.')[0]
        return {'server': server, 'address': server, 'addresses': [server], 'connect': 'ipv4', 'name': name}
    addresses = resolver.forward(server)
    if not addresses:
        raise BxError(_messages.NOT_A_DNS_NAME % server)
    return {'server': server, 'address': addresses[0], 'addresses': addresses, 'connect': 'fqdn', 'name': server}


def next_server_name(names):
    """``server<K+1>``, K the highest ``server<digits>`` among ``names`` (0 if none)."""
    highest = 0
    for name in names:
        match = re.match(r'\Aserver([0-9]+)\Z', name)
        if match:
            highest = max(highest, int(match.group(1)))
    return 'server%d' % (highest + 1)


def random_chars(rng=None, length=RANDOM_LENGTH):
    rng = rng or secrets.SystemRandom()
    return ''.join(rng.choice(RANDOM_ALPHABET) for dummy in range(length))


def host_vars_values(server, resolved, name, rng, clock):
    """The ``host_vars`` of a new host, as the original writes them.

    With an explicit name on an ``fqdn`` host, ``bx_netname`` stays the DNS
    name, so connecting by name still works.
    """
    netname = resolved['server'] if resolved['connect'] == 'fqdn' else name
    return {
        'bx_connect': resolved['connect'],
        'bx_hostname': name,
        'bx_netaddr': resolved['address'],
        'bx_netname': netname,
        'host_id': '%d_%s' % (int(clock()), random_chars(rng)),
        'host_pass': '%s_%s' % (server, random_chars(rng)),
    }
