# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Find provider plugins, probe them with ``help``, call their actions.

docs/protocol.md sections 2 and 3, with its deliberate differences: an argv list
run by the collection's one runner (no shell, a timeout that kills the
process group, bounded output), stderr kept for messages, and a reply that
breaks the protocol -- not JSON, not UTF-8, a lone surrogate, NaN, duplicate
keys, nested too deep -- becomes that provider's error instead of a crash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import re
import traceback

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages, _runner, _schemas
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, quoted
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import id_problem
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import quote_safely

try:
    import jsonschema
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

OPTIONS = ('help', 'init', 'configs', 'order', 'order_status')
# Optional capabilities a plugin may list in ``help`` besides OPTIONS (the
# provider record, which status prints, keeps the original's five options):
# ``order_token`` (docs/protocol.md section 3).
CAPABILITIES = ('order_token',)
UNUSABLE = ('not_exists', 'disabled')
DEFAULT_PROVIDERS_DIR = '/opt/webdir/providers'
DEFAULT_TIMEOUT = 60
# Deeper than any real reply (configs is 3 levels), shallow enough that no
# walk over a reply (schema, masking, Ansible's JSON) can hit the recursion limit.
MAX_REPLY_DEPTH = 64
_STDERR_KEEP = 2000
# A provider's help reply must fit, whatever the user sets.
MIN_MAX_OUTPUT = 1024
# Half of a UTF-16 pair. JSON's "\ud83d" escape decodes to it (a Node.js
# provider that cut an emoji in half prints one); no UTF-8 output can hold it.
_SURROGATE = re.compile('[\ud800-\udfff]')


# Every numeric option of the modules and of bx-provider: (lowest, highest,
# unit). Documented with each option; the highs keep every timer, buffer and
# thread count far from what the OS and Python accept (a huge timeout was an
# OverflowError deep in the runner).
SETTING_RANGES = {
    'timeout': (1, 86400, 'seconds'),
    'max_output': (MIN_MAX_OUTPUT, 1024 ** 3, 'bytes'),
    'workers': (1, 64, ''),
    'wait_timeout': (0, 7 * 86400, 'seconds'),
    'poll_interval': (1, 3600, 'seconds'),  # a status call is a cloud API call: no tight loop
    'ssh_timeout': (1, 3600, 'seconds'),
    'ssh_port': (1, 65535, ''),
    'max_members': (1, 1000000, ''),
    'max_size': (1, 1024 ** 4, 'bytes'),
}


def check_settings(timeout=None, max_output=None, workers=None, **others):
    """The numeric options every front end takes from its user, checked in one
    place: each one given (not None) must be an int in its SETTING_RANGES range."""
    given = dict(others, timeout=timeout, max_output=max_output, workers=workers)
    for name in sorted(given):
        value = given[name]
        low, high, unit = SETTING_RANGES[name]
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
            continue
        raise BxError('%s must be a whole number%s from %d to %d, got %s'
                      % (name, ' of ' + unit if unit else '', low, high, quoted(value, 40)))


class ErrorReply(BxError):
    """The provider answered with an error (or with nothing): docs/protocol.md 3.1, 3.4."""


class BrokenReply(BxError):
    """The provider broke the protocol (the original crashed or hung).

    ``reply``: the JSON object it printed, when it was one (a broken
    ``order`` reply may still name the order placed), else None.
    """

    def __init__(self, message, code=1, reply=None):
        super(BrokenReply, self).__init__(message, code)
        self.reply = reply


class ReplyProblem(ValueError):
    """A reply that is JSON but cannot be used; ``value`` is what was parsed."""

    def __init__(self, message, value):
        super(ReplyProblem, self).__init__(message)
        self.value = value


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
    # jsonschema quotes the refused value: never a secret (difference 13).
    return '%s: %s' % (field, quote_safely(error.message, error.instance, error.absolute_path))


def command_text(argv):
    """The command as the original shows it: `<exec> <action>[ <arg>]`."""
    return ' '.join(argv)


def is_error_code(value):
    """An ``error`` value of 0, false or null means "no error" (docs/protocol.md, difference 1)."""
    return not (value is None or value is False or (isinstance(value, (int, float)) and value == 0))


def _reject_constant(name):
    raise ValueError('%s is not JSON' % name)


def _finite_float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError('number %s is out of range' % text[:40])
    return value


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError('duplicate key %s' % json.dumps(key, ensure_ascii=False)[:80])
        seen[key] = value
    return seen


def _value_problem(value, limit):
    """Why a parsed reply cannot be used, or None: containers nested deeper
    than ``limit``, or a text (key or value) holding a lone surrogate. One
    walk, no recursion."""
    todo = [(value, 0, (), None)]  # (item, depth, path of its container, its key there)
    while todo:
        item, depth, path, key = todo.pop()
        here = path if key is None else path + (key,)
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return _surrogate_problem(found.group(), 'value' if here else 'text', here)
            continue
        if not isinstance(item, (dict, list)):
            continue  # a bare number, true, false or null
        if depth >= limit:
            return 'JSON nested deeper than %d levels' % limit
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for name, child in pairs:
            if isinstance(name, str):
                found = _SURROGATE.search(name)
                if found:
                    return _surrogate_problem(found.group(), 'key', here + (name,))
            if isinstance(child, (str, dict, list)):
                todo.append((child, depth + 1, here, name))
    return None


def _surrogate_problem(char, what, path):
    where = '.'.join(str(part) for part in path) or '(reply)'
    # Escaped so that the message itself is valid UTF-8.
    return 'lone surrogate %s in the %s at %s: not valid Unicode' % (
        char.encode('ascii', 'backslashreplace').decode('ascii'), what,
        where.encode('utf-8', 'backslashreplace').decode('utf-8'))


