# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The ``bx-provider-check`` command line: options, text and JSON output, exit status.

Exit status: 0 every check passed (warnings and skips are fine), 1 a check
failed, 2 a usage error or a path that cannot be checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json

from ansible_collections.bitrix.bxenv.plugins.module_utils import _check, _files
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_catalog import LEVELS, RESULTS
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import DEFAULT_TIMEOUT, HAS_JSONSCHEMA

PROG = 'bx-provider-check'
MAX_WAIVERS_FILE = 1024 * 1024
_DETAILS = ('argv', 'rc', 'duration', 'stdout', 'stderr')


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Usage(message)


def parser():
    found = _Parser(prog=PROG, add_help=False,
                    description='Check that a provider plugin (a folder or an archive) works with the bitrix.bxenv collection.')
    found.add_argument('path', help='the plugin folder <name>/ or its archive (.tar.gz, .tgz, .tar.bz2, .tar.xz, .zip)')
    found.add_argument('--level', choices=LEVELS, default=_check.DEFAULT_LEVEL,
                       help='how far to check (default %(default)s; only order places an order)')
    found.add_argument('--format', choices=('text', 'json'), default='text', help='output format (default %(default)s)')
    found.add_argument('--allow-order', action='store_true', help='with --level order: place a real order')
    found.add_argument('--config-id', help='the configuration to order (with --allow-order)')
    found.add_argument('--max-orders', type=int, default=_check.DEFAULT_MAX_ORDERS,
                       help='most orders the check may place (default %(default)s)')
    found.add_argument('--repeat', type=int, default=_check.DEFAULT_REPEAT,
                       help='calls of each action for the timing (default %(default)s)')
    found.add_argument('--timeout', type=int, default=DEFAULT_TIMEOUT, help='seconds per call (default %(default)s)')
    found.add_argument('--wait-timeout', type=int, default=_check.DEFAULT_WAIT_TIMEOUT,
                       help='seconds to wait for an order to finish (default %(default)s)')
    found.add_argument('--poll-interval', type=int, default=_check.DEFAULT_POLL_INTERVAL,
                       help='seconds between order_status calls (default %(default)s)')
    found.add_argument('-h', '--help', action='store_true', help='print this text')
    found.add_argument('--waivers', metavar='FILE', help='JSON file: a list of {"id": CHECK, "reason": TEXT}')
    return found


def _load_waivers(path):
    try:
        data = _files.read_file(path, MAX_WAIVERS_FILE)
        return json.loads(data.decode('utf-8'))
    except (OSError, _files.UnsafeFile, ValueError) as exc:
        raise BxError('bxenv: cannot read the waivers file %s: %s' % (path, getattr(exc, 'message', exc)))


def text_lines(report):
    """The report as text: ordered task ids, one line per check (failures
    with their details), the summary."""
    lines = ['ORDERED %s' % task_id for task_id in report['ordered']]
    for entry in report['checks']:
        lines.append('%-6s %s  %s' % (entry['result'].upper(), entry['id'], entry['rule']))
        if entry['result'] in ('fail', 'warn', 'waived', 'skip'):
            lines.append('       %s' % entry['message'])
            if entry.get('waiver'):
                lines.append('       waiver: %s' % entry['waiver'])
        if entry['result'] == 'fail':
            for key in _DETAILS:
                if key in entry:
                    value = entry[key]
                    value = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                    lines.append('       %s: %s' % (key, value.replace('\n', '\n         ')))
            if 'reproduce' in entry:
                lines.append('       reproduce: %s' % entry['reproduce'])
            lines.append('       see %s' % entry['reference'])
    summary = report['summary']
    lines.append('%s: %s' % (report['plugin']['name'], ', '.join('%d %s' % (summary[r], r) for r in RESULTS)))
    return lines


def main(argv, stdout, stderr):
    """Run the command; returns its exit status."""
    if '-h' in argv or '--help' in argv:
        stdout.write(parser().format_help())
        return 0
    try:
        args = parser().parse_args(argv)
    except _Usage as exc:
        stderr.write('%s: %s\n%s' % (PROG, exc, parser().format_usage()))
        return 2
    if not HAS_JSONSCHEMA:
        stderr.write('%s: the Python library jsonschema is needed\n' % PROG)
        return 2
    try:
        waivers = _load_waivers(args.waivers) if args.waivers else None
        report = _check.check(args.path, level=args.level, allow_order=args.allow_order, config_id=args.config_id,
                              max_orders=args.max_orders, repeat=args.repeat, timeout=args.timeout, waivers=waivers,
                              wait_timeout=args.wait_timeout, poll_interval=args.poll_interval)
    except BxError as exc:
        stderr.write('%s: %s\n' % (PROG, exc.message))
        return 2
    if args.format == 'json':
        stdout.write(json.dumps(report, ensure_ascii=False, sort_keys=True) + '\n')
    else:
        stdout.write(''.join(line + '\n' for line in text_lines(report)))
    return 1 if _check.failed(report) else 0
