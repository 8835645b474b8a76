# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built ``bx-provider`` file, run as a process the way the appliance runs it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from tests.cli.conftest import REPO, build
from tests.unit.fakes import calls, make_provider, make_script_provider, raw, slow, wait_gone

PACKAGE = 'ansible_collections/bitrix/bxenv/plugins/module_utils/'
USAGE_START = 'Usage: bx-provider '


def run(command, *args, **kwargs):
    """Run the zipapp; ``python`` picks the interpreter, else its own shebang does."""
    env = dict(os.environ)
    env.update(kwargs.get('env') or {})
    python = kwargs.get('python')
    argv = ([python] if python else []) + [command] + list(args)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                          check=False)
    return proc.returncode, proc.stdout.decode('utf-8'), proc.stderr.decode('utf-8')


def on_path(bin_dir):
    return {'PATH': bin_dir + os.pathsep + os.environ.get('PATH', '/usr/bin:/bin')}


def test_archive_holds_the_collection_core_and_nothing_of_ansible(zipapp):
    with open(zipapp, 'rb') as handle:
        assert handle.readline() == b'#!/usr/bin/env python3\n'
    assert os.stat(zipapp).st_mode & 0o777 == 0o755
    with zipfile.ZipFile(zipapp) as archive:
        names = archive.namelist()
        texts = dict((name, archive.read(name).decode('utf-8')) for name in names)
    assert names[0] == '__main__.py'
    for depth in ('ansible_collections/', 'ansible_collections/bitrix/', 'ansible_collections/bitrix/bxenv/',
                  'ansible_collections/bitrix/bxenv/plugins/', PACKAGE):
        assert texts[depth + '__init__.py'] == ''
    utils = sorted(name[len(PACKAGE):] for name in names if name.startswith(PACKAGE) and not name.endswith('__init__.py'))
    assert '_cli.py' in utils and '_queries.py' in utils and '_module.py' not in utils
    # The very files of the collection, not copies kept elsewhere.
    for name in utils:
        with open(os.path.join(REPO, 'plugins', 'module_utils', name)) as handle:
            assert texts[PACKAGE + name] == handle.read()
    for name, text in texts.items():
        assert 'from ansible.' not in text and 'import ansible\n' not in text, name


def test_build_is_reproducible(zipapp, tmp_path):
    with open(zipapp, 'rb') as first, open(build(str(tmp_path / 'again')), 'rb') as second:
        assert first.read() == second.read()


def test_build_makes_the_output_folder(zipapp, tmp_path):
    output = str(tmp_path / 'new' / 'bin' / 'bx-provider')
    assert build(output) == output
    with open(zipapp, 'rb') as first, open(output, 'rb') as second:
        assert first.read() == second.read()
    assert os.listdir(os.path.dirname(output)) == ['bx-provider']


def test_build_refuses_a_core_that_needs_ansible(tmp_path):
    # A copy of the sources where _cli.py pulls in the AnsibleModule glue.
    copy = str(tmp_path / 'repo')
    for folder in ('module_utils', 'plugin_utils'):
        shutil.copytree(os.path.join(REPO, 'plugins', folder), os.path.join(copy, 'plugins', folder))
    cli = os.path.join(copy, 'plugins', 'module_utils', '_cli.py')
    with open(cli, 'a') as handle:
        handle.write('\nfrom ansible_collections.bitrix.bxenv.plugins.module_utils import _module  # noqa\n')
    output = str(tmp_path / 'bx-provider')
    proc = subprocess.run([sys.executable, os.path.join(copy, 'plugins', 'plugin_utils', 'bx_provider_build.py'), '--output', output],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr == ('bx_provider_build: plugins/module_utils/_module.py imports ansible.module_utils.basic: '
                           'the command must run without ansible-core\n')
    assert not os.path.exists(output)


def test_order_flow_without_ansible(command, bare_python, tmp_path):
    """The appliance case: ``bx-provider`` started by its shebang on a Python with jsonschema only."""
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'sp', {
        'configs': {'status': 'enabled', 'configurations': [{'id': '2', 'descr': 'big'}, {'id': '1', 'descr': 'small'}]},
        'order': raw('{"task_id": "t{n}"}'),
        'order_status': {'status': 'in_progress'},
    })
    env = on_path(bare_python)
    zipapp = command(providers_dir=root)
    common = []
    assert run(zipapp, *common, env=env) == (0, 'provider:status:sp:enabled\n', '')
    assert run(zipapp, '-o', 'json', *common, env=env) == (0, '{"params":{"providers":{"sp":{"status":"enabled"}}}}', '')
    assert run(zipapp, '-a', 'configs', '--provider', 'sp', *common, env=env) == (
        0, 'provider:configs:sp:enabled:1:small\nprovider:configs:sp:enabled:2:big\n', '')
    assert run(zipapp, '-a', 'order', '--provider', 'sp', '--config_id', '1', *common, env=env) == (
        0, 'provider:order:sp:t1', '')
    rc, out, err = run(zipapp, '-vo', 'json', '-a', 'order_status', '--provider', 'sp', '--task_id', 't1', *common, env=env)
    assert (rc, json.loads(out), err) == (0, {'params': {'provider_order': {'sp': {'status': 'in_progress'}}}}, '')
    mtime = int(os.stat(os.path.join(holder, 'tasks', 't1')).st_mtime)
    assert run(zipapp, '-a', 'orders_list', *common, env=env) == (
        0, 'provider:orders:sp:t1:in_progress:%d::\n' % mtime, '')
    # No shell: the provider got exactly these argv items.
    assert calls(holder) == [['help'], ['help'], ['help'], ['configs'], ['help'], ['order', '1'],
                             ['help'], ['order_status', 't1'], ['help'], ['order_status', 't1']]


