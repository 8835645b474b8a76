# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the ecosystem checks: the built tarball, installed copies.

The tarball is built once per session from a copy of the working tree seeded
with the clutter a working tree collects (venvs, caches, test output, lab
state), so the build's ignore list is tested against real files. Installed
copies live in fresh collection paths; commands that use them run with a
private HOME and ANSIBLE_COLLECTIONS_PATH naming only that path, from a
folder outside the repo, so nothing else can supply the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get('BXENV_CI_CACHE') or os.path.join(REPO, '.cache')
# ansible-core lines the collection is tested with (tests/cores.txt; venvs from tests/ci/setup.sh).
with open(os.path.join(REPO, 'tests', 'cores.txt')) as _handle:
    CORES = tuple(line.split()[0] for line in _handle if line.strip() and not line.startswith('#'))
FAKE_PROVIDER = os.path.join(REPO, 'tests', 'integration', 'targets', 'setup_fake_provider', 'files',
                             'fake_provider.py')

# Paths a working tree collects that must never be in the tarball.
CLUTTER = (
    '.cache/venv-2.19/bin/python',
    '.cache/pip/http/cached',
    '.venv/bin/python',
    '.nox/units/bin/python',
    '.ansible/collections/ansible_collections/x/y/galaxy.yml',
    '.pytest_cache/v/cache/lastfailed',
    '.git/HEAD',
    'tests/output/junit/python3.11-units.xml',
    'tests/output/.tmp/sanity/file',
    'tests/integration/inventory',
    'plugins/module_utils/__pycache__/_provider.cpython-311.pyc',
    'tests/unit/__pycache__/conftest.cpython-311-pytest-9.2.0.pyc',
    'plugins/modules/stale.pyc',
    'benchmarks/results/run.json',
    'bitrix-bxenv-0.0.1.tar.gz',
    # the same tools run from a sub-folder (molecule, pytest, ansible-lint)
    'extensions/molecule/provider/.ansible/tmp/state.json',
    'tests/unit/.pytest_cache/v/cache/nodeids',
    'tests/cli/.cache/bx-provider.pyz',
)


def galaxy_version():
    with open(os.path.join(REPO, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)['version']


def module_names():
    folder = os.path.join(REPO, 'plugins', 'modules')
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and not name.startswith('_'))


def role_names():
    folder = os.path.join(REPO, 'roles')
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder) if os.path.isdir(os.path.join(folder, name, 'tasks')))


def venv_bin(core):
    """bin/ of the pinned venv of one ansible-core line; a missing venv fails the test."""
    path = os.path.join(CACHE, 'venv-%s' % core, 'bin')
    if not os.path.isfile(os.path.join(path, 'ansible-playbook')):
        pytest.fail('no venv for ansible-core %s at %s: run tests/ci/setup.sh first' % (core, path))
    return path


def eco_bin():
    """bin/ of the venv running these tests (ansible-builder, ansible-runner, ansible-core 2.19)."""
    return os.path.dirname(sys.executable)


def run(argv, env=None, cwd=None, check=True):
    """Run a command and return it; on failure the assertion shows its output."""
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if check:
        assert proc.returncode == 0, 'command %r failed (rc=%d)\nstdout:\n%s\nstderr:\n%s' % (
            argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def isolated_env(bin_dir, collections_path, home):
    """Environment where only ``collections_path`` can supply collections."""
    os.makedirs(home, exist_ok=True)
    env = dict((key, value) for key, value in os.environ.items()
               if not key.startswith('ANSIBLE_') and key not in ('PYTHONPATH', 'VIRTUAL_ENV'))
    env.update(
        PATH=bin_dir + os.pathsep + env.get('PATH', '/usr/bin:/bin'),
        HOME=home,
        ANSIBLE_COLLECTIONS_PATH=collections_path,
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
        ANSIBLE_LOCAL_TEMP=os.path.join(home, 'tmp'),
        ANSIBLE_REMOTE_TEMP=os.path.join(home, 'remote-tmp'),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_FORCE_COLOR='0',
        ANSIBLE_RETRY_FILES_ENABLED='false',
    )
    return env


def install_fake_provider(providers_dir, name, replies, python=None):
    """A provider plugin ``<providers_dir>/<name>/bin/<name>`` answering from ``replies``."""
    holder = os.path.join(providers_dir, name)
    os.makedirs(os.path.join(holder, 'bin'), exist_ok=True)
    with open(FAKE_PROVIDER) as handle:
        code = handle.read()
    executable = os.path.join(holder, 'bin', name)
    with open(executable, 'w') as handle:
        handle.write('#!%s\n%s' % (python or sys.executable, code))
    os.chmod(executable, 0o755)
    with open(os.path.join(holder, 'fake.json'), 'w') as handle:
        json.dump(replies, handle)
    return holder


def provider_calls(holder):
    """The argv lists the fake provider was called with."""
    path = os.path.join(holder, 'calls.log')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def tracked_files():
    """Tracked and untracked-but-not-ignored files of the working tree (what a clone has, plus new work)."""
    out = run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO).stdout
    return [name for name in out.split('\0') if name and os.path.lexists(os.path.join(REPO, name))]


@pytest.fixture(scope='session')
def source_tree(tmp_path_factory):
    """A copy of the working tree plus the clutter of a used one."""
    dest = str(tmp_path_factory.mktemp('source') / 'bxenv')
    for name in tracked_files():
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = os.path.join(REPO, name)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        else:
            with open(source, 'rb') as src, open(target, 'wb') as dst:
                dst.write(src.read())
            os.chmod(target, os.stat(source).st_mode & 0o777)
    for name in CLUTTER:
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as handle:
            handle.write('clutter\n')
    return dest


@pytest.fixture(scope='session')
def tarball(source_tree, tmp_path_factory):
    """``ansible-galaxy collection build`` of the cluttered copy; returns the tarball's path."""
    out = str(tmp_path_factory.mktemp('dist'))
    home = str(tmp_path_factory.mktemp('home-build'))
    env = isolated_env(eco_bin(), os.path.join(home, 'none'), home)
    run([os.path.join(eco_bin(), 'ansible-galaxy'), 'collection', 'build', '--output-path', out, source_tree],
        env=env, cwd=home)
    path = os.path.join(out, 'bitrix-bxenv-%s.tar.gz' % galaxy_version())
    assert os.path.isfile(path), os.listdir(out)
    return path


@pytest.fixture(scope='session')
def tarball_names(tarball):
    with tarfile.open(tarball) as archive:
        return [member.name for member in archive.getmembers()]


@pytest.fixture(scope='session')
def install(tarball, tmp_path_factory):
    """install(core) -> (collections path, env) with the tarball installed offline by that core's ansible-galaxy."""
    done = {}

    def installer(core):
        if core not in done:
            bin_dir = venv_bin(core) if core != 'eco' else eco_bin()
            root = str(tmp_path_factory.mktemp('installed-%s' % core))
            colls = os.path.join(root, 'collections')
            env = isolated_env(bin_dir, colls, os.path.join(root, 'home'))
            run([os.path.join(bin_dir, 'ansible-galaxy'), 'collection', 'install', '--offline',
                 '-p', colls, tarball], env=env, cwd=root)
            done[core] = (colls, env, root)
        return done[core]
    return installer
