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
else (spaces, ``=``, ``/``, newlines) gets through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import secrets
import socket
import string

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

# PTR names are used as inventory names only with these endings (original list).
PTR_SUFFIXES = ('.com', '.ru', '.de', '.org', '.ua', '.private', '.test', '.bx', '.lan')
# The original never picks '9' (an off-by-one); we use the whole alphabet.
RANDOM_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
RANDOM_LENGTH = 10
LOOPBACK_NAMES = ('localhost', 'localhost.localdomain')

_LABEL = r'[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
_DNS_NAME = re.compile(r'\A%s(?:\.%s)*\Z' % (_LABEL, _LABEL))
_DIGITS_AND_DOTS = re.compile(r'\A[0-9.]+\Z')
_OCTET = re.compile(r'\A(?:0|[1-9][0-9]{0,2})\Z')


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


def is_dns_name(value):
    return len(value) <= 253 and bool(_DNS_NAME.match(value)) and not _DIGITS_AND_DOTS.match(value)


def is_loopback(server):
    """``localhost``, ``localhost.localdomain``, 127.0.0.0/8 or an IPv6 loopback."""
    lowered = server.strip().lower().rstrip('.')
    if lowered in LOOPBACK_NAMES:
        return True
    if is_ipv4(lowered):
        return lowered.split('.')[0] == '127'
    try:
        return ipaddress.ip_address(lowered).is_loopback
    except ValueError:
        return False


def server_kind(server):
    """``'ipv4'`` or ``'fqdn'`` (the later ``bx_connect``); anything else is refused.

    Like the original, a value of only digits and dots is an address: when it
    is not a valid one, it is not a DNS name either.
    """
    if is_ipv4(server):
        return 'ipv4'
    if is_dns_name(server):
        return 'fqdn'
    raise BxError('Host::createHost: %s is not a valid DNS name' % server)


def check_hostname(name):
    """An explicit inventory name: a DNS-like name (also a safe file name)."""
    if not isinstance(name, str) or not is_dns_name(name) and not is_ipv4(name):
        raise BxError('bxenv: invalid hostname %r: use letters, digits, "-", "_" and dots '
                      'between labels, at most 253 characters' % (name,))
    return name


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

    Returns ``{'server', 'address', 'connect', 'name'}``; ``name`` is None
    when the pool must give a ``server<K+1>`` name.
    """
    kind = server_kind(server)
    if kind == 'ipv4':
        name = qualified_ptr(resolver.reverse(server))
        if name is not None and server not in resolver.forward(name):
            # Not an FQDN of this address: the short name.
            name = name.split('.')[0]
        return {'server': server, 'address': server, 'connect': 'ipv4', 'name': name}
    addresses = resolver.forward(server)
    if not addresses:
        raise BxError('Host::createHost: %s is not a valid DNS name' % server)
    return {'server': server, 'address': addresses[0], 'connect': 'fqdn', 'name': server}


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
