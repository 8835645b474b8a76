# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time ``list`` and ``orders_list`` through the whole ``ansible`` process.

Builds N providers whose ``help`` takes DELAY seconds, and one provider with
M task files whose ``order_status`` takes DELAY seconds (providers are tiny
``/bin/sh`` scripts so the delay, not interpreter start-up, is the cost),
then runs ``ansible localhost -m bitrix.bxenv.bx_provider_info`` with each
worker count and prints a Markdown table beside the sequential bound
(calls x delay) and the ideal (bound / workers).

    python3 benchmarks/bench_parallel.py [--ansible PATH] [--providers 50] [--tasks 200]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import shutil
import subprocess
import tempfile
import time

PROVIDER = """#!/bin/sh
case "$1" in
  help) sleep %(help)s; echo '{"options":["help","order_status"],"status":"enabled"}' ;;
  order_status) sleep %(status)s; echo '{"status":"in_progress"}' ;;
esac
"""


def make_provider(root, name, help_delay, status_delay, tasks=0):
    holder = os.path.join(root, name)
    os.makedirs(os.path.join(holder, 'bin'))
    path = os.path.join(holder, 'bin', name)
    with open(path, 'w') as handle:
        handle.write(PROVIDER % {'help': help_delay, 'status': status_delay})
    os.chmod(path, 0o755)
    if tasks:
        os.makedirs(os.path.join(holder, 'tasks'))
        for number in range(tasks):
            open(os.path.join(holder, 'tasks', 't%04d' % number), 'w').close()


def run(ansible, collections, args, repeat):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    best = None
    for dummy in range(repeat):
        started = time.monotonic()
        proc = subprocess.run([ansible, 'localhost', '-m', 'bitrix.bxenv.bx_provider_info', '-a', args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit('ansible failed:\n' + proc.stdout.decode())
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ansible', default=shutil.which('ansible') or 'ansible')
    parser.add_argument('--providers', type=int, default=50)
    parser.add_argument('--tasks', type=int, default=200)
    parser.add_argument('--delay', type=float, default=0.05)
    parser.add_argument('--workers', default='1,8,32')
    parser.add_argument('--repeat', type=int, default=3, help='best of this many runs')
    opts = parser.parse_args()

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = tempfile.mkdtemp(prefix='bxenv-bench-')
    try:
        collections = os.path.join(scratch, 'collections')
        os.makedirs(os.path.join(collections, 'ansible_collections', 'bitrix'))
        os.symlink(repo, os.path.join(collections, 'ansible_collections', 'bitrix', 'bxenv'))
        many = os.path.join(scratch, 'many')
        for number in range(opts.providers):
            make_provider(many, 'p%03d' % number, opts.delay, 0)
        one = os.path.join(scratch, 'one')
        make_provider(one, 'superprovider', 0, opts.delay, tasks=opts.tasks)
        empty = os.path.join(scratch, 'empty')
        os.makedirs(empty)

        base = run(opts.ansible, collections, 'providers_dir=%s' % empty, opts.repeat)
        print('ansible start-up with no providers: %.2f s (included in every figure below)\n' % base)
        print('| query | calls | workers | time (s) | sequential bound (s) | ideal (s) |')
        print('|---|---|---|---|---|---|')
        cases = [('list', many, opts.providers), ('orders_list', one, opts.tasks)]
        for query, root, calls in cases:
            bound = calls * opts.delay
            for workers in [int(w) for w in opts.workers.split(',')]:
                args = 'query=%s providers_dir=%s workers=%d' % (query, root, workers)
                elapsed = run(opts.ansible, collections, args, opts.repeat)
                print('| %s | %d x %.0f ms | %d | %.2f | %.2f | %.2f |'
                      % (query, calls, opts.delay * 1000, workers, elapsed, bound, bound / workers))
    finally:
        shutil.rmtree(scratch)


if __name__ == '__main__':
    main()
