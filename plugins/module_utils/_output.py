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
_SECRET_KEY = re.compile('password', re.IGNORECASE)


def params_document(kind, data):
    return {'params': {kind: data}}


def message_document(message):
    return {'message': message}


def add_document(result):
    """What bx-provider prints for an ``order_to_host`` AddResult."""
    if result.state == 'pending':
        return params_document('provider_order', {result.name: result.reply})
    return message_document(result.message)


def mask_secrets(value):
    """A copy of ``value`` with every key matching /password/i masked.

    Empty values (None, "") stay as they are: there is nothing to hide.
    """
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            if isinstance(key, str) and _SECRET_KEY.search(key) and item not in (None, ''):
                masked[key] = MASK
            else:
                masked[key] = mask_secrets(item)
        return masked
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def to_json(document):
    """Compact, one line, UTF-8 text (not \\u escapes), as the original prints.

    Strict JSON: a NaN or Infinity raises ValueError instead of being printed.
    """
    return json.dumps(document, ensure_ascii=False, separators=(',', ':'), sort_keys=True, allow_nan=False)
