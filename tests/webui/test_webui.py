# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The appliance's web interface against the built ``bx-provider``, end to end.

``client.php`` calls the command exactly as the web interface does (a line
through ``escapeshellcmd`` to the stdin of ``/bin/bash``, ``sudo -u root``,
the exit-status gate, ``json_decode``) and prints what it makes of each
answer. Here it walks the web interface's whole story on fake providers that
answer after a second of silence and a fake pool: list, configs, order,
orders_list, add to pool (the set-up job is started and recorded), and a
second add that must be refused.

``sudo`` is a shim on PATH (the tests run as root): it drops ``-u root``,
logs the command line it got and runs the built command in place of
``/opt/webdir/bin/bx-provider``, with this test's folders, on a Python that
has ``jsonschema`` and no ansible-core, as on the appliance.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.cli.conftest import build
from tests.unit.fakes import (
    FULL_HELP, finished_jobs, make_ansible_playbook, make_provider, playbook_calls, set_replies, slow)
from tests.unit.plugins.module_utils.pool_helpers import make_pool

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'client.php')
BX_PROVIDER = '/opt/webdir/bin/bx-provider'
SERVER = '192.0.2.50'
CONFIGS = {'status': 'enabled', 'configurations': [{'id': '1', 'descr': '1 CPU, 1 GB RAM, 20 GB SSD'},
                                                   {'id': '2', 'descr': '2 CPU, 4 GB RAM, 40 GB SSD'}]}
# Every reply comes after a second of silence, as from a cloud API.
LATENCY = 1.0

SUDO = '''#!{python}
"""sudo for the web-interface test: the test runs as root already."""
import json, os, sys
argv = sys.argv[1:]
with open({log!r}, 'a') as handle:
    handle.write(json.dumps(argv) + '\\n')
if argv[:2] == ['-u', 'root']:
    argv = argv[2:]
if argv[:1] != [{bx_provider!r}]:
    sys.exit('sudo (test shim): unexpected command %r' % argv)
environ = dict(os.environ, PATH={path!r})
os.execve({command!r}, [{command!r}] + argv[1:], environ)
'''


def replies(order_status):
    return {'configs': slow(CONFIGS, LATENCY), 'order': slow({'task_id': 'web{n}'}, LATENCY),
            'order_status': slow(order_status, LATENCY)}