def parse_reply(data):
    """One JSON value from a provider's stdout bytes; ValueError says why not.

    Strict where the original was loose or died: UTF-8 only, no lone
    surrogates (escaped ``\\udXXX`` halves), no NaN or Infinity, no duplicate
    keys, at most MAX_REPLY_DEPTH levels. JSON that breaks the last two rules
    raises ReplyProblem, which keeps the value parsed.
    """
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ValueError('output is not UTF-8 (byte 0x%02x at offset %d)' % (data[exc.start], exc.start))
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                           object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ValueError('JSON nested too deep')
    problem = _value_problem(value, MAX_REPLY_DEPTH)
    if problem:
        raise ReplyProblem(problem, value)
    return value


class Providers(object):
    """The providers under one root, called through ``runner``.

    ``runner`` is ``_runner.run`` or a stand-in with its signature (tests
    wrap it to record calls); ``max_output`` bounds each output stream.
    """

    def __init__(self, root, runner=_runner.run, timeout=DEFAULT_TIMEOUT, max_output=_runner.DEFAULT_MAX_OUTPUT):
        self.root = root
        self.runner = runner
        self.timeout = timeout
        self.max_output = max_output
        self._capabilities = {}  # provider name: the CAPABILITIES its last help listed

    def run(self, argv, **kwargs):
        """Run any process with this appliance's timeout and output bound."""
        kwargs.setdefault('timeout', self.timeout)
        return self.runner(argv, max_output=self.max_output, **kwargs)

    def folders(self):
        """``(names, refused)`` from one read of the root; raises OSError when it cannot be read.

        ``names``: the provider folder names, sorted. Folders whose names are
        not valid provider names are not providers; those that are not
        dot-folders (ours, such as install staging) are ``refused``:
        ``{name: problem}`` (``space prov``), for front ends to show.
        """
        names, refused = [], {}
        for name in os.listdir(self.root):
            if not os.path.isdir(os.path.join(self.root, name)):
                continue
            problem = id_problem(name)
            if problem is None:
                names.append(name)
            elif not name.startswith('.'):
                refused[name] = problem
        return sorted(names), refused

    def names(self):
        """Provider folder names, sorted (see ``folders``)."""
        return self.folders()[0]

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
        """The provider record of docs/protocol.md section 2.

        A help call that answers with an error leaves the record at
        ``exists`` with no options, silently, as the original does; a help
        reply that breaks the protocol raises BrokenReply.
        """
        record = self.empty_record(name)
        execute = record['files']['execute']
        if not (os.path.isfile(execute) and os.access(execute, os.X_OK)):
            return record
        inside = os.path.realpath(record['files']['holder']) + os.sep
        if not os.path.realpath(execute).startswith(inside):
            raise BrokenReply('bxenv: %s leads to %s, outside the provider folder; it is not run as provider %s'
                              % (execute, os.path.realpath(execute), name))
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
        self._capabilities[name] = frozenset(option for option in reply.get('options') or [] if option in CAPABILITIES)
        if reply.get('status') is not None:
            record['status'] = reply['status']
        return record

    def offers(self, record, capability):
        """Whether the provider's ``help`` (at ``probe``) listed ``capability`` (CAPABILITIES)."""
        return capability in self._capabilities.get(record['name'], ())

    def call(self, record, action, argument=None, environ=None):
        """Run ``<exec> <action> [<argument>]`` (``environ``: variables to add)
        and return its successful reply."""
        argv = [record['files']['execute'], action]
        if argument is not None:
            argv.append(argument)
        where = 'provider %s, action %s' % (record['name'], action)
        command = command_text(argv)
        # The provider's own folder as working directory, whoever calls.
        result = self.run(argv, cwd=record['files']['holder'], **({'environ_update': environ} if environ else {}))
        stderr = result.stderr_text()

        def fail(cls, message, code=1, reply=None):
            if result.held_open:
                message = '%s; a background process held the provider\'s output open after it exited and was ended' % message
            stderr_text = stderr.strip()
            if stderr_text:
                message = _messages.CMD_STDERR % (message, stderr_text[-_STDERR_KEEP:])
            if cls is BrokenReply:
                raise cls(message, code, reply)
            raise cls(message, code)

        if result.timed_out or result.overflow:
            fail(BrokenReply, _messages.CMD_FAILED
                 % (command, result.problem(self.timeout, self.max_output), where))
        if result.stdout in (b'', b'\n'):
            fail(ErrorReply, _messages.CMD_EMPTY % command)
        try:
            reply = parse_reply(result.stdout)
        except ValueError as exc:
            parsed = getattr(exc, 'value', None)
            fail(BrokenReply, _messages.CMD_NOT_JSON
                 % (command, where, exc, result.rc), reply=parsed if isinstance(parsed, dict) else None)
        if not isinstance(reply, dict):
            fail(BrokenReply, _messages.CMD_NOT_OBJECT
                 % (command, where, type(reply).__name__))
        if 'error' in reply and is_error_code(reply['error']):
            text = reply.get('error_message')
            text = '' if text is None else text
            message = _messages.CMD_ERROR_REPLY % (command, text)
            problem = schema_problem(_schemas.ERROR_REPLY, reply)
            if problem:
                fail(BrokenReply, _messages.CMD_BAD_ERROR_REPLY % (message, where, problem), reply=reply)
            code = reply['error']
            fail(ErrorReply, message, int(code) if isinstance(code, float) else code)
        problem = schema_problem(_schemas.REPLY_SCHEMAS[action], reply)
        if problem:
            fail(BrokenReply, _messages.CMD_BAD_REPLY
                 % (command, where, problem), reply=reply)
        return reply
