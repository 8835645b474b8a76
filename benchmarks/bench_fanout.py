# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fan-out of status calls (``orders_list``, and the status rounds of ``bx_pool``).

Two comparisons, printed as Markdown tables (best of ``--repeat``):

1. ``orders_list`` of TASKS orders from an instant ``/bin/sh`` provider at 8
   workers, against the same TASKS provider runs started by ``xargs -P 8``:
   in a fresh Python (the collection imported, then one call, timed from
   the call) and through ``ansible localhost -m bx_provider_info`` minus an
   ``ansible -m ping`` of the same machine.
2. ``orders_list`` of SLOW orders whose status takes DELAY seconds, through
   ``ansible``, against ``ansible -m ping`` plus SLOW x DELAY / 8.

    python3 benchmarks/bench_fanout.py --ansible .cache/venv-2.19/bin/ansible [--tasks 2000] [--slow 200]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROVIDER = """#!/bin/sh
case "$1" in
  help) echo '{"options":["help","order_status"],"status":"enabled"}' ;;
  order_status) %s echo '{"status":"in_progress"}' ;;
esac
"""
WORKERS = 8
IN_PROCESS = """
import sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.bitrix.bxenv.plugins.module_utils import _provider, _queries
providers = _provider.Providers(sys.argv[2], timeout=60)
started = time.monotonic()
result = _queries.orders_list(providers, 'p', workers=int(sys.argv[3]))
elapsed = time.monotonic() - started
assert len(result['p']) == int(sys.argv[4]), len(result['p'])
print(elapsed)
"""


def provider(root, tasks, delay):
    holder = os.path.join(root, 'p')
    os.makedirs(os.path.join(holder, 'bin'))
    os.makedirs(os.path.join(holder, 'tasks'))
    path = os.path.join(holder, 'bin', 'p')
    with open(path, 'w') as handle:
        handle.write(PROVIDER % ('sleep %s;' % delay if delay else ''))
    os.chmod(path, 0o755)
    for number in range(tasks):
        open(os.path.join(holder, 'tasks', 't%05d' % number), 'w').close()
    return holder


def best(repeat, func):
    return min(func() for dummy in range(repeat))


def timed(argv, **kwargs):
    started = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - started


def xargs(holder, tasks):
    ids = ''.join('t%05d\n' % number for number in range(tasks)).encode()
    started = time.monotonic()
    subprocess.run(['xargs', '-P', str(WORKERS), '-n', '1', os.path.join(holder, 'bin', 'p'), 'order_status'],
                   input=ids, check=True, stdout=subprocess.DEVNULL, cwd=holder)
    return time.monotonic() - started


def in_process(collections, root, tasks):
    out = subprocess.run([sys.executable, '-c', IN_PROCESS, collections, root, str(WORKERS), str(tasks)],
                         check=True, stdout=subprocess.PIPE).stdout
    return float(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ansible', required=True)
    parser.add_argument('--tasks', type=int, default=2000)
    parser.add_argument('--slow', type=int, default=200)
    parser.add_argument('--delay', type=float, default=0.05)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='bench-fanout-')
    try:
        collections = os.path.join(work, 'collections')
        os.makedirs(os.path.join(collections, 'ansible_collections', 'bitrix'))
        os.symlink(REPO, os.path.join(collections, 'ansible_collections', 'bitrix', 'bxenv'))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        fast, slow = os.path.join(work, 'fast'), os.path.join(work, 'slow')
        fast_holder = provider(fast, args.tasks, 0)
        provider(slow, args.slow, args.delay)

        def module(root):
            return timed([args.ansible, 'localhost', '-m', 'bitrix.bxenv.bx_provider_info', '-a',
                          'providers_dir=%s query=orders_list provider=p workers=%d' % (root, WORKERS)], env=env)

        ping = best(args.repeat, lambda: timed([args.ansible, 'localhost', '-m', 'ping'], env=env))
        base = best(args.repeat, lambda: xargs(fast_holder, args.tasks))
        inside = best(args.repeat, lambda: in_process(collections, fast, args.tasks))
        through = best(args.repeat, lambda: module(fast)) - ping
        print('| %d instant orders, %d workers | seconds | ratio to xargs -P %d |' % (args.tasks, WORKERS, WORKERS))
        print('|---|---|---|')
        print('| xargs -P %d | %.2f | 1.00 |' % (WORKERS, base))
        print('| orders_list in a Python process | %.2f | %.2f |' % (inside, inside / base))
        print('| orders_list through ansible, minus ping | %.2f | %.2f |' % (through, through / base))
        ideal = ping + args.slow * args.delay / WORKERS
        measured = best(args.repeat, lambda: module(slow))
        print()
        print('| %d orders at %g s, %d workers | seconds | ratio |' % (args.slow, args.delay, WORKERS))
        print('|---|---|---|')
        print('| ansible -m ping | %.2f | |' % ping)
        print('| ping + %d x %g / %d | %.2f | 1.00 |' % (args.slow, args.delay, WORKERS, ideal))
        print('| orders_list through ansible | %.2f | %.2f |' % (measured, measured / ideal))
    finally:
        shutil.rmtree(work)


if __name__ == '__main__':
    main()