def test_errors_and_usage_without_ansible(command, bare_python, tmp_path):
    root = str(tmp_path / 'providers')
    make_provider(root, 'sp')
    env = on_path(bare_python)
    zipapp = command(providers_dir=root)
    assert run(zipapp, '-o', 'json', '--bogus', env=env) == (1, '{"error":1,"message":"Unknown option: bogus"}', '')
    rc, out, err = run(zipapp, '-h', env=env)
    assert (rc, out.startswith(USAGE_START), err) == (0, True, '')
    assert run(zipapp, '-a', 'list|x', env=env) == (0, out, '')
    assert run(zipapp, '-o', 'yaml', env=env) == (0, out, '')
    assert run(zipapp, '-a', 'pool', env=env) == (1, 'message:Unknown action=pool\nerror:1\n', '')
    assert run(zipapp, '-a', 'order', '--provider', 'sp', env=env) == (
        1, 'message:bxProvider::order2Provider: You must provide config_id for order\nerror:1\n', '')


def test_provider_code_and_timeout(command, bare_python, tmp_path):
    root = str(tmp_path / 'providers')
    coded = make_provider(root, 'coded', {'configs': {'error': '3', 'error_message': 'later'}})
    make_provider(root, 'slow', {'configs': raw('{}', sleep=30)})
    env = on_path(bare_python)
    zipapp = command(providers_dir=root, timeout=1)
    assert run(zipapp, '-o', 'json', '-a', 'configs', '--provider', 'coded', env=env) == (
        3, '{"error":"3","message":"cmd=`%s configs` return later"}' % os.path.join(coded, 'bin', 'coded'), '')
    rc, out, err = run(zipapp, '-o', 'json', '-a', 'configs', '--provider', 'slow', env=env)
    assert rc == 1 and 'timed out after 1 s' in json.loads(out)['message']


def test_utf8_under_the_c_locale(command, bare_python, tmp_path):
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'sp', {'order_status': {'status': 'в работе'}})
    env = dict(on_path(bare_python), LC_ALL='C', LANG='C')
    env.pop('PYTHONIOENCODING', None)
    rc, out, err = run(command(providers_dir=root), '-o', 'json', '-a', 'order_status', '--provider', 'sp',
                       '--task_id', 'заказ-1', env=env)
    assert (rc, out, err) == (0, '{"params":{"provider_order":{"sp":{"status":"в работе"}}}}', '')
    assert calls(holder)[-1] == ['order_status', 'заказ-1']


def test_without_jsonschema_says_so(zipapp, tmp_path):
    venv = str(tmp_path / 'nojsonschema')
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', venv], check=True)
    python = os.path.join(venv, 'bin', 'python3')
    assert run(zipapp, '-o', 'json', python=python) == (1, json.dumps(
        {'error': 1, 'message': 'bx-provider-bxenv: the Python library jsonschema is needed; '
                                'install it for the Python that runs this command'}, separators=(',', ':')), '')
    # Usage needs no library.
    assert run(zipapp, '-h', python=python)[0] == 0


