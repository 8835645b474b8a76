# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The calls of the provider author kit: the collection's own call, recorded.

Every call goes through ``Providers.call`` (the reply checks of the
collection) on ``_runner.run`` (its process handling), with what the kit
adds: a minimal environment (``env -i PATH=...``, as a web server gives),
and a record of each run (argv, rc, output, time) from which the checks
judge the output discipline and a failure is shown with a shell line that
reproduces it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import threading

from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import BrokenReply, ErrorReply, Providers

MINIMAL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Characters of stdout and stderr a finding shows.
SHOWN_OUTPUT = 2000


def env_program():
    for path in ('/usr/bin/env', '/bin/env'):
        if os.access(path, os.X_OK):
            return path
    return '/usr/bin/env'


class Call(object):
    """One call made: ``outcome`` is ``ok`` (a successful reply), ``error``
    (an error reply, ``code``) or ``broken`` (the protocol was broken);
    ``message`` the collection's message for the last two."""

    def __init__(self, action, argument, result, outcome, reply=None, message=None, code=None):
        self.action = action
        self.argument = argument
        self.result = result
        self.outcome = outcome
        self.reply = reply
        self.message = message
        self.code = code
        self.concurrent = False

    def words(self):
        return [self.action] + ([] if self.argument is None else [self.argument])

    def shown(self):
        return ' '.join(shlex.quote(word) for word in self.words())

    def ended_badly(self):
        """Timed out or flooded: the runner ended it."""
        return self.result is not None and bool(self.result.timed_out or self.result.overflow)


class Caller(object):
    """Calls plugin ``name`` under providers root ``root`` as the collection does.

    ``enter`` is the shell text that puts a reader in the plugin folder
    (``cd /path/to/plugin``), for the reproduce lines.
    """

    def __init__(self, root, name, timeout, max_output, enter):
        self.providers = Providers(root, runner=self._run, timeout=timeout, max_output=max_output)
        self.record = self.providers.empty_record(name)
        self.name = name
        self.enter = enter
        self.calls = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def _run(self, argv, **kwargs):
        result = _runner.run([env_program(), '-i', 'PATH=' + MINIMAL_PATH] + list(argv), **kwargs)
        self._local.result = result
        return result

    def call(self, action, argument=None):
        """Make one call and keep its record; never raises for what the plugin does."""
        self._local.result = None
        reply, message, code = None, None, None
        try:
            reply, outcome = self.providers.call(self.record, action, argument), 'ok'
        except ErrorReply as exc:
            outcome, message, code = 'error', exc.message, exc.code
        except BrokenReply as exc:
            outcome, message, reply = 'broken', exc.message, exc.reply
        except KeyError:
            # Only an action without a reply schema (the unknown action the
            # kit sends) gets this far with a successful reply.
            outcome, message = 'ok', 'a successful reply'
        call = Call(action, argument, self._local.result, outcome, reply, message, code)
        with self._lock:
            self.calls.append(call)
        return call

    def reproduce(self, call):
        return '%s && env -i PATH=%s ./bin/%s %s </dev/null' % (
            self.enter, MINIMAL_PATH, shlex.quote(self.name), call.shown())

    def details(self, call):
        """What a finding shows of ``call``."""
        result = call.result
        found = {'argv': ['./bin/' + self.name] + call.words(), 'reproduce': self.reproduce(call)}
        if result is not None:
            found.update(rc=result.rc, duration=round(result.elapsed, 3),
                         stdout=result.text('stdout')[:SHOWN_OUTPUT], stderr=result.stderr_text()[:SHOWN_OUTPUT])
        return found
