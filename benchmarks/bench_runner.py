# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process runner: its cost per call, answers kept, memory under a flood.

Four measurements, printed as Markdown tables:

1. Per-call overhead of ``_runner.run`` over the provider's own time: a
   ``/bin/sh`` provider that sleeps DELAY and prints a reply, called N times
   (best and median of wall time minus DELAY).
2. ``orders_list`` over TASKS orders whose status calls take DELAY, through
   the whole ``ansible localhost -m bitrix.bxenv.bx_provider_info`` process,
   for this working tree and for an older git revision (``--before``, default
   the last commit that used ``run_command``), in the same run; and the same
   with a status answer after 1.0 s of silence, counting the answers lost.
3. A reply held open by a child of the provider (``sleep 300 &``): the
   time one call takes with a 60 s timeout.
4. Peak memory (max RSS) of the built ``bx-provider`` command against a
   provider that floods stdout (``yes``), for each ``max_output`` setting.

    python3 benchmarks/bench_runner.py --ansible .cache/venv-2.19/bin/ansible [--before REV]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The last commit whose modules ran providers through run_command + coreutils timeout.
BEFORE = '69f0100'
PROVIDER = """#!/bin/sh
case "$1" in
  help) echo '{"options":["help","configs","order_status"],"status":"enabled"}' ;;
  configs) sleep %(delay)s; printf '{"status":"ok","configurations":[]}' ;;
  order_status) sleep %(delay)s; printf '{"status":"in_progress"}' ;;
esac
"""


def make_provider(root, name, delay, tasks=0):
    holder = os.path.join(root, name)
    os.makedirs(os.path.join(holder, 'bin'))
    path = os.path.join(holder, 'bin', name)
    with open(path, 'w') as handle:
        handle.write(PROVIDER % {'delay': delay})
    os.chmod(path, 0o755)
    os.makedirs(os.path.join(holder, 'tasks'))
    for number in range(tasks):
        open(os.path.join(holder, 'tasks', 't%04d' % number), 'w').close()
    return path


