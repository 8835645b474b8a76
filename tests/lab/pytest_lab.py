# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixture: lab hosts for one test module, always torn down.

Use in a test module::

    from ansible_collections.bitrix.bxenv.tests.lab.pytest_lab import lab  # noqa: F401

    LAB_HOSTS = 2          # optional, default 2
    LAB_OVERLAY = False    # optional: each host gets a private overlay of /

    def test_x(lab):
        host = lab.hosts[0]          # dict: address, password, root_dir, log, ...
        extra = lab.add(password='0', expired=True)   # one more host, same teardown

The hosts need root; without it the fixture fails (it does not skip).
Under ``ansible-test units`` (every test in a forked child) the lab is set up
per test instead of per module, so keep tests self-contained.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.bitrix.bxenv.tests.lab import lab as _lab


class Lab(object):
    """The running lab of one test module."""

    def __init__(self, lab_dir, state):
        self.dir = lab_dir
        self.hosts = state['hosts']

    def add(self, **kwargs):
        """Start one more host (see ``lab.add_host``); it is stopped with the others."""
        host = _lab.add_host(self.dir, **kwargs)
        self.hosts.append(host)
        return host

    def remove(self, host):
        """Stop one host now (its index and address become free again)."""
        _lab.remove_host(self.dir, host['name'])
        self.hosts.remove(host)

    def ssh(self, host, command):
        """Run a command on the host as root with its password (CompletedProcess)."""
        return _lab.ssh(host, command, self.dir)

    def connections(self, host):
        """How many connections the host's sshd has logged so far."""
        with open(host['log']) as handle:
            return sum(1 for line in handle if line.startswith('Connection from '))


def _scope(fixture_name, config):
    """One lab per module, except under ansible-test's ``ansible_forked``:
    there each test runs in a child that ends with ``os._exit``, so a module
    fixture would be set up per test and never torn down."""
    forked = config.pluginmanager.has_plugin('ansible_forked') or 'ansible_forked' in os.environ.get(
        'PYTEST_PLUGINS', '')
    return 'function' if forked else 'module'


@pytest.fixture(scope=_scope)
def lab(request, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail('the lab hosts need root (network and mount namespaces)')
    lab_dir = str(tmp_path_factory.mktemp('lab'))
    try:
        state = _lab.up(lab_dir, count=getattr(request.module, 'LAB_HOSTS', 2),
                        overlay=getattr(request.module, 'LAB_OVERLAY', False))
        yield Lab(lab_dir, state)
    finally:
        _lab.down(lab_dir)
