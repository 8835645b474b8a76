# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's checks as nox sessions (``nox -l`` lists them).

antsibull-nox.toml defines lint/yamllint, docs-check, build-import-check and
ansible-lint; this file adds ansible-test sanity on every supported
ansible-core release (in ``--venv`` mode: no container engine needed), the
docs site, and the suites that need this repository's own runners (units,
integration, molecule, end to end, ecosystem), which run through the scripts
in tests/ci/ with the pinned venvs they build under .cache/.

Every session installs pinned packages (tests/requirements-*.txt). Run one
with ``nox -s NAME``; ``make test`` runs them all, step by step, through
tests/ci/nox.sh, which also holds what is particular to an offline machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import shutil
import sys

import nox

try:
    import antsibull_nox
except ImportError:
    print('You need to install antsibull-nox in the same Python environment as nox'
          ' (pip install -r tests/requirements-nox.txt).')
    sys.exit(1)

ROOT = os.path.dirname(os.path.abspath(__file__))


def _cores():
    """The ansible-core lines of tests/cores.txt, and the main one."""
    cores, main = [], None
    with open(os.path.join(ROOT, 'tests', 'cores.txt')) as handle:
        for line in handle:
            words = line.split()
            if words and not words[0].startswith('#'):
                cores.append(words[0])
                main = words[0] if words[2:] == ['main'] else main
    return tuple(cores), main


# ansible-core releases the collection supports and tests; the exact versions
# come from tests/requirements-ansible-X.Y.txt.
CORES, MAIN_CORE = _cores()

nox.options.reuse_venv = 'yes'
# uv builds the session venvs in a fraction of pip's time; virtualenv without it
nox.options.default_venv_backend = 'uv|virtualenv'
nox.options.error_on_missing_interpreters = True

antsibull_nox.load_antsibull_nox_toml()


def _requirements(name):
    return os.path.join(ROOT, 'tests', 'requirements-%s.txt' % name)


def _no_sanity_ignores():
    found = [path for path in glob.glob(os.path.join(ROOT, 'tests', 'sanity', 'ignore-*.txt'))
             if os.path.getsize(path)]
    if found:
        raise nox.command.CommandFailed('sanity ignore files with entries are not allowed: %s' % ', '.join(found))


def _drop_scratch_output():
    """Remove ansible-test's scratch folder from the copy's tests/output.

    antsibull-nox 1.10 copies tests/output back into the repository walking
    bottom-up, and fails on the nested folders left in tests/output/.tmp.
    Runs in the copy, after ansible-test.
    """
    shutil.rmtree(os.path.join('tests', 'output', '.tmp'), ignore_errors=True)


# ---- ansible-test sanity --------------------------------------------------
# antsibull-nox installs the newest release of a line; tests/ci/nox.sh pins it
# to tests/requirements-ansible-X.Y.txt (PIP_CONSTRAINT, UV_CONSTRAINT).
for _core in CORES:
    antsibull_nox.add_ansible_test_session(
        name='ansible-test-sanity-%s' % _core,
        description='ansible-test sanity of ansible-core %s (--venv), no ignore entries' % _core,
        ansible_test_params=['sanity', '--venv', '--color', 'no'],
        default=True,
        ansible_core_version=_core,
        ansible_core_source='pypi',
        callback_before=_no_sanity_ignores,
        callback_after=_drop_scratch_output,
    )


@nox.session(name='ansible-test-sanity', python=False, default=False,
             requires=['ansible-test-sanity-%s' % core for core in CORES])
def ansible_test_sanity(session):  # pylint: disable=unused-argument
    """Meta session: ansible-test sanity on every supported ansible-core."""


# ---- the repository's own runners (tests/ci/, pinned venvs under .cache/) --
def _ci(session, *argv):
    """Run a tests/ci/ script; it builds the venv it needs from tests/requirements-*.txt."""
    session.run(*argv, external=True)


def _ci_session(name, argv, doc):
    def run(session):
        _ci(session, *(argv + list(session.posargs)))
    run.__doc__ = doc
    nox.session(name=name, python=False, default=True)(run)


# Many unit tests wait on providers that answer after a silence: twice as many
# workers as cores keeps the cores busy.
UNIT_WORKERS = str(2 * (os.cpu_count() or 1))
for _core in CORES:
    _ci_session('units-%s' % _core, ['tests/ci/pytest.sh', _core, 'tests/unit', '-n', UNIT_WORKERS],
                'Unit tests (pytest) with ansible-core %s.' % _core)
    _ci_session('integration-%s' % _core, ['tests/ci/integration.sh', _core],
                'ansible-test integration --local with ansible-core %s, every target.' % _core)
_ci_session('units-unprivileged', ['tests/ci/units_unprivileged.sh', MAIN_CORE, '--num-workers', UNIT_WORKERS],
            'ansible-test units --venv with ansible-core %s, run by an unprivileged user.' % MAIN_CORE)
_ci_session('cli', ['tests/ci/pytest.sh', MAIN_CORE, 'tests/cli'], 'Tests of the bx-provider command.')
_ci_session('webui', ['tests/ci/pytest.sh', MAIN_CORE, 'tests/webui'],
            "The web interface's calls (a PHP client) against the built bx-provider command.")
