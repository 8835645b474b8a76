# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""JSON Schemas of provider replies (docs/protocol.md section 3).

Strict only where the tool depends on a field; every other key passes
through untouched (``additionalProperties`` is never closed). The same
schemas are published as JSON files under ``docs/schemas/`` for provider
authors; a unit test keeps both in sync.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_DRAFT = 'http://json-schema.org/draft-07/schema#'


def _reply(title, properties=None, **rules):
    """A reply schema: a JSON object; ``properties`` typed where given."""
    schema = {'$schema': _DRAFT, 'title': title, 'type': 'object'}
    if properties:
        schema['properties'] = properties
    schema.update(rules)
    return schema


# An error reply: ``error`` set to a positive integer or a string of digits.
# ``0``, ``false`` and ``null`` mean "no error" and are not error replies.
ERROR_REPLY = _reply('error reply', {
    'error': {
        'anyOf': [
            {'type': 'integer', 'minimum': 1},
            {'type': 'string', 'pattern': '^[0-9]*[1-9][0-9]*$'},
        ],
    },
    'error_message': {'type': ['string', 'number']},
}, required=['error'])

HELP = _reply('help reply', {
    'options': {'type': 'array'},
    'status': {'type': ['string', 'null']},
})

CONFIGS = _reply('configs reply')

# ``task_id`` being present and non-empty is checked by the action, with the
# original message; here only its type.
ORDER = _reply('order reply', {'task_id': {'type': ['string', 'integer', 'null']}})

ORDER_STATUS = _reply('order_status reply', {
    'status': {'type': ['string', 'number', 'null']},
    'message': {'type': ['string', 'number', 'null']},
}, **{
    'if': {'properties': {'status': {'const': 'finished'}}, 'required': ['status']},
    'then': {
        'required': ['server'],
        'properties': {
            'server': {'type': 'string', 'minLength': 1},
            'server_password': {'type': ['string', 'number', 'null']},
        },
    },
})

REPLY_SCHEMAS = {
    'help': HELP,
    'configs': CONFIGS,
    'order': ORDER,
    'order_status': ORDER_STATUS,
}
