# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider check (``_check``): a corpus of broken plugins, each failing
with its check id; good plugins passing; orders; waivers; the report's schema."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile

import jsonschema
import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _check
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_catalog import CHECKS, REPORT_SCHEMA
from ansible_collections.bitrix.bxenv.plugins.plugin_utils import bx_provider_build
from ansible_collections.bitrix.bxenv.tests.unit.fakes import alive
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.check_plugins import calls, make_plugin, pids, state

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

WRITE_PID = "open(os.path.join(STATE, 'pids'), 'a').write('%d\\n' % os.getpid())\n"

# (case, body, timeout, check ids that must fail)
CORPUS = [
    ('not-json', "if action == 'help':\n    out('hello'); sys.exit(0)",
     5, ['protocol.help-schema', 'robust.stdout-only-reply']),
    ('banner', "if action == 'help':\n    print('Welcome to superprovider'); out(HELP); sys.exit(0)",
     5, ['protocol.help-schema', 'robust.stdout-only-reply']),
    ('bom', "if action == 'configs':\n    out('\\ufeff' + json.dumps(CONFIGS)); sys.exit(0)",
     5, ['protocol.configs-schema', 'robust.stdout-only-reply']),
    ('nan', "if action == 'configs':\n    out('{\"status\": NaN, \"configurations\": []}'); sys.exit(0)",
     5, ['protocol.configs-schema', 'robust.stdout-only-reply']),
    ('not-utf8', "if action == 'configs':\n    sys.stdout.buffer.write(b'{\"status\": \"\\xff\"}'); sys.exit(0)",
     5, ['protocol.configs-schema', 'robust.utf8']),
    ('deep', "if action == 'configs':\n    out('{\"x\": ' + '[' * 70 + ']' * 70 + '}'); sys.exit(0)",
     5, ['protocol.configs-schema', 'robust.reply-depth']),
    ('flood', "if action == 'configs':\n    while True:\n        sys.stdout.write('x' * 65536)",
     5, ['protocol.configs-schema', 'robust.output-size']),
    ('hang', "if action == 'configs':\n    " + WRITE_PID + "    time.sleep(60)",
     1, ['protocol.configs-schema', 'robust.exits-in-time', 'robust.timing']),
    ('term-ignored', "if action == 'configs':\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    "
     + WRITE_PID + "    time.sleep(60)",
     1, ['protocol.configs-schema', 'robust.exits-in-time', 'robust.ends-on-term', 'robust.timing']),
    ('child-holds-stdout', "if action == 'help' and not os.path.exists(os.path.join(STATE, 'spawned')):\n"
     "    open(os.path.join(STATE, 'spawned'), 'w').close()\n"
     "    child = subprocess.Popen(['sleep', '60'])\n"
     "    open(os.path.join(STATE, 'pids'), 'a').write('%d\\n' % child.pid)\n"
     "    out(HELP); sys.exit(0)",
     5, ['robust.releases-stdout']),
    ('options-not-a-list', "if action == 'help':\n    out({'options': 'help configs', 'status': 'enabled'}); sys.exit(0)",
     5, ['protocol.help-schema']),
    ('numeric-status', "if action == 'help':\n    out(dict(HELP, status=5)); sys.exit(0)",
     5, ['protocol.help-schema']),
    ('bad-config-id', "if action == 'configs':\n    out({'configurations': [{'id': '1 2', 'descr': 'x'}]}); sys.exit(0)",
     5, ['protocol.config-ids']),
    ('duplicate-config-ids', "if action == 'configs':\n"
     "    out({'configurations': [{'id': '1', 'descr': 'x'}, {'id': '1', 'descr': 'y'}]}); sys.exit(0)",
     5, ['protocol.config-ids']),
    ('unstable-config-ids', "if action == 'configs' and os.path.exists(os.path.join(STATE, 'listed')):\n"
     "    out({'configurations': [{'id': '9', 'descr': 'x'}]}); sys.exit(0)\n"
     "if action == 'configs':\n    open(os.path.join(STATE, 'listed'), 'w').close()",
     5, ['protocol.configs-stable']),
    ('writes-tasks', "if action == 'help':\n    os.makedirs('tasks', exist_ok=True)\n"
     "    open('tasks/1001', 'w').close()",
     5, ['static.no-tasks-writes']),
    ('shell', "if action == 'order_status' and len(args) > 1:\n    os.system('true ' + args[1])",
     5, ['protocol.args-literal']),
    ('unknown-action-succeeds', "if action not in ('help', 'configs', 'order', 'order_status'):\n"
     "    out({}); sys.exit(0)",
     5, ['protocol.unknown-action']),
    ('bad-id-succeeds', "if action == 'order_status' and args[1:] == ['../x']:\n"
     "    out({'status': 'in_progress'}); sys.exit(0)",
     5, ['protocol.bad-id']),
    ('unknown-task-hangs', "if action == 'order_status' and args[1].startswith('bxcheck-'):\n"
     "    time.sleep(60)",
     1, ['protocol.unknown-task', 'robust.exits-in-time', 'robust.timing']),
]