_ci_session('molecule', ['tests/ci/molecule.sh', 'provider'], 'molecule test of the role (scenario provider).')
for _name, _path in (('e2e-lab-provider', 'tests/e2e/test_netns_lab_provider.py'),
                     ('e2e-add-to-pool', 'tests/e2e/test_add_to_pool.py'),
                     ('e2e-pool', 'tests/e2e/test_pool.py'),
                     ('e2e-demo', 'tests/e2e/test_demo.py'),
                     ('e2e-lab-units', 'tests/e2e/test_lab.py tests/e2e/test_key_copy_lab.py '
                                       'tests/e2e/test_bx_order_to_host_lab.py tests/e2e/test_plugin_ownership.py')):
    _ci_session(_name, ['tests/ci/pytest.sh', MAIN_CORE] + _path.split(),
                'End to end (root, lab hosts in network namespaces): %s.' % _path)
for _name, _path in (('eco-build-install', 'tests/ecosystem/test_build_install.py'),
                     ('eco-ee', 'tests/ecosystem/test_execution_environment.py'),
                     ('eco-runner', 'tests/ecosystem/test_runner.py')):
    _ci_session(_name, ['tests/ecosystem/run.sh', _path], 'Ecosystem: %s.' % _path)


@nox.session(name='changelog')
def changelog(session):
    """antsibull-changelog lint: the fragments under changelogs/fragments/."""
    session.install('-r', _requirements('changelog'))
    session.run('antsibull-changelog', 'lint')


@nox.session(name='units', python=False, default=False,
             requires=['units-%s' % core for core in CORES] + ['units-unprivileged', 'cli', 'webui'])
def units(session):  # pylint: disable=unused-argument
    """Meta session: the unit tests on every supported ansible-core (the main one also unprivileged), cli, webui."""


@nox.session(name='integration', python=False, default=False,
             requires=['integration-%s' % core for core in CORES])
def integration(session):  # pylint: disable=unused-argument
    """Meta session: ansible-test integration on every supported ansible-core."""


# ---- the docs site ----------------------------------------------------------
# sphinx-build warnings that only say this machine cannot fetch the
# intersphinx inventories of docs.python.org, docs.ansible.com, ... Any other
# warning fails the build.
OFFLINE_WARNINGS = (
    re.compile(r'WARNING: failed to reach any of the inventories with the following issues:$'),
    # the URL, then the local fallback file conf.py names (absent)
    re.compile(r"^intersphinx inventory '\S+' not fetchable due to .*(NameResolutionError|ConnectionError)"),
    re.compile(r"^intersphinx inventory '\.\./\w+\.inv' not readable due to FileNotFoundError"),
)
# References that only those inventories resolve (ansible-core's docs): any
# label outside this collection's own.
EXTERNAL_REFERENCE = re.compile(r"(undefined label|reference target not found): '"
                                r'(?!ansible_collections\.bitrix\.bxenv\.)')


@nox.session(name='docs-guides', default=False)
def docs_guides(session):
    """Write docs/docsite/rst/guide_*.rst from docs/*.md (tools/docs_guides.py)."""
    session.install('-r', _requirements('docs'))
    session.run('python', 'tools/docs_guides.py')


@nox.session(name='docs')
def docs(session):
    """Build the docs site (antsibull-docs sphinx-init + Sphinx), the guides in it; warnings fail it."""
    session.install('-r', _requirements('docs'))
    session.run('python', 'tools/docs_guides.py', '--check')
    tmp = session.create_tmp()
    colls = os.path.join(tmp, 'collections')
    link = os.path.join(colls, 'ansible_collections', 'bitrix', 'bxenv')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    site = os.path.join(tmp, 'docsite')
    shutil.rmtree(site, ignore_errors=True)
    os.makedirs(site, mode=0o700)
    env = {'ANSIBLE_COLLECTIONS_PATH': colls, 'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false'}
    session.run('antsibull-docs', 'sphinx-init', '--use-current', '--fail-on-error', '--dest-dir', site,
                'bitrix.bxenv', env=env)
    rst = os.path.join(site, 'rst')
    os.makedirs(rst, mode=0o700, exist_ok=True)
    session.run('antsibull-docs', '--config-file', os.path.join(site, 'antsibull-docs.cfg'), 'collection',
                '--cleanup', 'everything', '--use-current', '--fail-on-error', '--dest-dir', rst,
                'bitrix.bxenv', env=env)
    warnings = os.path.join(site, 'warnings.log')
    session.run('sphinx-build', '-M', 'html', rst, os.path.join(site, 'build'), '-c', site, '-q',
                '--keep-going', '-w', warnings, env=env)
    with open(warnings) as handle:
        lines = [line.rstrip('\n') for line in handle if line.strip()]
    offline = [line for line in lines
               if any(rx.search(line) for rx in OFFLINE_WARNINGS) or EXTERNAL_REFERENCE.search(line)]
    others = [line for line in lines if line not in offline]
    if offline:
        session.log('%d sphinx warning line(s) only say the intersphinx inventories are out of reach' % len(offline))
    if others:
        session.error('sphinx warnings:\n%s' % '\n'.join(others))
    html = os.path.join(site, 'build', 'html', 'collections', 'bitrix', 'bxenv')
    missing = [name for name in ('index.html', 'docsite/guide_bx_provider.html',
                                 'docsite/guide_execution_environments.html', 'docsite/guide_protocol.html',
                                 'bx_provider_info_module.html')
               if not os.path.isfile(os.path.join(html, name))]
    if missing:
        session.error('the docs site lacks %s (under %s)' % (', '.join(missing), html))
    session.log('docs site: %s' % os.path.join(site, 'build', 'html', 'index.html'))


# Allow `python noxfile.py`.
if __name__ == '__main__':
    nox.main()
