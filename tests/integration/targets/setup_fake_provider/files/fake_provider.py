# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake provider plugin for tests: its replies come from <holder>/fake.json.

The table maps "<action>" or "<action> <argument>" (the more precise wins)
to an object printed as JSON, or to {"__raw__": true, "stdout", "stderr",
"rc", "sleep"}, or to {"__sequence__": [reply, ...]}: one reply per call
for that key, in order, the last one repeating (an order's status that
changes over time). "{n}" in the output becomes a per-provider counter
bumped under a lock. Every call is appended to <holder>/calls.log as a JSON argv.
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


def next_in_sequence(holder, key, replies):
    """The reply of this call in a sequence; the count per key is kept on disk."""
    with open(os.path.join(holder, 'sequence.json'), 'a+') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        counts = json.loads(handle.read() or '{}')
        index = counts.get(key, 0)
        counts[key] = index + 1
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(counts))
    return replies[min(index, len(replies) - 1)]


def main():
    holder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(holder, 'fake.json')) as handle:
        replies = json.load(handle)
    args = sys.argv[1:]
    with open(os.path.join(holder, 'calls.log'), 'a') as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(args) + '\n')
    key = ' '.join(args)
    if key not in replies:
        key = args[0] if args else ''
    reply = replies.get(key, {'__raw__': True})
    if isinstance(reply, dict) and '__sequence__' in reply:
        reply = next_in_sequence(holder, key, reply['__sequence__'])
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
