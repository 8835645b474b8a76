# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execution environments: the collection's EE metadata and the example EE definition.

No container engine is needed: ``ansible-builder create`` writes the build
context without network (run in a network namespace of its own), then the
steps of its Containerfile that decide the image's content are replayed
here: the galaxy stage installs the collection from the context, and the
context's own introspect script gathers the collection's Python and system
requirements, as the builder stage does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re
import shutil
import sys

import yaml
from bindep.depends import Depends
from packaging.requirements import Requirement

from .conftest import REPO, galaxy_version, eco_bin, isolated_env, run

# Commands the modules look up on PATH, and the package that has each.
COMMAND_PACKAGES = {
    'ssh': {'dpkg': 'openssh-client', 'rpm': 'openssh-clients'},
}


def read(path):
    with open(path) as handle:
        return handle.read()


def meta_ee():
    return yaml.safe_load(read(os.path.join(REPO, 'meta', 'execution-environment.yml')))


def requirement_names(text):
    names = set()
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            names.add(Requirement(line).name.lower())
    return names


def bindep_packages(text, platform):
    """Package names the bindep ``text`` asks for on ``platform`` (dpkg, rpm)."""
    return set(rule[0] for rule in Depends(text).active_rules(['platform:%s' % platform]))


def plugin_imports():
    """Top-level modules the plugins import, outside the standard library and Ansible."""
    found = set()
    for folder, dummy, files in os.walk(os.path.join(REPO, 'plugins')):
        for name in files:
            if not name.endswith('.py'):
                continue
            tree = ast.parse(read(os.path.join(folder, name)))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split('.')[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split('.')[0])
    return found - set(sys.stdlib_module_names) - {'ansible', 'ansible_collections', '__future__'}


def plugin_commands():
    """Names the modules look up on PATH (get_bin_path, shutil.which)."""
    found = set()
    for folder, dummy, files in os.walk(os.path.join(REPO, 'plugins')):
        for name in files:
            if name.endswith('.py'):
                found.update(re.findall(r"(?:get_bin_path|shutil\.which)\([^)']*'([^']+)'", read(os.path.join(folder, name))))
    return found


def test_meta_execution_environment_names_the_runtime_dependency_files():
    data = meta_ee()
    assert data['version'] == 1
    deps = data['dependencies']
    assert sorted(deps) == ['python', 'system']
    for path in deps.values():
        assert not os.path.isabs(path)
        assert os.path.isfile(os.path.join(REPO, path))
        assert not path.startswith('tests/')


def test_python_requirements_cover_every_third_party_import():
    names = requirement_names(read(os.path.join(REPO, meta_ee()['dependencies']['python'])))
    # PyYAML ships with ansible-core (and _pool has a fallback without it);
    # bx_provider_settings is a member the build writes into the bx-provider command.
    imported = plugin_imports() - {'yaml', 'bx_provider_settings'}
    assert imported == {'jsonschema'}
    assert imported <= names
    # run-time needs only: no test tools
    assert not names & {'pytest', 'ansible-core', 'ansible-lint', 'molecule'}


def test_system_requirements_cover_every_command_looked_up():
    text = read(os.path.join(REPO, meta_ee()['dependencies']['system']))
    commands = plugin_commands()
    assert commands == {'ssh'}
    for platform in ('dpkg', 'rpm'):
        packages = bindep_packages(text, platform)
        for command in commands:
            assert command in COMMAND_PACKAGES, 'no package known for command %s: add it to the bindep file' % command
            assert COMMAND_PACKAGES[command][platform] in packages, (command, platform, packages)


def test_bindep_file_is_satisfied_on_this_debian_machine():
    # bindep -b prints what is missing; here the packages are installed (tests/ci/setup.sh).
    proc = run([os.path.join(eco_bin(), 'bindep'), '-b', '-f',
                os.path.join(REPO, meta_ee()['dependencies']['system'])], check=False)
    assert (proc.returncode, proc.stdout) == (0, ''), proc.stdout + proc.stderr


def test_example_names_the_tarball_of_this_version():
    example = yaml.safe_load(read(os.path.join(REPO, 'examples', 'execution-environment.yml')))
    tarball = 'bitrix-bxenv-%s.tar.gz' % galaxy_version()
    assert example['version'] == 3
    assert example['dependencies']['galaxy']['collections'] == [
        {'name': 'collections/%s' % tarball, 'type': 'file'}]
    assert example['additional_build_files'] == [{'src': '../%s' % tarball, 'dest': 'collections'}]


def create_context(tarball, tmp_path):
    """The example laid out as in the repo (tarball in the root), then ``ansible-builder create`` offline."""
    root = tmp_path / 'collection-root'
    (root / 'examples').mkdir(parents=True)
    shutil.copy(os.path.join(REPO, 'examples', 'execution-environment.yml'), str(root / 'examples'))
    shutil.copy(tarball, str(root))
    context = root / 'context'
    env = isolated_env(eco_bin(), str(tmp_path / 'none'), str(tmp_path / 'home'))
    run(['unshare', '-n', os.path.join(eco_bin(), 'ansible-builder'), 'create', '-f', 'examples/execution-environment.yml',
         '-c', str(context), '--output-filename', 'Containerfile'], env=env, cwd=str(root))
    return context, env


def test_builder_creates_a_context_offline(tarball, tmp_path):
    context, env = create_context(tarball, tmp_path)
    containerfile = read(str(context / 'Containerfile'))
    name = os.path.basename(tarball)
    with open(tarball, 'rb') as src, open(str(context / '_build' / 'collections' / name), 'rb') as copied:
        assert src.read() == copied.read()
    requirements = yaml.safe_load(read(str(context / '_build' / 'requirements.yml')))
    assert requirements == {'collections': [{'name': 'collections/%s' % name, 'type': 'file'}]}
    assert 'FROM quay.io/fedora/fedora' in containerfile or 'EE_BASE_IMAGE="quay.io/fedora/fedora' in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert '/output/scripts/introspect.py introspect' in containerfile
    assert 'install-from-bindep' in containerfile


def test_context_build_steps_give_jsonschema_and_openssh(tarball, tmp_path):
    context, env = create_context(tarball, tmp_path)
    containerfile = read(str(context / 'Containerfile'))
    # Galaxy stage: WORKDIR /build (the context's _build), install from requirements.yml.
    assert re.search(r'^COPY _build /build\nWORKDIR /build$', containerfile, re.M)
    share = tmp_path / 'usr-share-ansible'
    run(['unshare', '-n', os.path.join(eco_bin(), 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml',
         '--collections-path', str(share / 'collections')], env=env, cwd=str(context / '_build'))
    installed = share / 'collections' / 'ansible_collections' / 'bitrix' / 'bxenv'
    assert (installed / 'MANIFEST.json').is_file()
    # Builder stage: the context's own introspect script over the installed collections.
    pip_out, bindep_out = tmp_path / 'requirements.txt', tmp_path / 'bindep.txt'
    run([sys.executable, str(context / '_build' / 'scripts' / 'introspect.py'), 'introspect',
         '--write-bindep=%s' % bindep_out, '--write-pip=%s' % pip_out, str(share / 'collections')],
        env=env, cwd=str(tmp_path))
    pip_text, bindep_text = pip_out.read_text(), bindep_out.read_text()
    assert requirement_names(pip_text) == {'jsonschema'}
    assert '# from collection bitrix.bxenv' in pip_text
    assert {'openssh-clients'} <= bindep_packages(bindep_text, 'rpm')
    assert {'openssh-client'} <= bindep_packages(bindep_text, 'dpkg')
