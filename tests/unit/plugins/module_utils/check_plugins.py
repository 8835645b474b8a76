# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plugins for the provider check's tests: real executables on this Python.

``make_plugin(folder, name, body)`` writes ``<folder>/<name>/bin/<name>``, a
plugin that answers the protocol well unless ``body`` (Python run first,
with ``action``, ``args``, ``out``, ``error``, ``HELP``, ``CONFIGS`` and
``STATE``, a folder outside the plugin) answers otherwise and exits. Every
call is logged to ``STATE/calls.log`` (one JSON argv a line), which outlives
the check's sandbox copy; orders are numbered in ``STATE/orders``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import textwrap

TEMPLATE = '''#!%(python)s
import json, os, signal, subprocess, sys, time
STATE = %(state)r
args = sys.argv[1:]
action = args[0] if args else ''
with open(os.path.join(STATE, 'calls.log'), 'a') as handle:
    handle.write(json.dumps(args) + '\\n')
HELP = {"options": ["help", "configs", "order", "order_status"], "status": "enabled"}
CONFIGS = {"status": "enabled", "configurations": [{"id": "1", "descr": "one"}, {"id": "2", "descr": "two"}]}


def out(value):
    sys.stdout.write(value if isinstance(value, str) else json.dumps(value))
    sys.stdout.flush()


def error(text):
    out({"error": 1, "error_message": text})


def orders():
    path = os.path.join(STATE, 'orders')
    return int(open(path).read()) if os.path.exists(path) else 0


%(body)s

if action == 'help':
    out(HELP)
elif action == 'configs':
    out(CONFIGS)
elif action == 'order' and len(args) == 2 and args[1] in ('1', '2'):
    number = orders() + 1
    with open(os.path.join(STATE, 'orders'), 'w') as handle:
        handle.write(str(number))
    out({"task_id": "t%%d" %% number})
elif action == 'order_status' and len(args) == 2 and args[1] == 't%%d' %% orders() and orders():
    seen = os.path.join(STATE, 'polled')
    if os.path.exists(seen):
        out({"task_id": args[1], "status": "finished", "server": "192.0.2.10", "server_password": "pw"})
    else:
        open(seen, 'w').close()
        out({"task_id": args[1], "status": "in_progress"})
elif action == 'order_status':
    error('no such order')
else:
    error('unknown action %%r' %% action)
sys.exit(0)
'''


def make_plugin(folder, name='superprovider', body=''):
    """Write the plugin; returns its folder. Its state folder is ``<folder>/<name>.state``."""
    holder = os.path.join(str(folder), name)
    state = os.path.join(str(folder), name + '.state')
    os.makedirs(os.path.join(holder, 'bin'), exist_ok=True)
    os.makedirs(state, exist_ok=True)
    path = os.path.join(holder, 'bin', name)
    with open(path, 'w') as handle:
        handle.write(TEMPLATE % dict(python=sys.executable, state=state, body=textwrap.dedent(body)))
    os.chmod(path, 0o755)
    return holder


def state(holder):
    return holder + '.state'


def calls(holder):
    path = os.path.join(state(holder), 'calls.log')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def pids(holder):
    """Pids the plugin wrote to ``STATE/pids`` (one a line)."""
    path = os.path.join(state(holder), 'pids')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [int(line) for line in handle if line.strip()]
