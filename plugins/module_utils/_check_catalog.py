# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The checks of the provider author kit (``bx_provider_check``): id, level,
rule and the part of docs/protocol.md each one enforces.

The ids are stable: waivers and docs/provider-check.md name them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

LEVELS = ('static', 'protocol', 'robust', 'order')
RESULTS = ('pass', 'fail', 'warn', 'skip', 'waived')

Check = collections.namedtuple('Check', 'id level rule reference')

_P = 'docs/protocol.md '

CHECKS = (
    Check('static.name', 'static', 'the plugin name is a valid provider name', _P + 'section 1, difference 3'),
    Check('static.executable', 'static', 'bin/<name> is a regular executable file inside the plugin folder',
          _P + 'sections 1, 2'),
    Check('static.config', 'static', 'etc/<name>.conf, when there is one, is a regular file', _P + 'section 1'),
    Check('static.archive-safe', 'static', 'the archive passes the checks of install', _P + 'section 6.8, difference 11'),
    Check('static.no-tasks-writes', 'static', 'no call writes under tasks/ (the tool owns it)', _P + 'section 1'),
    Check('protocol.help-schema', 'protocol', 'help gives a successful reply valid against schemas/help.json',
          _P + 'sections 2, 3'),
    Check('protocol.help-status', 'protocol', "help's status does not make the provider unusable (disabled)",
          _P + 'section 2'),
    Check('protocol.configs-schema', 'protocol', 'configs gives a successful reply valid against schemas/configs.json',
          _P + 'sections 3, 6.3'),
    Check('protocol.config-ids', 'protocol', 'configurations is a list of {id, descr} with valid, unique ids',
          _P + 'sections 3, 4, difference 3'),
    Check('protocol.configs-stable', 'protocol', 'a second configs call gives the same config ids', _P + 'section 6.3'),
    Check('protocol.unknown-action', 'protocol', 'an unknown action gets an error reply {"error": N, "error_message": ...}',
          _P + 'section 3 (rule 3.4)'),
    Check('protocol.bad-id', 'protocol', "order_status with an id the tool refuses ('$(touch ...)', '../x') gets an error reply",
          _P + 'section 3, difference 3'),
    Check('protocol.unknown-task', 'protocol', 'order_status with a task id never ordered gets an error reply',
          _P + 'section 6.5'),
    Check('protocol.args-literal', 'protocol', 'arguments are taken literally, never run through a shell',
          _P + 'section 3, difference 2'),
    Check('robust.utf8', 'robust', 'stdout is UTF-8', _P + 'section 3 (reply rules)'),
    Check('robust.stdout-only-reply', 'robust', 'stdout holds the reply and nothing else: no banner, BOM, NaN or second document',
          _P + 'section 3 (rule 3.2)'),
    Check('robust.reply-depth', 'robust', 'replies nest at most 64 levels', _P + 'section 3 (reply rules)'),
    Check('robust.output-size', 'robust', 'stdout and stderr stay within the size limit', _P + 'section 3 (bounded output)'),
    Check('robust.exits-in-time', 'robust', 'every call ends within the timeout', _P + 'section 3 (timeout), difference 4'),
    Check('robust.releases-stdout', 'robust', 'no background process holds stdout or stderr after the plugin exits',
          _P + 'section 3 (grace rule)'),
    Check('robust.ends-on-term', 'robust', 'a call ended by the tool ends on TERM (no KILL needed)',
          _P + 'section 3 (timeout)'),
    Check('robust.concurrent', 'robust', '8 help/configs calls at once all give valid replies', _P + 'section 6.1'),
    Check('robust.timing', 'robust', 'each action answers within 5 s (warn) and within the timeout (fail)',
          _P + 'section 3 (timeout)'),
    Check('order.place', 'order', 'order <config_id> gives a task_id that is a valid id', _P + 'sections 3, 6.4'),
    Check('order.status', 'order', 'order_status of the new task reaches finished, every reply valid',
          _P + 'sections 6.5, 7'),
    Check('order.finished-reply', 'order', 'the finished reply has server (an IPv4 address or a DNS name)',
          _P + 'sections 3, 6.7'),
)

BY_ID = dict((check.id, check) for check in CHECKS)


def up_to(level):
    """The checks of ``level`` and the levels below it, in catalogue order."""
    rank = LEVELS.index(level)
    return [check for check in CHECKS if LEVELS.index(check.level) <= rank]


_COUNT = {'type': 'integer', 'minimum': 0}
_TEXT = {'type': 'string'}

# The report of a check, published as docs/schemas/check-report.json (a unit
# test keeps both the same and validates reports against it).
REPORT_SCHEMA = {
    '$schema': 'http://json-schema.org/draft-07/schema#',
    'title': 'bx_provider_check report',
    'type': 'object',
    'required': ['checks', 'summary', 'ordered', 'plugin', 'level'],
    'additionalProperties': False,
    'properties': {
        'level': {'enum': list(LEVELS)},
        'plugin': {'type': 'object', 'required': ['name', 'path'], 'additionalProperties': False,
                   'properties': {'name': _TEXT, 'path': _TEXT}},
        'ordered': {'type': 'array', 'items': _TEXT},
        'summary': {'type': 'object', 'required': list(RESULTS), 'additionalProperties': False,
                    'properties': dict((result, _COUNT) for result in RESULTS)},
        'checks': {'type': 'array', 'items': {
            'type': 'object',
            'required': ['id', 'level', 'result', 'rule', 'message', 'reference'],
            'additionalProperties': False,
            'properties': {
                'id': {'enum': [check.id for check in CHECKS]},
                'level': {'enum': list(LEVELS)},
                'result': {'enum': list(RESULTS)},
                'rule': _TEXT,
                'message': _TEXT,
                'reference': _TEXT,
                'waiver': _TEXT,
                'argv': {'type': 'array', 'items': _TEXT},
                'rc': {'type': ['integer', 'null']},
                'duration': {'type': 'number', 'minimum': 0},
                'stdout': _TEXT,
                'stderr': _TEXT,
                'reproduce': _TEXT,
            },
        }},
    },
}
