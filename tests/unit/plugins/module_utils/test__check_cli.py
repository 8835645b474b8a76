# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bx-provider-check command: built as a zipapp and run as a process on
this Python, its text and JSON output and its exit status 0, 1 and 2."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import sys

import zipfile

import jsonschema
import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils._check_catalog import REPORT_SCHEMA
from ansible_collections.bitrix.bxenv.plugins.plugin_utils import bx_provider_build
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.check_plugins import calls, make_plugin

BANNER = "if action == 'help':\n    print('Welcome'); out(HELP); sys.exit(0)"


@pytest.fixture(scope='module')
def command(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('build') / 'bx-provider-check')
    members = bx_provider_build.build(path, command='bx-provider-check', settings={'timeout': 5})
    assert 'ansible_collections/bitrix/bxenv/plugins/module_utils/_check.py' in members
    assert 'ansible_collections/bitrix/bxenv/plugins/module_utils/_cli.py' not in members  # not bx-provider
    with zipfile.ZipFile(path) as archive:
        member = archive.read('bx_provider_settings.py').decode('utf-8')
    assert "COMMAND = 'bx-provider-check'" in member and 'SETTINGS = None' in member  # it has no settings
    return path


def run(command, *args):
    done = subprocess.run([sys.executable, command] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120, check=False)
    return done.returncode, done.stdout.decode('utf-8'), done.stderr.decode('utf-8')


def test_a_good_plugin_exits_0(command, tmp_path):
    holder = make_plugin(tmp_path)
    rc, out, err = run(command, '--timeout', '10', holder)
    assert rc == 0, out + err
    assert out.splitlines()[0].split() == ['PASS', 'static.name', 'the', 'plugin', 'name', 'is', 'a', 'valid',
                                           'provider', 'name']
    assert out.splitlines()[-1] == 'superprovider: 22 pass, 0 fail, 0 warn, 1 skip, 0 waived'
    assert not [argv for argv in calls(holder) if argv[0] == 'order']


def test_a_failed_check_exits_1_with_details(command, tmp_path):
    holder = make_plugin(tmp_path, body=BANNER)
    rc, out, err = run(command, '--level', 'protocol', holder)
    assert rc == 1
    lines = out.splitlines()
    at = lines.index('FAIL   protocol.help-schema  help gives a successful reply valid against schemas/help.json')
    assert any(line.strip().startswith('reproduce: cd %s && env -i' % holder) for line in lines[at:])
    rc, out, err = run(command, '--level', 'protocol', '--format', 'json', holder)
    report = json.loads(out)
    jsonschema.Draft7Validator(REPORT_SCHEMA).validate(report)
    assert rc == 1 and report['summary']['fail'] == 1


def test_waivers_file(command, tmp_path):
    holder = make_plugin(tmp_path, body=BANNER)
    waivers = tmp_path / 'waivers.json'
    waivers.write_text(json.dumps([{'id': 'protocol.help-schema', 'reason': 'vendor banner'}]))
    rc, out, err = run(command, '--level', 'protocol', '--waivers', str(waivers), holder)
    assert rc == 0 and 'WAIVED protocol.help-schema' in out
    waivers.write_text(json.dumps([{'id': 'protocol.help-schema'}]))
    rc, out, err = run(command, '--level', 'protocol', '--waivers', str(waivers), holder)
    assert rc == 2 and 'has no reason' in err


def test_usage_errors_exit_2(command, tmp_path):
    assert run(command, str(tmp_path / 'missing'))[0] == 2
    assert run(command, '--level', 'loud', str(tmp_path))[0] == 2
    assert run(command)[0] == 2
    rc, out, err = run(command, '-h')
    assert rc == 0 and '--allow-order' in out
