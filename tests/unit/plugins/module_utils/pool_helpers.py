# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pool folder on disk and a fake resolver, for the pool tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import random

HOSTS = (
    '# BitrixVM pool inventory\n'
    '\n'
    '[bitrix-hosts]\n'
    'server1 ansible_ssh_host=192.0.2.1 ansible_connection=local\n'
    '\n'
    '[bitrix-web]\n'
    '  server1 ansible_ssh_host=192.0.2.1   \n'
    '\n'
    '[bitrix-mysql]\n'
    'server1 ansible_ssh_host=192.0.2.1\n'
)

HOST_VARS = (
    '---\n'
    'bx_connect: ipv4\n'
    'bx_hostname: server1\n'
    'bx_netaddr: 192.0.2.1\n'
    'bx_netname: server1\n'
    'host_id: 1700000000_AAAAAAAAAA\n'
    'host_pass: 192.0.2.1_BBBBBBBBBB\n'
)


def make_pool(root, hosts=HOSTS, host_vars=None, mode=0o640):
    """A pool folder like the appliance's /etc/ansible; returns its path."""
    pool = str(root)
    os.makedirs(os.path.join(pool, 'host_vars'), exist_ok=True)
    with open(os.path.join(pool, 'hosts'), 'w') as handle:
        handle.write(hosts)
    os.chmod(os.path.join(pool, 'hosts'), mode)
    for name, text in (host_vars if host_vars is not None else {'server1': HOST_VARS}).items():
        with open(os.path.join(pool, 'host_vars', name), 'w') as handle:
            handle.write(text)
    return pool


def folder_digest(path):
    """A hash of every name, mode and content under ``path``."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(folder, name)
            info = os.lstat(full)
            digest.update(('%s %o\n' % (os.path.relpath(full, path), info.st_mode)).encode())
            if name in files and not os.path.islink(full):
                with open(full, 'rb') as handle:
                    digest.update(handle.read())
    return digest.hexdigest()


class FakeResolver(object):
    """DNS from two tables; records what was asked."""

    def __init__(self, ptr=None, a=None):
        self.ptr = dict(ptr or {})
        self.a = dict(a or {})
        self.asked = []

    def reverse(self, address):
        self.asked.append(('PTR', address))
        return self.ptr.get(address)

    def forward(self, name):
        self.asked.append(('A', name))
        return list(self.a.get(name, []))


def seeded_rng(seed=7):
    return random.Random(seed)
