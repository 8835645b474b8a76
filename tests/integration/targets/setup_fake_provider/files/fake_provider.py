# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake provider plugin for tests: its replies come from <holder>/fake.json.

The table maps "<action>" or "<action> <argument>" (the more precise wins)
to an object printed as JSON, or to {"__raw__": true, "stdout", "stderr",
"rc", "sleep"}. "{n}" in the output becomes a per-provider counter bumped
under a lock. Every call is appended to <holder>/calls.log as a JSON argv.
tests/unit/fakes.py writes these tables; integration targets copy this file
to <holder>/bin/<name> and write fake.json themselves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import sys
import time


def bump_counter(holder):
    with open(os.path.join(holder, 'counter'), 'a+') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        number = int(handle.read() or 0) + 1
        handle.seek(0)
        handle.truncate()
        handle.write(str(number))
    return number


def main():
    holder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(holder, 'fake.json')) as handle:
        replies = json.load(handle)
    args = sys.argv[1:]
    with open(os.path.join(holder, 'calls.log'), 'a') as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(args) + '\n')
    reply = replies.get(' '.join(args), replies.get(args[0] if args else '', {'__raw__': True}))
    if not (isinstance(reply, dict) and reply.get('__raw__')):
        reply = {'stdout': json.dumps(reply, ensure_ascii=False)}
    text = reply.get('stdout', '')
    if '{n}' in text:
        text = text.replace('{n}', str(bump_counter(holder)))
    if reply.get('sleep'):
        time.sleep(reply['sleep'])
    sys.stderr.write(reply.get('stderr', ''))
    sys.stdout.write(text)
    sys.stdout.flush()
    sys.exit(reply.get('rc', 0))


if __name__ == '__main__':
    main()
