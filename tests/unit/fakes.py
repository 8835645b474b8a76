# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake provider plugins: real executables whose behaviour a test writes down.

``make_provider(root, name, replies)`` writes ``<root>/<name>/bin/<name>``,
a Python script that reads ``<holder>/fake.json`` at every call. ``replies``
maps ``"<action>"`` or ``"<action> <argument>"`` (the more precise wins) to
either a JSON-able object (printed as JSON) or ``raw(...)``: the keys
``stdout`` (raw text), ``stderr``, ``rc``, ``sleep``, or ``sequence(...)``:
one reply per call, in order, the last one repeating. In ``stdout`` and in
printed objects, ``{n}`` becomes a per-provider counter (1, 2, ...) that is
bumped under a lock, so concurrent orders get distinct ids. Every call is
appended to ``<holder>/calls.log`` as one JSON line of its argv.

``make_ansible_playbook(folder, rc)`` writes a fake ``ansible-playbook`` for
the pool set-up job; ``playbook_calls`` reads what it was run with and
``finished_jobs`` the job folders once their jobs have ended.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
import sys
import time

SCRIPT_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'integration', 'targets', 'setup_fake_provider', 'files', 'fake_provider.py')

# Owner for installed plugins in tests: the user running them (chown to
# oneself needs no root).
OWNER = dict(owner=pwd.getpwuid(os.getuid()).pw_name, group=grp.getgrgid(os.getgid()).gr_name)

FULL_HELP = {'options': ['help', 'configs', 'order', 'order_status'], 'status': 'enabled'}


def make_provider(root, name, replies=None, help_reply=None, executable=True, config=False):
    """Write a fake provider; returns its holder folder."""
    holder = os.path.join(str(root), name)
    os.makedirs(os.path.join(holder, 'bin'), exist_ok=True)
    set_replies(holder, replies, help_reply)
    path = os.path.join(holder, 'bin', name)
    with open(SCRIPT_FILE) as handle:
        script = handle.read()
    with open(path, 'w') as handle:
        handle.write('#!%s\n%s' % (sys.executable, script))
    os.chmod(path, 0o755 if executable else 0o644)
    if config:
        os.makedirs(os.path.join(holder, 'etc'), exist_ok=True)
        with open(os.path.join(holder, 'etc', name + '.conf'), 'w') as handle:
            handle.write('# fake\n')
    return holder


def set_replies(holder, replies=None, help_reply=None):
    table = {'help': FULL_HELP if help_reply is None else help_reply}
    table.update(replies or {})
    with open(os.path.join(holder, 'fake.json'), 'w') as handle:
        json.dump(table, handle)


def calls(holder):
    """The argv lists the fake was called with, in order."""
    path = os.path.join(holder, 'calls.log')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def tree(top):
    """Every path under ``top`` with its content, but the fakes' own files."""
    result = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            result[os.path.join(folder, name)] = None
        for name in files:
            if name not in ('calls.log', 'counter', 'sequence.json'):
                with open(os.path.join(folder, name), 'rb') as handle:
                    result[os.path.join(folder, name)] = handle.read()
    return result


def raw(stdout='', stderr='', rc=0, sleep=0):
    """A reply given as raw text rather than as an object to print as JSON."""
    return {'__raw__': True, 'stdout': stdout, 'stderr': stderr, 'rc': rc, 'sleep': sleep}


def slow(reply, seconds):
    """``reply`` (an object) printed after ``seconds`` of silence, as a provider
    that calls a cloud API answers."""
    return raw(json.dumps(reply, ensure_ascii=False), sleep=seconds)


def make_script_provider(root, name, script, help_reply=None):
    """A provider whose ``bin/<name>`` is the ``/bin/sh`` ``script`` (for
    misbehaviour a JSON table cannot describe); ``help`` answers
    ``help_reply`` (FULL_HELP by default) unless the script handles it."""
    holder = os.path.join(str(root), name)
    os.makedirs(os.path.join(holder, 'bin'), exist_ok=True)
    path = os.path.join(holder, 'bin', name)
    help_text = json.dumps(FULL_HELP if help_reply is None else help_reply)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n%s\n[ "$1" = help ] && { printf %%s \'%s\'; exit 0; }\n%s\n'
                     % ('# fake provider', help_text, script))
    os.chmod(path, 0o755)
    return holder


CLOUD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cloud_provider.py')


