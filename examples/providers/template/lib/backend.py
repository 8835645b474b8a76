# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake backend: what is sold and how an order goes. Replace this file.

A real plugin calls its hosting company's API here; this one keeps its
"cloud" in the plugin's data file, so it needs no network and no root. An
order is ``in_progress`` for ``order_seconds`` (etc/<name>.conf), then
``finished`` with a server address from 192.0.2.0/24 (TEST-NET-1, RFC 5737:
never a real host) and a root password made when it was ordered.

The four functions ``bxprovider.py`` calls, and their contract:

* ``SETTINGS``: the backend's keys in etc/<name>.conf, ``{key: (default
  text, parse)}``; ``parse`` raises ValueError for a bad value;
* ``configurations(settings)``: the list of ``{"id", "descr"}`` to sell;
* ``place_order(settings, data, config_id, token)``: place one order and
  return its task id (1-128 of ``A-Z a-z 0-9 . _ -``). Called under the data
  file's exclusive lock; ``data`` is the stored document (keep what you need
  in it; it is saved after the call). ``token`` is the caller's
  ``BX_ORDER_TOKEN`` or None: give it to your API as its idempotency key when
  it has one;
* ``order_status(settings, data, task_id, now)``: the order's reply without
  ``task_id`` (``status``, and for ``finished`` ``server`` and
  ``server_password``), or None for an order this provider does not know.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import time

FIRST_TASK_ID = 1001
PLANS = [
    {'id': '1', 'descr': 'template-small: 1 CPU, 1 GB RAM, 20 GB SSD (fake)'},
    {'id': '2', 'descr': 'template-medium: 2 CPU, 4 GB RAM, 40 GB SSD (fake)'},
    {'id': '3', 'descr': 'template-large: 4 CPU, 8 GB RAM, 80 GB SSD (fake)'},
]


def seconds(text):
    value = float(text)
    if not 0 <= value <= 86400:
        raise ValueError('a number of seconds from 0 to 86400, not %r' % text)
    return value


SETTINGS = {'order_seconds': ('60', seconds)}


def configurations(settings):
    return [dict(plan) for plan in PLANS]


def place_order(settings, data, config_id, token):
    number = max([FIRST_TASK_ID - 1] + [int(task_id) for task_id in data['orders']]) + 1
    task_id = str(number)
    data['orders'][task_id] = {
        'config_id': config_id,
        'ready_at': time.time() + settings['order_seconds'],
        'server': '192.0.2.%d' % (1 + number % 254),
        'server_password': secrets.token_urlsafe(12),
    }
    return task_id


def order_status(settings, data, task_id, now):
    order = data['orders'].get(task_id)
    if order is None:
        return None
    reply = {'config_id': order['config_id']}
    left = order['ready_at'] - now
    if left > 0:
        reply.update(status='in_progress', message='the server is being built; ready in %d s' % (left + 0.999))
    else:
        reply.update(status='finished', message='the server is ready', server=order['server'],
                     server_password=order['server_password'])
    return reply