def test_hostile_providers_end_in_error_documents(command, bare_python, tmp_path):
    """A child left holding stdout (even in its own session) after a reply, a flood, a slow answer."""
    root = str(tmp_path / 'providers')
    pidfile = str(tmp_path / 'pid')
    make_script_provider(root, 'holder', 'setsid sh -c \'echo $$ > %s; exec sleep 300\' & printf "{}"' % pidfile)
    make_script_provider(root, 'flood', 'yes')
    make_provider(root, 'slow', {'configs': slow({'status': 'ok', 'configurations': []}, 1.0)})
    python = os.path.join(bare_python, 'python3')
    zipapp = command(providers_dir=root, timeout=2)
    common = ('-o', 'json')

    started = time.monotonic()
    rc, out, err = run(zipapp, '-a', 'configs', '--provider', 'holder', python=python, *common)
    assert time.monotonic() - started < 20  # the original waited for as long as the child lived
    # The provider exited with a whole reply: it is used, and the child holding its output is ended.
    assert (rc, json.loads(out)) == (0, {'params': {'provider_configs': {'holder': {}}}})
    with open(pidfile) as handle:
        assert wait_gone(int(handle.read()))

    rc, out, err = run(command(providers_dir=root, timeout=2, max_output=65536), '-a', 'configs', '--provider',
                       'flood', python=python, *common)
    assert rc == 1 and 'wrote more than 65536 bytes on stdout and was killed' in json.loads(out)['message']

    rc, out, err = run(zipapp, '-a', 'configs', '--provider', 'slow', python=python, *common)
    assert (rc, json.loads(out)) == (0, {'params': {'provider_configs': {'slow': {'status': 'ok',
                                                                                  'configurations': []}}}})


def test_settings_come_from_roots_file_fixed_at_build_time(bare_python, tmp_path):
    """docs/protocol.md, difference 16: the build names the settings file; the command line cannot."""
    if os.getuid() != 0:
        pytest.fail('the command trusts only a settings file of root: run this suite as root (tests/README.md)')
    root = str(tmp_path / 'providers')
    make_provider(root, 'sp')
    etc = tmp_path / 'etc'
    etc.mkdir()
    os.chmod(str(etc), 0o755)
    settings_file = str(etc / 'bx-provider.json')
    zipapp = build(str(tmp_path / 'bx-provider'), settings_file=settings_file)
    env = on_path(bare_python)
    # No file: the appliance's defaults, whatever the line says.
    rc, out, err = run(zipapp, '-o', 'json', '--providers_dir', root, env=env)
    assert (rc, json.loads(out)) == (1, {'error': 1, 'message': 'Unknown option: providers_dir'})
    with open(settings_file, 'w') as handle:
        json.dump({'providers_dir': root}, handle)
    os.chmod(settings_file, 0o644)
    assert run(zipapp, '-o', 'json', env=env) == (0, '{"params":{"providers":{"sp":{"status":"enabled"}}}}', '')
    os.chmod(settings_file, 0o664)
    rc, out, err = run(zipapp, '-o', 'json', env=env)
    assert (rc, json.loads(out)) == (1, {'error': 1, 'message': 'bx-provider-bxenv: %s is writable by others than '
                                         'its owner; refusing to trust it' % settings_file})
    os.chmod(settings_file, 0o644)
    os.chown(settings_file, 65534, 65534)
    rc, out, err = run(zipapp, '-o', 'json', env=env)
    assert (rc, json.loads(out)['message']) == (1, 'bx-provider-bxenv: %s belongs to uid 65534, not to root; '
                                                   'refusing to trust it' % settings_file)


def test_the_default_build_reads_the_appliance_settings_file(zipapp):
    """The builder's default is the core's (the builder does not import the core)."""
    with open(os.path.join(REPO, 'plugins', 'module_utils', '_settings.py')) as handle:
        default = re.search(r"^DEFAULT_SETTINGS_FILE = '([^']+)'$", handle.read(), re.M).group(1)
    with zipfile.ZipFile(zipapp) as archive:
        member = archive.read('bx_provider_settings.py').decode('utf-8')
    assert "SETTINGS_FILE = %r\nSETTINGS = None\n" % default in member
