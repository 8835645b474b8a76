# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake cloud provider plugin with state: orders are kept in
``<holder>/../<name>.cloud/orders.json`` (outside the provider folder, as a
real cloud keeps them), each ``in_progress`` until ``finish_after`` seconds
after it was placed, then ``finished`` with a TEST-NET address.

Settings in ``<holder>/cloud.json``: ``order_delay`` (seconds an ``order``
call takes), ``status_delay``, ``finish_after``, ``refuse`` (config ids
answered with an error), ``token`` (list ``order_token`` in ``help`` and
return the same order for the same ``BX_ORDER_TOKEN``), ``fail`` (task
ids whose status is ``error``). Every call is appended to
``<holder>/calls.log`` as a JSON line ``{"argv", "token", "pid"}``, and an
``order`` call writes ``<state>/ordering.<pid>`` while it runs. With
``password``, finished orders return it as ``server_password``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import sys
import time

HOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = os.path.basename(HOLDER)
STATE = os.path.join(os.path.dirname(HOLDER), NAME + '.cloud')


def settings():
    with open(os.path.join(HOLDER, 'cloud.json')) as handle:
        return json.load(handle)


def log(argv):
    with open(os.path.join(HOLDER, 'calls.log'), 'a') as handle:
        handle.write(json.dumps({'argv': argv, 'token': os.environ.get('BX_ORDER_TOKEN'), 'pid': os.getpid()}) + '\n')


class Orders(object):
    """The cloud's order book, under an exclusive lock."""

    def __enter__(self):
        if not os.path.isdir(STATE):
            os.makedirs(STATE, exist_ok=True)
        self.lock = open(os.path.join(STATE, 'lock'), 'a')
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        path = os.path.join(STATE, 'orders.json')
        self.book = {'orders': {}, 'tokens': {}}
        if os.path.exists(path):
            with open(path) as handle:
                self.book = json.load(handle)
        return self.book

    def __exit__(self, *exc):
        path = os.path.join(STATE, 'orders.json')
        with open(path + '.tmp', 'w') as handle:
            json.dump(self.book, handle)
        os.rename(path + '.tmp', path)
        self.lock.close()


def reply(document):
    sys.stdout.write(json.dumps(document) + '\n')


def order(conf, config_id):
    marker = os.path.join(STATE, 'ordering.%d' % os.getpid())
    os.makedirs(STATE, exist_ok=True)
    open(marker, 'w').close()
    time.sleep(conf.get('order_delay', 0))
    if config_id in conf.get('refuse', []):
        os.unlink(marker)
        return reply({'error': 3, 'error_message': 'configuration %s is sold out' % config_id})
    token = os.environ.get('BX_ORDER_TOKEN') if conf.get('token') else None
    with Orders() as book:
        if token and token in book['tokens']:
            task_id = book['tokens'][token]
        else:
            task_id = 'T%03d' % (len(book['orders']) + 1)
            book['orders'][task_id] = {'config_id': config_id, 'placed': time.time()}
            if token:
                book['tokens'][token] = task_id
    time.sleep(conf.get('after_order_delay', 0))
    os.unlink(marker)
    reply({'task_id': task_id})


def order_status(conf, task_id):
    time.sleep(conf.get('status_delay', 0))
    with Orders() as book:
        found = book['orders'].get(task_id)
    if found is None:
        return reply({'error': 2, 'error_message': 'no order %s' % task_id})
    if task_id in conf.get('fail', []):
        return reply({'status': 'error', 'message': 'the data centre lost %s' % task_id})
    if time.time() - found['placed'] < conf.get('finish_after', 0):
        return reply({'status': 'in_progress'})
    number = int(task_id[1:])
    finished = {'status': 'finished', 'server': '192.0.2.%d' % (100 + number)}
    if conf.get('password'):
        finished['server_password'] = conf['password']
    return reply(finished)


def main(argv):
    conf = settings()
    log(argv)
    action = argv[0] if argv else ''
    if action == 'help':
        options = ['help', 'configs', 'order', 'order_status'] + (['order_token'] if conf.get('token') else [])
        return reply({'options': options, 'status': 'enabled'})
    if action == 'configs':
        return reply({'configurations': [{'id': 'small'}, {'id': 'large'}]})
    if action == 'order' and len(argv) == 2:
        return order(conf, argv[1])
    if action == 'order_status' and len(argv) == 2:
        return order_status(conf, argv[1])
    return reply({'error': 1, 'error_message': 'unknown action'})


if __name__ == '__main__':
    main(sys.argv[1:])
