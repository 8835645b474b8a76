# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection under ansible-runner, the way AWX runs a job.

A private data dir (project/, inventory/, env/) runs the collection's own
example playbook, taken from the installed tarball, against a fake provider
that returns a known server password. The job events are what AWX stores and
shows: they must carry the results, and never the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shutil
import sys

import yaml

from .conftest import eco_bin, install_fake_provider, provider_calls, run

SECRET = 'Runner-S3cret-Pa55-9f1c'
IDENT = 'bxenv-job-1'


def write_yaml(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        yaml.safe_dump(data, handle)


def test_example_playbook_under_ansible_runner(install, tmp_path):
    colls, env, root = install('eco')
    installed = os.path.join(colls, 'ansible_collections', 'bitrix', 'bxenv')
    providers = str(tmp_path / 'providers')
    holder = install_fake_provider(providers, 'superprovider', {
        'help': {'options': ['help', 'configs', 'order', 'order_status'], 'status': 'enabled'},
        'configs': {'status': 'enabled', 'configurations': [{'id': '2', 'descr': '2 CPU, 4 GB RAM'}]},
        'order 2': {'task_id': '5001'},
        'order_status 5001': {'__sequence__': [
            {'task_id': '5001', 'status': 'in_progress'},
            {'task_id': '5001', 'status': 'finished', 'server': '192.0.2.50', 'server_password': SECRET},
        ]},
    })

    pdd = tmp_path / 'job'
    os.makedirs(str(pdd / 'project'))
    shutil.copy(os.path.join(installed, 'examples', 'use-module-defaults-group.yml'), str(pdd / 'project'))
    os.makedirs(str(pdd / 'inventory'))
    (pdd / 'inventory' / 'hosts').write_text(
        'appliance ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    write_yaml(str(pdd / 'env' / 'envvars'), {
        'ANSIBLE_COLLECTIONS_PATH': colls,
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
    })
    write_yaml(str(pdd / 'env' / 'extravars'), {
        'bx_providers_dir': providers,
        'bx_provider': 'superprovider',
        'bx_config_id': '2',
        'bx_order_name': 'web-02',
        'bx_poll_interval': 1,
    })

    proc = run([os.path.join(eco_bin(), 'ansible-runner'), 'run', str(pdd), '-p', 'use-module-defaults-group.yml',
                '--ident', IDENT], env=env, cwd=str(tmp_path), check=False)
    artifacts = pdd / 'artifacts' / IDENT
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (artifacts / 'rc').read_text().strip() == '0'
    assert (artifacts / 'status').read_text().strip() == 'successful'

    events = []
    for path in sorted(glob.glob(str(artifacts / 'job_events' / '*.json'))):
        with open(path) as handle:
            events.append(json.load(handle))
    assert events
    ok = dict((event['event_data']['task'], event['event_data']['res']) for event in events
              if event['event'] == 'runner_on_ok')
    skipped = [event['event_data']['task'] for event in events if event['event'] == 'runner_on_skipped']
    assert not [event for event in events if event['event'] in ('runner_on_failed', 'runner_on_unreachable')]
    assert skipped == []

    assert ok['List the provider plugins']['params'] == {'providers': {'superprovider': {'status': 'enabled'}}}
    assert ok['Get the server configurations of the chosen provider']['params']['provider_configs'] == {
        'superprovider': {'status': 'enabled', 'configurations': [{'id': '2', 'descr': '2 CPU, 4 GB RAM'}]}}
    order = ok['Order a server and wait until it is ready']
    assert order['changed'] is True and order['task_id'] == '5001' and order['polls'] >= 2
    assert order['order_status'] == {
        'task_id': '5001', 'status': 'finished', 'server': '192.0.2.50', 'server_password': '********'}
    orders = ok['List the orders placed from this appliance']['params']['provider_order_list']
    assert orders['superprovider']['5001']['status'] == 'finished'
    stats = [event for event in events if event['event'] == 'playbook_on_stats'][0]['event_data']
    assert stats['failures'] == {} and stats['ok'] == {'appliance': 8}

    # The provider really handed out the secret; nothing the job kept shows it.
    assert ['order_status', '5001'] in provider_calls(holder)
    leaks = []
    for folder, dummy, files in os.walk(str(pdd)):
        for name in files:
            with open(os.path.join(folder, name), 'rb') as handle:
                if SECRET.encode() in handle.read():
                    leaks.append(os.path.join(folder, name))
    assert not leaks, 'server_password leaked into %s' % leaks
    assert SECRET not in proc.stdout + proc.stderr