def collection_tree(scratch, label, rev=None):
    """``<scratch>/<label>/ansible_collections/bitrix/bxenv``: the working tree or ``rev``."""
    top = os.path.join(scratch, label)
    dest = os.path.join(top, 'ansible_collections', 'bitrix', 'bxenv')
    os.makedirs(os.path.dirname(dest))
    if rev is None:
        os.symlink(REPO, dest)
    else:
        os.makedirs(dest)
        archive = subprocess.run(['git', '-C', REPO, 'archive', rev], stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(['tar', '-x', '-C', dest], input=archive, check=True)
    return top


def per_call(delay, calls):
    sys.path.insert(0, collection_tree(tempfile.mkdtemp(prefix='bxenv-bench-'), 'tree'))
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner
    scratch = tempfile.mkdtemp(prefix='bxenv-bench-')
    try:
        execute = make_provider(scratch, 'p', delay)
        times = []
        for dummy in range(calls):
            started = time.monotonic()
            result = _runner.run([execute, 'configs'], timeout=30)
            times.append(time.monotonic() - started)
            assert result.stdout == b'{"status":"ok","configurations":[]}', result.stdout
    finally:
        shutil.rmtree(scratch)
    overheads = [(t - delay) * 1000 for t in times]
    print('| provider sleeps | calls | overhead best (ms) | overhead median (ms) |')
    print('|---|---|---|---|')
    print('| %g s | %d | %.1f | %.1f |' % (delay, calls, min(overheads), statistics.median(overheads)))


def orders_list(ansible, tree, root, workers, repeat):
    """Best wall time of ``repeat`` runs and the entries of the last one."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=tree, ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    best, entries = None, None
    for dummy in range(repeat):
        started = time.monotonic()
        proc = subprocess.run([ansible, 'localhost', '-m', 'bitrix.bxenv.bx_provider_info', '-a',
                               'query=orders_list providers_dir=%s workers=%d timeout=30' % (root, workers)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        elapsed = time.monotonic() - started
        text = proc.stdout.decode('utf-8')  # "localhost | SUCCESS => {...}"
        result = json.loads(text[text.index('{'):]) if '{' in text else {'failed': True, 'msg': text}
        if result.get('failed'):
            raise SystemExit('ansible failed: %s' % result.get('msg'))
        entries = result['params']['provider_order_list']['p']
        best = elapsed if best is None else min(best, elapsed)
    return best, entries


def before_after(ansible, before, tasks, delay, workers, repeat):
    scratch = tempfile.mkdtemp(prefix='bxenv-bench-')
    try:
        trees = [('before (%s)' % before, collection_tree(scratch, 'before', before)),
                 ('after (working tree)', collection_tree(scratch, 'after'))]
        print('| tree | orders | status call | workers | best of %d (s) | answers lost |' % repeat)
        print('|---|---|---|---|---|---|')
        for count, seconds, rounds in ((tasks, delay, repeat), (40, 1.0, 1)):
            root = os.path.join(scratch, 'providers-%d-%g' % (count, seconds))
            make_provider(root, 'p', seconds, tasks=count)
            for label, tree in trees:
                took, entries = orders_list(ansible, tree, root, workers, rounds)
                lost = sum(1 for entry in entries.values() if entry.get('status') != 'in_progress')
                print('| %s | %d | %g s | %d | %.2f | %d |' % (label, count, seconds, workers, took, lost))
    finally:
        shutil.rmtree(scratch)


def flood_memory(limits):
    scratch = tempfile.mkdtemp(prefix='bxenv-bench-')
    try:
        holder = os.path.join(scratch, 'providers', 'flood')
        os.makedirs(os.path.join(holder, 'bin'))
        with open(os.path.join(holder, 'bin', 'flood'), 'w') as handle:
            handle.write('#!/bin/sh\n[ "$1" = help ] && { echo \'{"options":["configs"]}\'; exit; }\nexec yes\n')
        os.chmod(os.path.join(holder, 'bin', 'flood'), 0o755)
        print('| max_output | wall (s) | peak RSS of bx-provider (MiB) | result |')
        print('|---|---|---|---|')
        for limit in limits:
            # The command's settings are fixed at build time, never given on its command line.
            command = os.path.join(scratch, 'bx-provider-%d' % limit)
            settings = json.dumps({'providers_dir': os.path.dirname(holder), 'max_output': limit})
            subprocess.run([sys.executable, os.path.join(REPO, 'plugins', 'plugin_utils', 'bx_provider_build.py'),
                            '--output', command, '--settings', settings], check=True, stdout=subprocess.DEVNULL)
            probe = ('import resource, subprocess, sys, time; t = time.monotonic(); '
                     'p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); '
                     'print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, '
                     'p.stdout.decode())')
            out = subprocess.run([sys.executable, '-c', probe, sys.executable, command, '-a', 'configs',
                                  '--provider', 'flood', '-o', 'json'], stdout=subprocess.PIPE, check=True).stdout.decode()
            took, rss, document = out.split(' ', 2)
            message = json.loads(document)['message']
            print('| %d | %.2f | %.1f | %s |' % (limit, float(took), int(rss) / 1024.0, message[message.index('wrote'):]))
    finally:
        shutil.rmtree(scratch)


def held_open(timeout, repeat):
    """A provider that prints its reply and exits, leaving a child on its stdout
    (``sleep 300 &``): how long one call takes (the old runner waited for the
    whole timeout and threw the reply away)."""
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner
    scratch = tempfile.mkdtemp(prefix='bxenv-bench-')
    try:
        path = os.path.join(scratch, 'held')
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\nprintf \'{"task_id": "t1"}\'\nsleep 300 &\n')
        os.chmod(path, 0o755)
        times = []
        for dummy in range(repeat):
            result = _runner.run([path, 'order', '1'], timeout=timeout)
            times.append(result.elapsed)
        print('| timeout | calls | median (s) | reply kept |')
        print('|---|---|---|---|')
        print('| %d s | %d | %.2f | %s |' % (timeout, repeat, statistics.median(times), result.stdout == b'{"task_id": "t1"}'))
    finally:
        shutil.rmtree(scratch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ansible', default=shutil.which('ansible') or 'ansible')
    parser.add_argument('--before', default=BEFORE, help='git revision to compare with')
    parser.add_argument('--tasks', type=int, default=200)
    parser.add_argument('--delay', type=float, default=0.05)
    parser.add_argument('--workers', type=int, default=8)
    parser.add_argument('--calls', type=int, default=200)
    parser.add_argument('--repeat', type=int, default=3, help='best of this many runs')
    opts = parser.parse_args()
    print('## per call\n')
    per_call(opts.delay, opts.calls)
    print('\n## orders_list through ansible\n')
    before_after(opts.ansible, opts.before, opts.tasks, opts.delay, opts.workers, opts.repeat)
    print('\n## a reply held open by a child\n')
    held_open(60, 5)
    print('\n## flood\n')
    flood_memory([1024 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024])


if __name__ == '__main__':
    main()
