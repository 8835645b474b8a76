# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built tarball: clean, complete, installable offline, and usable from the install.

Every ansible-core line we support installs the tarball with its own
ansible-galaxy, renders the docs with its ansible-doc and runs the modules
from the installed copy (ansible-playbook -vvv names the module file it used).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import re
import tarfile

import pytest

from .conftest import (
    CLUTTER,
    CORES,
    FAKE_PROVIDER,
    galaxy_version,
    install_fake_provider,
    module_names,
    provider_calls,
    role_names,
    run,
    tracked_files,
    venv_bin,
)

# A path with one of these parts anywhere is build or test clutter.
FORBIDDEN_PARTS = frozenset(('.cache', '.venv', '.ansible', '.pytest_cache', '__pycache__', '.git', '.tox', '.nox'))
FORBIDDEN_PREFIXES = ('tests/output/', 'tests/integration/inventory', 'benchmarks/results/')
# What the tarball ships of the tracked tree: everything under these folders.
SHIPPED = ('plugins/', 'meta/', 'roles/', 'playbooks/', 'examples/', 'changelogs/', 'docs/')
SECRET = 'Tarball-S3cret-7Qx'


def problems(stderr):
    """Warnings and errors in ``stderr``, less ansible-core's own about its internal collection (2.21)."""
    return [line for line in stderr.splitlines()
            if ('WARNING' in line or 'ERROR' in line) and '/ansible/_internal/' not in line]


def test_tarball_has_no_clutter(tarball_names):
    bad = []
    for name in tarball_names:
        parts = name.split('/')
        if (FORBIDDEN_PARTS.intersection(parts) or name.endswith(('.pyc', '.pyo'))
                or name.startswith(FORBIDDEN_PREFIXES) or (len(parts) == 1 and name.endswith('.tar.gz'))):
            bad.append(name)
    assert not bad, 'clutter in the tarball: %s' % bad
    for name in CLUTTER:
        assert name not in tarball_names


def test_tarball_has_the_whole_collection(tarball_names):
    names = set(tarball_names)
    assert {'MANIFEST.json', 'FILES.json', 'meta/runtime.yml', 'meta/execution-environment.yml',
            'meta/ee-requirements.txt', 'meta/ee-bindep.txt', 'examples/execution-environment.yml',
            'examples/use-module-defaults-group.yml'} <= names
    for module in module_names():
        assert 'plugins/modules/%s.py' % module in names
    missing = [name for name in tracked_files() if name.startswith(SHIPPED) and name not in names]
    assert not missing, 'tracked files left out of the tarball: %s' % missing


def test_tarball_manifest_names_this_collection(tarball):
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    info = manifest['collection_info']
    assert (info['namespace'], info['name'], info['version']) == ('bitrix', 'bxenv', galaxy_version())
    assert info['license'] == ['GPL-3.0-or-later']


PLAYBOOK = '''---
- name: Use the installed collection
  hosts: appliance
  gather_facts: false
  module_defaults:
    group/bitrix.bxenv.bx:
      providers_dir: "{{ providers_dir }}"
  tasks:
    - name: List providers
      bitrix.bxenv.bx_provider_info:
      register: listed
    - name: Status of a finished order
      bitrix.bxenv.bx_provider_info:
        query: order_status
        provider: superprovider
        task_id: "1001"
      register: order
    - name: Keep the results for the test
      ansible.builtin.copy:
        content: "{{ {'listed': listed, 'order': order} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
'''


@pytest.mark.parametrize('core', CORES)
def test_installed_copy_runs_bx_provider_info(core, install, tmp_path):
    colls, env, root = install(core)
    installed = os.path.join(colls, 'ansible_collections', 'bitrix', 'bxenv')
    assert os.path.isfile(os.path.join(installed, 'MANIFEST.json'))
    providers = str(tmp_path / 'providers')
    python = os.path.join(venv_bin(core), 'python')
    holder = install_fake_provider(providers, 'superprovider', {
        'help': {'options': ['help', 'order_status'], 'status': 'enabled'},
        'order_status 1001': {'task_id': '1001', 'status': 'finished', 'server': '192.0.2.10',
                              'server_password': SECRET},
    }, python=python)
    (tmp_path / 'play.yml').write_text(PLAYBOOK)
    (tmp_path / 'hosts').write_text('appliance ansible_connection=local ansible_python_interpreter=%s\n' % python)
    results = tmp_path / 'results.json'
    proc = run(['ansible-playbook', '-vvv', '-i', str(tmp_path / 'hosts'), str(tmp_path / 'play.yml'),
                '-e', 'providers_dir=%s results_file=%s' % (providers, results)], env=env, cwd=str(tmp_path))

    used = re.findall(r'^Using module file (\S+)$', proc.stdout, re.M)
    ours = [path for path in used if '/bitrix/bxenv/' in path]
    assert ours == [os.path.join(installed, 'plugins', 'modules', 'bx_provider_info.py')] * 2, used
    data = json.loads(results.read_text())
    assert data['listed']['params'] == {'providers': {'superprovider': {'status': 'enabled'}}}
    assert data['order']['params']['provider_order']['superprovider'] == {
        'task_id': '1001', 'status': 'finished', 'server': '192.0.2.10', 'server_password': '********'}
    assert SECRET not in proc.stdout + proc.stderr
    assert ['order_status', '1001'] in provider_calls(holder)


