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

# One check a line: ``id | rule | where in docs/protocol.md``; the level is
# the id's first part, the order the order the checks run and are reported in.
_TABLE = """
static.name              | the plugin name is a valid provider name | section 1, difference 3
static.executable        | bin/<name> is a regular executable file inside the plugin folder | sections 1, 2
static.config            | etc/<name>.conf, when there is one, is a regular file | section 1
static.archive-safe      | the archive passes the checks of install | section 6.8, difference 11
static.no-tasks-writes   | no call writes under tasks/ (the tool owns it) | section 1
protocol.help-schema     | help gives a successful reply valid against schemas/help.json | sections 2, 3
protocol.help-status     | help's status does not make the provider unusable (disabled) | section 2
protocol.configs-schema  | configs gives a successful reply valid against schemas/configs.json | sections 3, 6.3
protocol.config-ids      | configurations is a list of {id, descr} with valid, unique ids | sections 3, 4, difference 3
protocol.configs-stable  | a second configs call gives the same config ids | section 6.3
protocol.unknown-action  | an unknown action gets an error reply {"error": N, "error_message": ...} | section 3 (rule 3.4)
protocol.bad-id          | order_status with an id the tool refuses ('$(touch ...)', '../x') gets an error reply | section 3, difference 3
protocol.unknown-task    | order_status with a task id never ordered gets an error reply | section 6.5
protocol.args-literal    | arguments are taken literally, never run through a shell | section 3, difference 2
robust.utf8              | stdout is UTF-8 | section 3 (reply rules)
robust.stdout-only-reply | stdout holds the reply and nothing else: no banner, BOM, NaN or second document | section 3 (rule 3.2)
robust.reply-depth       | replies nest at most 64 levels | section 3 (reply rules)
robust.output-size       | stdout and stderr stay within the size limit | section 3 (bounded output)
robust.exits-in-time     | every call ends within the timeout | section 3 (timeout), difference 4
robust.releases-stdout   | no background process holds stdout or stderr after the plugin exits | section 3 (grace rule)
robust.ends-on-term      | a call ended by the tool ends on TERM (no KILL needed) | section 3 (timeout)
robust.concurrent        | 8 help/configs calls at once all give valid replies | section 6.1
robust.timing            | each action answers within 5 s (warn) and within the timeout (fail) | section 3 (timeout)
order.place              | order <config_id> gives a task_id that is a valid id | sections 3, 6.4
order.status             | order_status of the new task reaches finished, every reply valid | sections 6.5, 7
order.finished-reply     | the finished reply has server (an IPv4 address or a DNS name) | sections 3, 6.7
"""

CHECKS = tuple(
    Check(fields[0], fields[0].split('.')[0], fields[1], 'docs/protocol.md ' + fields[2])
    for fields in ([field.strip() for field in line.split(' | ')] for line in _TABLE.strip().splitlines()))

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