def validate(report):
    jsonschema.Draft7Validator(REPORT_SCHEMA).validate(report)
    return report


def results(report):
    return dict((entry['id'], entry['result']) for entry in report['checks'])


@pytest.mark.parametrize('case, body, timeout, expected', CORPUS, ids=[row[0] for row in CORPUS])
def test_each_broken_plugin_fails_with_its_check(tmp_path, case, body, timeout, expected):
    holder = make_plugin(tmp_path, body=body)
    report = validate(_check.check(holder, timeout=timeout))
    failed = _check.failed(report)
    assert set(expected) <= set(failed), (case, failed)
    for entry in report['checks']:
        if entry['id'] in expected and entry['id'] != 'static.no-tasks-writes':
            # a failure about a call shows it and how to repeat it
            assert entry['argv'][0] == './bin/superprovider' and 'reproduce' in entry
            assert entry['reproduce'].startswith('cd %s && env -i PATH=' % holder)
    assert not any(alive(pid) for pid in pids(holder)), 'a process of the plugin outlived the check'
    assert not [entry for entry in report['checks'] if entry['result'] == 'fail' and entry['id'] not in expected], \
        'only the expected checks fail'


def test_a_good_plugin_passes_at_robust_without_ordering(tmp_path):
    holder = make_plugin(tmp_path)
    report = validate(_check.check(holder, timeout=10))
    assert _check.failed(report) == []
    assert report['summary']['pass'] == len([c for c in CHECKS if c.level != 'order']) - 1  # archive-safe: skip
    assert results(report)['static.archive-safe'] == 'skip'
    made = calls(holder)
    assert made and not [argv for argv in made if argv[0] == 'order']
    assert report['ordered'] == [] and report['level'] == 'robust'
    assert report['plugin'] == {'name': 'superprovider', 'path': holder}
    # 8 at once, and help and configs 3 times each for the timing
    assert len([argv for argv in made if argv == ['help']]) == 3 + 4
    assert len([argv for argv in made if argv == ['configs']]) == 3 + 1 + 4


def test_the_plugin_runs_from_a_copy_in_a_minimal_environment(tmp_path):
    body = ("if action == 'help':\n    open(os.path.join(STATE, 'env'), 'w').write(json.dumps(\n"
            "        {'env': dict(os.environ), 'cwd': os.getcwd(), 'tty': os.isatty(0), 'stdin': sys.stdin.read()}))\n"
            "    open('written-by-plugin', 'w').close()")
    holder = make_plugin(tmp_path, body=body)
    before = sorted(os.listdir(holder))
    _check.check(holder, level='protocol')
    with open(os.path.join(state(holder), 'env')) as handle:
        seen = json.load(handle)
    assert set(seen['env']) - set(['PWD', 'SHLVL', '_', 'LC_CTYPE']) == set(['PATH'])
    assert seen['cwd'] != holder and os.path.basename(seen['cwd']) == 'superprovider'
    assert not os.path.exists(seen['cwd']), 'the sandbox is removed afterwards'
    assert seen['stdin'] == '' and seen['tty'] is False
    assert sorted(os.listdir(holder)) == before, "nothing of the author's is written"


