# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The documents ``bx-provider -o json`` prints, and secret masking."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MASK = '********'
# docs/protocol.md, difference 13: a reply key is a secret when it contains one
# of these words, in any case. Wide on purpose: hiding a harmless value costs
# a ``reveal_secrets``, showing a key costs the server.
_SECRET_KEY = re.compile(r'pass|pwd|secret|token|credential|api[-_. ]?key|private[-_. ]?key', re.IGNORECASE)


def params_document(kind, data):
    return {'params': {kind: data}}


def message_document(message):
    return {'message': message}


def add_document(result):
    """What bx-provider prints for an ``order_to_host`` AddResult."""
    if result.state == 'pending':
        return params_document('provider_order', {result.name: result.reply})
    return message_document(result.message)


def add_result(run):
    """The module result of an ``_order_to_host.add_order`` run (secrets not masked yet)."""
    added = run.added
    result = dict(run.waited, changed=added.changed, task_id=run.task_id)
    if added.state == 'pending':
        result.update(status=added.reply.get('status'), params=add_document(added)['params'])
        return result
    result.update(status='finished', server=added.server, message=added.message,
                  known_hosts_file=run.known_hosts_file, setup_playbook=run.setup_playbook,
                  pool_key_file=run.pool_key_file)
    extra = (('host', added.host), ('resumed', True if added.state == 'resumed' else None), ('diff', added.diff))
    result.update((key, value) for key, value in extra if value is not None)
    return result


def order_result(outcome, waited, provider, config_id, name=None):
    """The module result of ``_orders.place_and_wait``'s ``(outcome, waited)``
    for an order of ``config_id`` from ``provider`` (secrets not masked yet).

    In check mode, when an order would be placed, ``would_order`` and ``msg`` say which.
    """
    result = dict(waited, changed=outcome.changed)
    if outcome.task_id is None:
        result['would_order'] = {'provider': provider, 'config_id': config_id, 'name': name}
        result['msg'] = 'would order configuration %s of %s%s' % (
            config_id, provider, '' if name is None else ' (name %s)' % name)
    else:
        result.update(task_id=outcome.task_id, params=outcome.params)
    if outcome.order_status is not None:
        result['order_status'] = outcome.order_status
    return result


def is_secret_key(key):
    """True for a key whose value is a secret (``_SECRET_KEY``)."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def mask_secrets(value):
    """A copy of ``value`` with the value of every secret key masked.

    Empty values (None, "") stay as they are: there is nothing to hide.
    """
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            if is_secret_key(key) and item not in (None, ''):
                masked[key] = MASK
            else:
                masked[key] = mask_secrets(item)
        return masked
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def quote_safely(message, value, path=()):
    """``message``, which may quote ``repr(value)`` found at ``path`` (keys and
    indexes) of a reply, with no secret left in it.

    A value under a secret key is quoted as ``MASK``, a value holding secret
    keys as its masked copy; when the quote is not found as expected, the
    message says only that the value was refused.
    """
    secret = any(is_secret_key(key) for key in path) and value not in (None, '')
    shown = MASK if secret else mask_secrets(value)
    if not secret and shown == value:
        return message
    quoted = repr(value)
    if quoted not in message:
        return 'the value (not shown: it holds a secret) was refused'
    return message.replace(quoted, shown if secret else repr(shown))


def to_json(document):
    """Compact, one line, UTF-8 text (not \\u escapes), as the original prints.

    Strict JSON in strict UTF-8: a NaN or Infinity, or a text that UTF-8
    cannot hold (a lone surrogate), raises ValueError instead of being printed.
    """
    text = json.dumps(document, ensure_ascii=False, separators=(',', ':'), sort_keys=True, allow_nan=False)
    try:
        text.encode('utf-8')
    except UnicodeEncodeError as exc:
        raise ValueError('%s at offset %d of the output is not valid Unicode'
                         % (ascii(text[exc.start]), exc.start))
    return text