@pytest.mark.parametrize('core', CORES)
def test_ansible_doc_renders_the_installed_plugins(core, install):
    colls, env, root = install(core)
    installed = os.path.join(colls, 'ansible_collections', 'bitrix', 'bxenv')
    listed = json.loads(run(['ansible-doc', '-t', 'module', '-l', '-j', 'bitrix.bxenv'], env=env, cwd=root).stdout)
    assert sorted(listed) == ['bitrix.bxenv.%s' % name for name in module_names()]

    fqcns = ['bitrix.bxenv.%s' % name for name in module_names()]
    docs = json.loads(run(['ansible-doc', '-j'] + fqcns, env=env, cwd=root).stdout)
    assert sorted(docs) == fqcns
    for fqcn in fqcns:
        doc = docs[fqcn]['doc']
        assert doc['filename'].startswith(installed + os.sep), doc['filename']
        assert doc['short_description'] and doc['options'] and docs[fqcn]['examples'] and docs[fqcn]['return']
    text = run(['ansible-doc'] + fqcns, env=env, cwd=root)
    assert not problems(text.stderr), text.stderr
    for fqcn in fqcns:
        assert fqcn in text.stdout

    for role in role_names():
        shown = run(['ansible-doc', '-t', 'role', 'bitrix.bxenv.%s' % role], env=env, cwd=root)
        assert not problems(shown.stderr), shown.stderr
        assert re.search(r'ENTRY POINT: \*?main\*?', shown.stdout), shown.stdout
        assert installed in shown.stdout


ROLE_PLAYBOOK = '''---
- name: Install a provider plugin with the installed role
  hosts: appliance
  gather_facts: false
  roles:
    - role: bitrix.bxenv.provider
      vars:
        bx_provider_name: superprovider
        bx_provider_archive: "{{ archive }}"
        bx_providers_dir: "{{ providers_dir }}"
        bx_provider_owner: root
        bx_provider_group: root
        bx_provider_install_requirements: false
  post_tasks:
    - name: List providers
      bitrix.bxenv.bx_provider_info:
        providers_dir: "{{ providers_dir }}"
      register: listed
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ listed | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
'''


def plugin_archive(path, python):
    """A provider plugin archive: bin/superprovider (the fake provider) and its reply table."""
    with open(FAKE_PROVIDER) as handle:
        code = ('#!%s\n%s' % (python, handle.read())).encode()
    replies = json.dumps({'help': {'options': ['help', 'configs'], 'status': 'enabled'}}).encode()
    with tarfile.open(path, 'w:gz') as archive:
        for name, data, mode in (('bin/superprovider', code, 0o755), ('fake.json', replies, 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize('core', CORES)
def test_installed_copy_runs_the_provider_role(core, install, tmp_path):
    assert 'provider' in role_names(), 'roles/provider is not in the collection'
    colls, env, root = install(core)
    installed = os.path.join(colls, 'ansible_collections', 'bitrix', 'bxenv')
    python = os.path.join(venv_bin(core), 'python')
    archive = str(tmp_path / 'superprovider.tar.gz')
    plugin_archive(archive, python)
    providers = str(tmp_path / 'providers')
    (tmp_path / 'play.yml').write_text(ROLE_PLAYBOOK)
    (tmp_path / 'hosts').write_text('appliance ansible_connection=local ansible_python_interpreter=%s\n' % python)
    results = tmp_path / 'results.json'
    proc = run(['ansible-playbook', '-vvv', '-i', str(tmp_path / 'hosts'), str(tmp_path / 'play.yml'),
                '-e', 'archive=%s providers_dir=%s results_file=%s' % (archive, providers, results)],
               env=env, cwd=str(tmp_path))

    role_tasks = set(re.findall(r'^task path: (\S+):\d+$', proc.stdout, re.M))
    role_tasks = [path for path in role_tasks if '/roles/provider/' in path]
    assert role_tasks and all(path.startswith(os.path.join(installed, 'roles', 'provider') + os.sep)
                              for path in role_tasks), role_tasks
    used = re.findall(r'^Using module file (\S+)$', proc.stdout, re.M)
    assert os.path.join(installed, 'plugins', 'modules', 'bx_provider_plugin.py') in used
    assert [path for path in used if '/bitrix/bxenv/' in path and not path.startswith(installed + os.sep)] == []
    assert os.access(os.path.join(providers, 'superprovider', 'bin', 'superprovider'), os.X_OK)
    listed = json.loads(results.read_text())
    assert listed['params'] == {'providers': {'superprovider': {'status': 'enabled'}}}