def test_level_static_runs_nothing(tmp_path):
    holder = make_plugin(tmp_path)
    report = validate(_check.check(holder, level='static'))
    assert calls(holder) == []
    assert [entry['level'] for entry in report['checks']] == ['static'] * 5
    assert _check.failed(report) == []


@pytest.mark.parametrize('how', ['missing', 'not-executable', 'link-out'])
def test_a_bad_executable_fails_static_and_nothing_runs(tmp_path, how):
    holder = make_plugin(tmp_path)
    execute = os.path.join(holder, 'bin', 'superprovider')
    if how == 'missing':
        os.remove(execute)
    elif how == 'not-executable':
        os.chmod(execute, 0o644)
    else:
        os.rename(execute, str(tmp_path / 'outside'))
        os.symlink(str(tmp_path / 'outside'), execute)
    report = validate(_check.check(holder))
    assert _check.failed(report) == ['static.executable']
    assert calls(holder) == []
    assert results(report)['protocol.help-schema'] == 'skip'


def test_a_bad_name_fails_static(tmp_path):
    holder = make_plugin(tmp_path, name='super$provider')
    report = validate(_check.check(holder))
    assert _check.failed(report) == ['static.name']
    assert calls(holder) == []


def test_a_config_that_is_a_link_fails_static(tmp_path):
    holder = make_plugin(tmp_path)
    os.makedirs(os.path.join(holder, 'etc'))
    os.symlink('/etc/passwd', os.path.join(holder, 'etc', 'superprovider.conf'))
    assert _check.failed(_check.check(holder, level='static')) == ['static.config']


def _tar(path, folder, arcname, extra=None):
    with tarfile.open(str(path), 'w:gz') as tar:
        tar.add(folder, arcname=arcname)
        if extra:
            tar.add(extra[0], arcname=extra[1])
    return str(path)


def test_an_archive_is_checked_as_install_checks_it(tmp_path):
    holder = make_plugin(tmp_path / 'src')
    good = _tar(tmp_path / 'superprovider.tar.gz', holder, 'superprovider')
    report = validate(_check.check(good))
    assert _check.failed(report) == [] and results(report)['static.archive-safe'] == 'pass'
    assert report['plugin']['name'] == 'superprovider'
    escape = (os.path.join(holder, 'bin', 'superprovider'), '../escape')
    evil = _tar(tmp_path / 'evil.tar.gz', holder, 'superprovider', escape)
    report = validate(_check.check(evil))
    assert _check.failed(report) == ['static.archive-safe']
    assert results(report)['protocol.help-schema'] == 'skip'


def test_a_failure_reproduces_with_its_shell_line(tmp_path):
    holder = make_plugin(tmp_path, body="if action == 'help':\n    print('Welcome'); out(HELP); sys.exit(0)")
    report = _check.check(holder, level='protocol')
    entry = [e for e in report['checks'] if e['id'] == 'protocol.help-schema'][0]
    assert entry['stdout'].startswith('Welcome')
    again = subprocess.run(['/bin/sh', '-c', entry['reproduce']], stdout=subprocess.PIPE, check=False)
    assert again.stdout.decode().startswith('Welcome\n{"options"')


def test_allow_order_places_exactly_one_order_and_follows_it(tmp_path):
    holder = make_plugin(tmp_path)
    report = validate(_check.check(holder, level='order', allow_order=True, config_id='1', max_orders=1,
                                   poll_interval=1))
    assert _check.failed(report) == []
    assert results(report)['order.finished-reply'] == 'pass'
    assert report['ordered'] == ['t1']
    assert [argv for argv in calls(holder) if argv[0] == 'order'] == [['order', '1']]


def test_level_order_without_allow_order_orders_nothing(tmp_path):
    holder = make_plugin(tmp_path)
    report = validate(_check.check(holder, level='order'))
    assert set(results(report)[c.id] for c in CHECKS if c.level == 'order') == set(['skip'])
    assert not [argv for argv in calls(holder) if argv[0] == 'order']


