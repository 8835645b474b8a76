# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time ``bx_pool`` through the whole ``ansible`` process.

A fake cloud provider (tests/unit/cloud_provider.py) whose ``order`` answers
after ORDER seconds and whose orders finish FINISH seconds later; a pool
folder; then ``ansible localhost -m bitrix.bxenv.bx_pool`` for 1 server and
for N servers (with and without slow start; 8 workers, the default, and N),
a re-run of the N (no order call, changed false), and the status calls of N
orders that finish after LONG seconds with ``poll_interval`` POLL (the
budget: N x (LONG/POLL + 2)).
Prints a Markdown table.

    python3 benchmarks/bench_pool.py [--ansible PATH] [--servers 10] [--order 3] [--finish 3]
                                     [--long 120] [--poll 15]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, 'tests', 'unit'), os.path.join(REPO, 'tests', 'unit', 'plugins', 'module_utils')]

from fakes import cloud_orders, make_cloud_provider  # noqa: E402 pylint: disable=wrong-import-position
from pool_helpers import make_pool  # noqa: E402 pylint: disable=wrong-import-position


def collections_path(top):
    """A folder holding ansible_collections/bitrix/bxenv -> this checkout."""
    root = os.path.join(top, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'bitrix'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'bitrix', 'bxenv'))
    return root


def ansible(binary, collections, module, args):
    """``(wall seconds, result)`` of one ad-hoc run (its one-line JSON result)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1')
    argv = [binary, 'localhost', '-o', '-m', module] + (['-a', json.dumps(args)] if args else [])
    started = time.monotonic()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.monotonic() - started
    text = done.stdout.decode()
    try:
        return elapsed, json.loads(text[text.index('=>') + 2:])
    except ValueError:
        raise SystemExit('ansible failed:\n%s\n%s' % (text[-2000:], done.stderr.decode()[-2000:]))


def calls(holder, action):
    with open(os.path.join(holder, 'calls.log')) as handle:
        return sum(1 for line in handle if json.loads(line)['argv'][0] == action)


def world(top, name, **settings):
    root = os.path.join(top, name, 'providers')
    os.makedirs(root)
    holder = make_cloud_provider(root, 'cloud', **settings)
    return root, holder, make_pool(os.path.join(top, name, 'pool'))


def pool_args(root, pool, count, **options):
    servers = [{'name': 'web-%d' % n, 'provider': 'cloud', 'config_id': 'small'} for n in range(1, count + 1)]
    return dict(dict(servers=servers, providers_dir=root, pool_dir=pool), **options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ansible', default=os.path.join(REPO, '.cache', 'venv-2.19', 'bin', 'ansible'))
    parser.add_argument('--servers', type=int, default=10)
    parser.add_argument('--order', type=float, default=3)
    parser.add_argument('--finish', type=float, default=3)
    parser.add_argument('--poll', type=int, default=1, help='poll_interval of the timed runs')
    parser.add_argument('--long', type=float, default=120, help='finish time of the status-call count (0: skip)')
    parser.add_argument('--long-poll', type=int, default=15)
    opts = parser.parse_args()
    top = tempfile.mkdtemp(prefix='bench-pool-')
    collections = collections_path(top)
    rows = []
    ping = ansible(opts.ansible, collections, 'ping', None)[0]
    rows.append(('`ansible -m ping`', '%.2f' % ping, '', ''))
    timed = dict(order_delay=opts.order, finish_after=opts.finish)
    # workers: the default (8), then as many as servers (all orders in one wave)
    for count, slow, workers in ((1, True, 8), (opts.servers, False, 8), (opts.servers, False, opts.servers),
                                 (opts.servers, True, 8)):
        root, holder, pool = world(top, 'n%d-%s-%d' % (count, slow, workers), **timed)
        wall, result = ansible(opts.ansible, collections, 'bitrix.bxenv.bx_pool',
                               pool_args(root, pool, count, poll_interval=opts.poll, slow_start=slow,
                                         workers=workers))
        assert result['summary'].get('added') == count, result
        rows.append(('%d server(s), slow_start=%s, workers=%d' % (count, slow, workers), '%.2f' % wall,
                     '%d order, %d order_status' % (calls(holder, 'order'), calls(holder, 'order_status')),
                     'changed=%s' % result['changed']))
        if count == opts.servers and slow:
            again, result = ansible(opts.ansible, collections, 'bitrix.bxenv.bx_pool', pool_args(root, pool, count))
            rows.append(('re-run of %d' % count, '%.2f' % again,
                         '%d order calls in all, %d orders' % (calls(holder, 'order'), len(cloud_orders(holder))),
                         'changed=%s' % result['changed']))
    if opts.long:
        root, holder, pool = world(top, 'long', finish_after=opts.long)
        wall, result = ansible(opts.ansible, collections, 'bitrix.bxenv.bx_pool',
                               pool_args(root, pool, opts.servers, poll_interval=opts.long_poll, slow_start=False))
        budget = opts.servers * (opts.long / opts.long_poll + 2)
        rows.append(('%d orders finishing after %g s, poll_interval %d' % (opts.servers, opts.long, opts.long_poll),
                     '%.2f' % wall, '%d order_status (budget %d)' % (calls(holder, 'order_status'), budget),
                     'changed=%s' % result['changed']))
    print('| run | wall s | provider calls | result |')
    print('|---|---|---|---|')
    for row in rows:
        print('| %s |' % ' | '.join(row))


if __name__ == '__main__':
    main()
