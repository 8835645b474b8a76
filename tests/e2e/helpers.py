# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netns_lab plugin built from source, sandbox appliances, ansible runs.

Everything is real: the plugin archive comes from
``tools/demo/build_lab_provider.py``, the sandbox from
``tools/demo/sandbox.py``, and ansible is the one beside this Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
PROVIDER = 'netns_lab'
BUILD = os.path.join(REPO, 'tools', 'demo', 'build_lab_provider.py')
SANDBOX = os.path.join(REPO, 'tools', 'demo', 'sandbox.py')
DEMO = os.path.join(REPO, 'tools', 'demo', 'demo.sh')
BIN = os.path.dirname(sys.executable)


def build_archive(path):
    subprocess.run([sys.executable, BUILD, '--output', str(path)], check=True, stdout=subprocess.DEVNULL)
    return str(path)


def extract(archive, root):
    """Install the plugin the plain way (unpack); returns its folder."""
    os.makedirs(str(root), exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            assert not member.name.startswith('/') and '..' not in member.name.split('/')
        tar.extractall(str(root))
    return os.path.join(str(root), PROVIDER)


def set_boot_delay(holder, seconds):
    path = os.path.join(holder, 'etc', PROVIDER + '.conf')
    with open(path) as handle:
        text = handle.read()
    with open(path, 'w') as handle:
        handle.write(re.sub(r'(?m)^boot_delay =.*$', 'boot_delay = %s' % seconds, text))


def plugin(holder, *args):
    """Run the plugin's executable; returns (rc, reply as a dict)."""
    proc = subprocess.run([os.path.join(holder, 'bin', PROVIDER)] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.stdout.count('\n') == 1, (proc.stdout, proc.stderr)
    return proc.returncode, json.loads(proc.stdout)


def netns_names():
    out = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return set(line.split()[0] for line in out.splitlines() if line.strip())


def our_namespaces(holder):
    """Namespaces this install's orders were given."""
    unused, reply = plugin(holder, 'list')
    return set(o['namespace'] for o in reply['orders'] if o['namespace'])


def destroy_all(holder):
    """Tear down every lab host of the install; assert none of its namespaces is left."""
    if not os.path.exists(os.path.join(holder, 'bin', PROVIDER)):
        return
    ours = our_namespaces(holder)
    rc, reply = plugin(holder, 'destroy-all')
    assert rc == 0, reply
    assert not ours & netns_names()


def wait_finished(call, task_id, deadline=120):
    """Poll ``call(task_id)`` until the status is not in_progress (bounded)."""
    end = time.time() + deadline
    while True:
        reply = call(task_id)
        if reply.get('status') != 'in_progress' or time.time() > end:
            return reply
        time.sleep(0.2)


def sandbox(root):
    """A sandbox appliance (see tools/demo/sandbox.py); returns its layout."""
    out = subprocess.run([sys.executable, SANDBOX, str(root)], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return json.loads(out)


def ansible_env(layout):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=layout['ansible_cfg'], ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(layout['root'], 'ansible-tmp'),
               PATH=BIN + os.pathsep + env.get('PATH', ''))
    return env


def run(layout, argv, timeout=600):
    """Run an ansible command in the sandbox; CompletedProcess with text stdout (stderr merged)."""
    return subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]), env=ansible_env(layout),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=False)


def module(layout, module_name, **args):
    """Run one collection module on localhost; returns (rc, result dict)."""
    proc = run(layout, ['ansible', 'localhost', '-m', 'bitrix.bxenv.' + module_name, '-a', json.dumps(args)])
    text = proc.stdout
    return proc.returncode, json.loads(text[text.index('{', text.index(' => ')):])


def install(layout, archive):
    rc, result = module(layout, 'bx_provider_plugin', name=PROVIDER, src=archive,
                        providers_dir=layout['providers_dir'], owner='root', group='root')
    assert rc == 0, result
    return os.path.join(layout['providers_dir'], PROVIDER)


def add_to_pool(layout, *extra, **options):
    argv = ['ansible-playbook', 'bitrix.bxenv.add_to_pool', '-e', 'bx_provider=' + PROVIDER,
            '-e', 'bx_providers_dir=' + layout['providers_dir'], '-e', 'bx_pool_dir=' + layout['pool_dir'],
            '-e', 'bx_poll_interval=1', '-e', 'bx_wait_timeout=120',
            # the key copy logs in the sandbox, never in the host's /opt/webdir/logs
            '-e', 'bx_ssh_log_file=' + layout['ssh_log_file']]
    if options.get('check'):
        argv.append('--check')
    for item in extra:
        argv += ['-e', item]
    return run(layout, argv)


def pool(layout, servers, *extra, **options):
    """Run the playbook bitrix.bxenv.pool with ``servers`` (``bx_pool_servers``)."""
    variables = {'bx_pool_servers': servers, 'bx_providers_dir': layout['providers_dir'],
                 'bx_pool_dir': layout['pool_dir'], 'bx_poll_interval': 1, 'bx_wait_timeout': 180,
                 # the key copy logs in the sandbox, never in the host's /opt/webdir/logs
                 'bx_ssh_log_file': layout['ssh_log_file']}
    argv = ['ansible-playbook', 'bitrix.bxenv.pool', '-e', json.dumps(variables)]
    if options.get('check'):
        argv.append('--check')
    for item in extra:
        argv += ['-e', item]
    return run(layout, argv)


def recap(output):
    """``{host: {ok: n, changed: n, ...}}`` from a PLAY RECAP."""
    hosts = {}
    for name, counts in re.findall(r'(?m)^(\S+)\s+:\s+(ok=\d+.*)$', output):
        hosts[name] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', counts))
    return hosts


def close_masters(layout):
    """Ask the sandbox's ssh connection masters to exit; remove their folder when it is outside the sandbox."""
    folder = layout['control_dir']
    if not os.path.isdir(folder):
        return
    for entry in os.listdir(folder):
        subprocess.run(['ssh', '-F', '/dev/null', '-o', 'ControlPath=' + os.path.join(folder, entry), '-O', 'exit',
                        'x'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    if not folder.startswith(layout['root'] + os.sep):
        shutil.rmtree(folder, ignore_errors=True)