def test_a_finished_reply_without_server_fails(tmp_path):
    holder = make_plugin(tmp_path, body="if action == 'order_status' and args[1:] == ['t1']:\n"
                                        "    out({'task_id': 't1', 'status': 'finished'}); sys.exit(0)")
    report = validate(_check.check(holder, level='order', allow_order=True, config_id='2'))
    assert _check.failed(report) == ['order.finished-reply']
    assert report['ordered'] == ['t1']


def test_waivers(tmp_path):
    banner = make_plugin(tmp_path / 'a', body="if action == 'configs':\n    print('hi'); out(CONFIGS); sys.exit(0)")
    waiver = {'id': 'robust.stdout-only-reply', 'reason': 'the vendor SDK prints a banner'}
    report = validate(_check.check(banner, waivers=[waiver, dict(waiver, id='protocol.configs-schema')]))
    assert _check.failed(report) == []
    assert results(report)['robust.stdout-only-reply'] == 'waived' and report['summary']['waived'] == 2
    # a waiver of a check that passes fails the run: the list only shrinks
    good = make_plugin(tmp_path / 'b')
    report = validate(_check.check(good, waivers=[waiver]))
    assert _check.failed(report) == ['robust.stdout-only-reply']
    for bad in ({'id': 'robust.timing'}, {'id': 'robust.timing', 'reason': ' '}, {'id': 'no.such', 'reason': 'x'}):
        with pytest.raises(_check.UsageError):
            _check.check(good, waivers=[bad])


@pytest.mark.parametrize('options', [dict(level='loud'), dict(repeat=0), dict(timeout=0),
                                     dict(level='order', allow_order=True), dict(config_id='../x')])
def test_usage_errors(tmp_path, options):
    holder = make_plugin(tmp_path)
    with pytest.raises(_check.UsageError):
        _check.check(holder, **options)
    assert calls(holder) == []


def test_a_path_that_is_neither_folder_nor_archive_is_a_usage_error(tmp_path):
    (tmp_path / 'notes.txt').write_text('x')
    for path in (tmp_path / 'missing', tmp_path / 'notes.txt'):
        with pytest.raises(_check.UsageError):
            _check.check(str(path))


def test_the_netns_lab_example_passes_at_robust(tmp_path):
    """Its folder lacks lib/lab.py, which the build vendors: the archive is what authors ship."""
    spec = importlib.util.spec_from_file_location('build_lab_provider', os.path.join(REPO, 'tools', 'demo',
                                                                                     'build_lab_provider.py'))
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    archive = builder.build(str(tmp_path / 'netns_lab.tar.gz'))
    report = validate(_check.check(archive, timeout=30))
    assert _check.failed(report) == [], [e for e in report['checks'] if e['result'] == 'fail']
    assert report['plugin']['name'] == 'netns_lab'


def test_the_docs_list_every_check():
    with open(os.path.join(REPO, 'docs', 'provider-check.md')) as handle:
        text = handle.read()
    for check in CHECKS:
        assert '`%s`' % check.id in text, check.id


def test_the_template_passes_at_robust_without_ordering():
    """The author's starting point passes as it is (the kit works on a copy: the folder stays clean)."""
    template = os.path.join(REPO, 'examples', 'providers', 'template')
    before = sorted(os.listdir(template))
    report = validate(_check.check(template, timeout=30))
    assert _check.failed(report) == [], [e for e in report['checks'] if e['result'] == 'fail']
    assert report['plugin']['name'] == 'template' and report['ordered'] == []
    assert sorted(os.listdir(template)) == before


def test_make_check_runs_the_command_on_the_template(tmp_path):
    command = str(tmp_path / 'bx-provider-check')
    bx_provider_build.build(command, command='bx-provider-check')
    folder = str(tmp_path / 'template')
    shutil.copytree(os.path.join(REPO, 'examples', 'providers', 'template'), folder,
                    ignore=shutil.ignore_patterns('__pycache__', 'var', 'dist'))
    done = subprocess.run(['make', '-C', folder, 'check', 'BX_PROVIDER_CHECK=%s %s' % (sys.executable, command)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
    assert done.returncode == 0, done.stdout.decode()
    assert b'FAIL' not in done.stdout
