# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built bx-provider zipapp, and a Python that has jsonschema but no ansible.

The venv lives in ``.cache/`` of the checkout and is made once (under a
lock, so parallel workers share it). It needs PyPI: when pip cannot install
jsonschema the tests fail, they are not skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, 'plugins', 'plugin_utils', 'bx_provider_build.py')
VENV = os.path.join(REPO, '.cache', 'bx-provider-venv-py%d.%d' % sys.version_info[:2])


def build(output, settings=None, settings_file=None):
    """Build the command; ``settings`` (a dict) are fixed in the build instead of read from root's file."""
    extra = [] if settings is None else ['--settings', json.dumps(settings)]
    extra += [] if settings_file is None else ['--settings-file', settings_file]
    subprocess.run([sys.executable, BUILD, '--output', output] + extra, check=True, stdout=subprocess.PIPE)
    return output


@pytest.fixture(scope='session')
def zipapp(tmp_path_factory):
    """The command as the role builds it: settings from /etc/bitrix-bxenv/bx-provider.json."""
    return build(str(tmp_path_factory.mktemp('zipapp') / 'bx-provider'))


@pytest.fixture
def command(tmp_path):
    """``command(**settings)``: a command built with these settings fixed (tests may; the role never does)."""
    def make(**settings):
        return build(str(tmp_path / ('bx-provider-%d' % len(os.listdir(str(tmp_path))))), settings)
    return make


def _make_venv(path):
    subprocess.run([sys.executable, '-m', 'venv', '--clear', path], check=True)
    pip = subprocess.run([os.path.join(path, 'bin', 'python'), '-m', 'pip', 'install', '--quiet',
                          '--disable-pip-version-check', 'jsonschema'], check=False,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if pip.returncode:
        pytest.fail('cannot install jsonschema from PyPI into %s:\n%s' % (path, pip.stdout))
    with open(os.path.join(path, '.complete'), 'w'):
        pass


@pytest.fixture(scope='session')
def bare_python():
    """The bin folder of a venv with jsonschema and without ansible-core."""
    os.makedirs(os.path.dirname(VENV), exist_ok=True)
    with open(VENV + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(VENV, '.complete')):
            _make_venv(VENV)
    python = os.path.join(VENV, 'bin', 'python3')
    probe = subprocess.run([python, '-c', 'import jsonschema\ntry:\n import ansible\nexcept ImportError:\n pass\n'
                            'else:\n raise SystemExit("ansible is importable")'], check=False)
    assert probe.returncode == 0
    return os.path.dirname(python)
