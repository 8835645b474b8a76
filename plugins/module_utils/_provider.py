# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Find provider plugins, probe them with ``help``, call their actions.

PROTOCOL sections 2 and 3, with the Part A fixes: an argv list (no shell),
a timeout from coreutils ``timeout`` in the argv, stderr kept for messages,
and a reply that breaks the protocol becomes an error instead of a crash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
import traceback

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import id_problem
from ansible_collections.bitrix.bxenv.plugins.module_utils import _schemas

try:
    import jsonschema
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

OPTIONS = ('help', 'init', 'configs', 'order', 'order_status')
UNUSABLE = ('not_exists', 'disabled')
DEFAULT_PROVIDERS_DIR = '/opt/webdir/providers'
DEFAULT_TIMEOUT = 60
# Grace between TERM and KILL when a provider outlives its timeout.
KILL_AFTER = 5
_STDERR_KEEP = 2000


class ErrorReply(BxError):
    """The provider answered with an error (or with nothing): PROTOCOL 3.1, 3.4."""


class BrokenReply(BxError):
    """The provider broke the protocol (the original crashed or hung)."""


_validators = {}


def _validator(schema):
    key = id(schema)
    if key not in _validators:
        _validators[key] = jsonschema.Draft7Validator(schema)
    return _validators[key]


def schema_problem(schema, document):
    """First violation of ``schema`` as ``field: reason``, or None."""
    errors = sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    field = '.'.join(str(p) for p in error.absolute_path) or '(reply)'
    return '%s: %s' % (field, error.message)


def command_text(argv):
    """The command as the original shows it: `<exec> <action>[ <arg>]`."""
    return ' '.join(argv)


def is_error_code(value):
    """An ``error`` value of 0, false or null means "no error" (Part A 1)."""
    return not (value is None or value is False or (isinstance(value, (int, float)) and value == 0))


class Providers(object):
    """The providers under one root, called through ``runner``.

    ``runner(argv) -> (rc, stdout, stderr)`` runs an argv list without a
    shell; ``clock`` is a monotonic clock (seconds).
    """

    def __init__(self, root, runner, timeout=DEFAULT_TIMEOUT, timeout_bin='timeout', clock=time.monotonic):
        self.root = root
        self.runner = runner
        self.timeout = timeout
        self.timeout_bin = timeout_bin
        self.clock = clock

    def names(self):
        """Provider folder names, sorted; raises OSError when the root cannot be read.

        Folders whose names are not valid provider names (dot-folders such as
        our install staging folders, names with spaces) are not providers.
        """
        names = []
        for name in os.listdir(self.root):
            if id_problem(name) is None and os.path.isdir(os.path.join(self.root, name)):
                names.append(name)
        return sorted(names)

    def holder(self, name):
        return os.path.join(self.root, name)

    def empty_record(self, name):
        holder = self.holder(name)
        return {
            'name': name,
            'status': 'not_exists',
            'config': 'not_exists',
            'files': {
                'holder': holder,
                'execute': os.path.join(holder, 'bin', name),
                'config': os.path.join(holder, 'etc', name + '.conf'),
            },
            'options': dict((option, 0) for option in OPTIONS),
        }

    def probe(self, name):
        """The provider record of PROTOCOL section 2.

        A help call that answers with an error leaves the record at
        ``exists`` with no options, silently, as the original does; a help
        reply that breaks the protocol raises BrokenReply.
        """
        record = self.empty_record(name)
        execute = record['files']['execute']
        if not (os.path.isfile(execute) and os.access(execute, os.X_OK)):
            return record
        record['status'] = 'exists'
        if os.path.isfile(record['files']['config']):
            record['config'] = 'exists'
        try:
            reply = self.call(record, 'help')
        except ErrorReply:
            return record
        for option in reply.get('options') or []:
            if isinstance(option, str) and option in OPTIONS:
                record['options'][option] = 1
        if reply.get('status') is not None:
            record['status'] = reply['status']
        return record

    def call(self, record, action, argument=None):
        """Run ``<exec> <action> [<argument>]`` and return its successful reply."""
        argv = [record['files']['execute'], action]
        if argument is not None:
            argv.append(argument)
        where = 'provider %s, action %s' % (record['name'], action)
        command = command_text(argv)
        started = self.clock()
        rc, stdout, stderr = self.runner(
            [self.timeout_bin, '--kill-after=%d' % KILL_AFTER, str(self.timeout)] + argv)
        elapsed = self.clock() - started

        def fail(cls, message, code=1):
            stderr_text = (stderr or '').strip()
            if stderr_text:
                message = '%s; stderr: %s' % (message, stderr_text[-_STDERR_KEEP:])
            raise cls(message, code)

        if rc in (124, 137) and elapsed >= self.timeout:
            fail(BrokenReply, 'bxProvider::executeProviderCmd: Command `%s` timed out after %s s (%s) and was killed'
                 % (command, self.timeout, where))
        if stdout in ('', '\n', None):
            fail(ErrorReply, 'bxProvider::executeProviderCmd: Command `%s` return empty string' % command)
        try:
            reply = json.loads(stdout)
        except ValueError as exc:
            fail(BrokenReply, 'bxProvider::executeProviderCmd: Command `%s` (%s) did not return one JSON object: %s (exit status %s)'
                 % (command, where, exc, rc))
        if not isinstance(reply, dict):
            fail(BrokenReply, 'bxProvider::executeProviderCmd: Command `%s` (%s) returned JSON %s, not an object'
                 % (command, where, type(reply).__name__))
        if 'error' in reply and is_error_code(reply['error']):
            text = reply.get('error_message')
            text = '' if text is None else text
            message = 'cmd=`%s` return %s' % (command, text)
            problem = schema_problem(_schemas.ERROR_REPLY, reply)
            if problem:
                fail(BrokenReply, '%s (%s: bad error reply, %s)' % (message, where, problem))
            code = reply['error']
            fail(ErrorReply, message, int(code) if isinstance(code, float) else code)
        problem = schema_problem(_schemas.REPLY_SCHEMAS[action], reply)
        if problem:
            fail(BrokenReply, 'bxProvider::executeProviderCmd: Command `%s` (%s) returned a bad reply: %s'
                 % (command, where, problem))
        return reply