@pytest.fixture
def appliance(tmp_path, bare_python):
    """Providers, a pool, a jobs folder, a fake ansible-playbook and the sudo shim."""
    if shutil.which('php') is None:
        pytest.fail('php is not installed: tests/ci/setup.sh installs php-cli')
    root = str(tmp_path / 'providers')
    holder = make_provider(root, 'sp', replies({'status': 'in_progress', 'message': 'creating the server'}),
                           help_reply=slow(FULL_HELP, LATENCY))
    make_provider(root, 'off', help_reply=slow({'options': ['order_status'], 'status': 'disabled'}, LATENCY))
    os.makedirs(os.path.join(root, 'space prov', 'bin'))
    pool = make_pool(tmp_path / 'pool')
    key = os.path.join(pool, 'keys', 'id_ed25519')
    os.makedirs(os.path.dirname(key))
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bxenv-pool', '-f', key], check=True)
    with open(os.path.join(pool, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\ninventory = %s/hosts\nprivate_key_file = %s\n' % (pool, key))
    with open(os.path.join(pool, 'common.yml'), 'w') as handle:
        handle.write('- hosts: bitrix-hosts\n  tasks: []\n')
    jobs = str(tmp_path / 'temp')
    os.makedirs(jobs)
    # The set-up playbook takes a while: the web interface never waits for it.
    playbook = make_ansible_playbook(tmp_path / 'bin', rc=0, sleep=3)
    shim = tmp_path / 'shim'
    shim.mkdir()
    log = str(tmp_path / 'sudo.log')
    # The test's folders are fixed in this build; the line the web interface writes cannot change them.
    command = build(str(tmp_path / 'bx-provider'), {'providers_dir': root, 'pool_dir': pool, 'jobs_dir': jobs,
                                                    'ansible_playbook': playbook})
    with open(str(shim / 'sudo'), 'w') as handle:
        handle.write(SUDO.format(python=sys.executable, log=log, bx_provider=BX_PROVIDER, command=command,
                                 path=bare_python + ':/usr/sbin:/usr/bin:/sbin:/bin'))
    os.chmod(str(shim / 'sudo'), 0o755)
    return {'root': root, 'holder': holder, 'pool': pool, 'jobs': jobs, 'playbook': playbook, 'log': log,
            'path': str(shim) + ':/usr/sbin:/usr/bin:/sbin:/bin'}


def web(appliance, *args):
    """What the web interface makes of one action."""
    proc = subprocess.run(['php', CLIENT] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, env={'PATH': appliance['path'], 'LANG': 'C'},
                          universal_newlines=True, check=False, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, ''), 'the PHP client itself must not fail or warn'
    return json.loads(proc.stdout)


def sudo_lines(appliance):
    with open(appliance['log']) as handle:
        return [json.loads(line) for line in handle]


def task_file(appliance, task_id):
    with open(os.path.join(appliance['holder'], 'tasks', task_id)) as handle:
        return handle.read()


def test_the_web_interface_story(appliance):
    # 1. The providers page: only enabled providers are offered.
    assert web(appliance, 'list') == {'ok': True, 'enabled': ['sp']}

    # 2. The configurations of the chosen provider.
    assert web(appliance, 'configs', 'sp') == {'ok': True, 'configs': [
        {'id': '1', 'descr': '1 CPU, 1 GB RAM, 20 GB SSD', 'types': {'id': 'string', 'descr': 'string'}},
        {'id': '2', 'descr': '2 CPU, 4 GB RAM, 40 GB SSD', 'types': {'id': 'string', 'descr': 'string'}}]}

    # 3. The order.
    assert web(appliance, 'order', 'sp', '2') == {'ok': True, 'task_id': 'web1', 'types': {'task_id': 'string'}}
    assert task_file(appliance, 'web1') == ''

    # 4. The orders page while the server is being made: no "add" button.
    mtime = int(os.stat(os.path.join(appliance['holder'], 'tasks', 'web1')).st_mtime)
    types = {'status': 'string', 'mtime': 'integer', 'error': 'integer', 'message': 'string'}
    view = web(appliance, 'orders_list')
    assert view['orders'] == [{'provider': 'sp', 'task_id': 'web1', 'types': types, 'add_button': False,
                               'date': view['orders'][0]['date'],
                               'values': {'status': 'in_progress', 'mtime': mtime, 'error': 0,
                                          'message': 'creating the server'}}]

    # 5. The provider has made the server: the "add to pool" button shows.
    set_replies(appliance['holder'], replies({'status': 'finished', 'server': SERVER, 'task_id': 'web1'}),
                help_reply=slow(FULL_HELP, LATENCY))
    row = web(appliance, 'orders_list')['orders'][0]
    assert (row['values']['status'], row['add_button']) == ('finished', True)

    # 6. Add to pool: success, and the set-up job is started, not waited for.
    assert web(appliance, 'order_to_host', 'sp', 'web1') == {
        'ok': True, 'document': {'message': 'Server=%s is added to the pool' % SERVER},
        'shown': 'The server is now being added to the pool. It will soon be available.',
        'then': ['bx-monitor -a update']}
    assert task_file(appliance, 'web1') == 'complete: Server=%s is added to the pool' % SERVER
    with open(os.path.join(appliance['pool'], 'hosts')) as handle:
        assert '[bitrix-hosts]\nserver2 ansible_ssh_host=%s\n' % SERVER in handle.read()
    (name,) = os.listdir(appliance['jobs'])
    assert re.match(r'\Acommon_[0-9]{10}\Z', name)
    assert not os.path.exists(os.path.join(appliance['jobs'], name, 'rc')), 'the command did not wait for the job'
    # ... which ends later, and is recorded in the appliance's job format.
    files = finished_jobs(appliance['jobs'])[name]
    common = os.path.join(appliance['pool'], 'common.yml')
    assert files == {'cmd': 'INITIAL_CMD: %s  %s\n' % (appliance['playbook'], common), 'pid': files['pid'],
                     'status': 'PLAY [bitrix-hosts] ****\nfake ansible-playbook ends with 0\n', 'rc': '0\n'}
    assert playbook_calls(appliance['playbook']) == [{'argv': [appliance['playbook'], common],
                                                      'cwd': appliance['pool']}]

    # 7. The orders page shows the order complete, without the button.
    row = web(appliance, 'orders_list')['orders'][0]
    assert (row['values']['status'], row['add_button']) == ('complete', False)

    # 8. A second "add" of the finished order is a failure, not a new success.
    assert web(appliance, 'order_to_host', 'sp', 'web1') == {'ok': False}
    assert len(os.listdir(appliance['jobs'])) == 1 and len(playbook_calls(appliance['playbook'])) == 1

    # What the web interface ran, word for word, after bash and escapeshellcmd.
    head = ['-u', 'root', BX_PROVIDER, '-a']
    assert sudo_lines(appliance) == [
        head + ['list', '-o', 'json'],
        head + ['configs', '--provider', 'sp', '-o', 'json'],
        head + ['order', '--provider', 'sp', '--config_id', '2', '-o', 'json'],
        head + ['orders_list', '-o', 'json'],
        head + ['orders_list', '-o', 'json'],
        head + ['order_to_host', '--provider', 'sp', '--task_id', 'web1', '-o', 'json'],
        head + ['orders_list', '-o', 'json'],
        head + ['order_to_host', '--provider', 'sp', '--task_id', 'web1', '-o', 'json'],
    ]


def test_an_add_without_a_jobs_folder_still_succeeds(appliance):
    """The original did not fail the add when the job could not start; neither does the command."""
    set_replies(appliance['holder'], replies({'status': 'finished', 'server': SERVER}))
    os.makedirs(os.path.join(appliance['holder'], 'tasks'))
    open(os.path.join(appliance['holder'], 'tasks', 'web7'), 'w').close()
    os.rmdir(appliance['jobs'])
    assert web(appliance, 'order_to_host', 'sp', 'web7')['ok'] is True
    assert task_file(appliance, 'web7') == 'complete: Server=%s is added to the pool' % SERVER
    assert playbook_calls(appliance['playbook']) == []


@pytest.mark.parametrize('view, pasted', [
    # A pasted value with spaces becomes more words of the command line: each
    # once reached a setting, a second action or another order.
    (['configs'], 'sp --providers_dir /tmp'),
    (['configs'], 'sp -a uninstall --force'),
    (['configs'], 'sp --ansible_playbook=/tmp/x'),
    (['order', 'sp'], '2 --pool_dir /tmp'),
    (['order_to_host', 'sp'], 'web1 x'),
    (['order_to_host', 'sp'], 'web1 --retry_failed'),
    (['order_to_host', 'sp'], 'web1 -a order_to_host'),
])
def test_pasted_words_are_refused(appliance, view, pasted):
    """docs/protocol.md, difference 16: a refusal the web interface shows as an error; nothing runs."""
    set_replies(appliance['holder'], replies({'status': 'finished', 'server': SERVER}))
    os.makedirs(os.path.join(appliance['holder'], 'tasks'))
    open(os.path.join(appliance['holder'], 'tasks', 'web1'), 'w').close()
    assert web(appliance, *(view + [pasted])) == {'ok': False}
    assert len(sudo_lines(appliance)[-1]) > 6, 'the value reached the command as several words'
    assert os.listdir(os.path.join(appliance['holder'], 'tasks')) == ['web1'] and task_file(appliance, 'web1') == ''
    assert not os.path.exists(os.path.join(appliance['holder'], 'calls.log')), 'no provider call'
    assert os.path.isdir(appliance['holder']) and os.listdir(appliance['jobs']) == []