def make_cloud_provider(root, name='cloud', **settings):
    """A fake cloud provider with an order book (``tests/unit/cloud_provider.py``,
    whose docstring lists the ``settings``); returns its holder folder."""
    holder = os.path.join(str(root), name)
    os.makedirs(os.path.join(holder, 'bin'), exist_ok=True)
    set_cloud(holder, **settings)
    with open(CLOUD_FILE) as handle:
        script = handle.read()
    path = os.path.join(holder, 'bin', name)
    with open(path, 'w') as handle:
        handle.write('#!%s\n%s' % (sys.executable, script))
    os.chmod(path, 0o755)
    return holder


def set_cloud(holder, **settings):
    with open(os.path.join(holder, 'cloud.json'), 'w') as handle:
        json.dump(settings, handle)


def cloud_orders(holder):
    """The fake cloud's order book: ``{task_id: {config_id, placed}}``."""
    path = os.path.join(os.path.dirname(holder), os.path.basename(holder) + '.cloud', 'orders.json')
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return json.load(handle)['orders']


def sequence(*replies):
    """Replies given one per call, in order; the last one repeats."""
    return {'__sequence__': list(replies)}


FAKE_PLAYBOOK = '''
import json, os, sys, time
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ansible-playbook.calls'), 'a') as handle:
    handle.write(json.dumps({'argv': sys.argv, 'cwd': os.getcwd()}) + '\\n')
print('PLAY [bitrix-hosts] ****')
sys.stdout.flush()
time.sleep(%r)
sys.stderr.write('fake ansible-playbook ends with %d\\n')
sys.exit(%d)
'''


def make_ansible_playbook(folder, rc=0, sleep=0):
    """A fake ``ansible-playbook`` in ``folder``: records its argv and working
    directory in ``<folder>/ansible-playbook.calls`` (one JSON line per run),
    prints a line, waits ``sleep`` seconds, writes to stderr and exits ``rc``."""
    os.makedirs(str(folder), exist_ok=True)
    path = os.path.join(str(folder), 'ansible-playbook')
    with open(path, 'w') as handle:
        handle.write('#!%s\n%s' % (sys.executable, FAKE_PLAYBOOK % (sleep, rc, rc)))
    os.chmod(path, 0o755)
    return path


def playbook_calls(path):
    """What the fake ``ansible-playbook`` at ``path`` was run with, in order."""
    calls_file = path + '.calls'
    if not os.path.exists(calls_file):
        return []
    with open(calls_file) as handle:
        return [json.loads(line) for line in handle]


def finished_jobs(jobs_dir, seconds=20):
    """``{folder name: {file: content}}`` of the jobs in ``jobs_dir``, once
    every one has written its ``rc``."""
    deadline = time.monotonic() + seconds
    while True:
        names = sorted(os.listdir(jobs_dir))
        if all(os.path.exists(os.path.join(jobs_dir, name, 'rc')) for name in names):
            break
        if time.monotonic() > deadline:
            raise AssertionError('jobs in %s did not end: %s' % (jobs_dir, names))
        time.sleep(0.05)
    jobs = {}
    for name in names:
        folder = os.path.join(jobs_dir, name)
        jobs[name] = {}
        for file_name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, file_name)) as handle:
                jobs[name][file_name] = handle.read()
    return jobs


class RecordingRunner(object):
    """The collection's own runner, keeping every argv and environ_update it ran."""

    def __init__(self):
        self.argvs = []
        self.environs = []

    def __call__(self, argv, **kwargs):
        # Imported here: tests/cli loads this file without the collection on the path.
        from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner
        self.argvs.append(list(argv))
        self.environs.append(dict(kwargs.get('environ_update') or {}))
        return _runner.run(argv, **kwargs)


def add_task(holder, task_id, content=''):
    """A task file as the appliance keeps it (``tasks/`` made when missing)."""
    os.makedirs(os.path.join(holder, 'tasks'), exist_ok=True)
    with open(os.path.join(holder, 'tasks', task_id), 'w') as handle:
        handle.write(content)


class FakeTime(object):
    """A clock that moves only when the code under test sleeps.

    ``clock`` (also ``monotonic``) is the stand-in for a monotonic clock or,
    with ``now`` an epoch time, for ``time.time``.
    """

    def __init__(self, on_sleep=None, now=1000.0):
        self.now = now
        self.sleeps = []
        self.on_sleep = on_sleep

    def clock(self):
        return self.now

    monotonic = clock

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def alive(pid):
    """True while ``pid`` runs (a zombie does not count)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError):
        return False


def wait_gone(pid, seconds=5):
    """True once ``pid`` has ended (or is a zombie), waiting at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)
