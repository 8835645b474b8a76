# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The ``bx-provider`` command line on the collection's core.

A drop-in for the appliance's ``/opt/webdir/bin/bx-provider`` (docs/protocol.md
sections 4 and 5): the same options, actions, JSON documents, plain lines and
exit status, with the deliberate differences of docs/protocol.md (the
command's own: differences 7, 15 and 16, and "The command" under the other
differences). ``main(argv, stdout, stderr, settings=…)`` is all a front end
calls; the command's own settings never come from ``argv`` (``_settings``);
processes run through the collection's one runner (``_runner.run``, or a
stand-in with its signature given as ``runner``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

from ansible_collections.bitrix.bxenv.plugins.module_utils import (
    _install, _messages, _order_to_host, _orders, _queries, _runner, _settings, _setup_job,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, quoted, shown
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import add_document, params_document, to_json
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    HAS_JSONSCHEMA,
    Providers,
    check_settings,
    is_error_code,
)

PROG = 'bx-provider'
NAME = 'bx-provider-bxenv'

# The original's action list, in its order; ``pool`` passes the check and
# then has no handler (``Unknown action=pool``).
ACTIONS = ('status', 'list', 'install', 'uninstall', 'pool', 'configs', 'order',
           'orders_list', 'order_status', 'order_to_host')
OUTPUTS = ('json', 'plain', 'txt', 'text')

# The original's options and nothing else (docs/protocol.md section 5): the
# web interface pastes values unquoted, so any other option, a repeated one or
# a stray word is refused (docs/protocol.md, difference 16). Strings take an
# optional value ("" when none is given, as Getopt's ``:s``); flags take none.
_STRINGS = ('action', 'output', 'provider', 'config_id', 'task_id', 'archive')
_FLAGS = ('verbose', 'help')
_SHORT = {'a': 'action', 'o': 'output', 'v': 'verbose', 'h': 'help'}

USAGE = """Usage: bx-provider [-a ACTION] [-o json|plain] [options]
Lists the provider plugins of this BitrixVM appliance, orders servers from
them and adds finished servers to the server pool (bitrix.bxenv).

Options:
  -a, --action ACTION    what to do (default: list):
                           list           every provider and its status
                           status         one provider's record (--provider)
                           configs        server configurations (--provider)
                           order          order a server (--provider, --config_id)
                           order_status   state of an order (--provider, --task_id)
                           orders_list    orders placed here ([--provider])
                           order_to_host  add a finished order's server to the
                                          pool (--provider, --task_id)
                           install        install a plugin (--provider, --archive)
                           uninstall      remove a plugin (--provider)
  -o, --output FORMAT    json, or plain (the default; also txt, text)
      --provider NAME    provider plugin: a folder under the providers root
      --config_id ID     configuration to order
      --task_id ID       order id
      --archive PATH     plugin archive: .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip
  -v, --verbose          accepted for compatibility; does nothing
  -h, --help             print this text

Every option may be given once; any other word is refused. Folders, limits
and the pool set-up job are this command's settings, %s
(see docs/bx-provider.md). Short options can be bundled (-vo json). The exit status is the error code of the result (0 on success);
this text is printed with status 0.
"""


class _OptionError(Exception):
    pass


def _long_name(text):
    if text in _STRINGS or text in _FLAGS:
        return text
    raise _OptionError(_messages.UNKNOWN_OPTION % shown(text, 80))


def _takes_next(argv, index):
    """An optional value is the next word unless that word looks like an option."""
    return index + 1 < len(argv) and not (argv[index + 1].startswith('-') and argv[index + 1] != '-')


def parse_args(argv):
    """``(options, problem)``: the options as a dict, and the first error or None."""
    options = dict((name, None) for name in _STRINGS)
    options.update(dict((name, False) for name in _FLAGS))
    options.update(action='list', output='plain')
    seen = set()
    index = 0
    try:
        while index < len(argv):
            arg = argv[index]
            if arg.startswith('--') and arg != '--':
                text, has_value, value = arg[2:].partition('=')
                index = _set(options, seen, argv, index, _long_name(text), value if has_value else None)
            elif arg.startswith('-') and arg not in ('-', '--'):
                index = _set_bundle(options, seen, argv, index)
            else:
                raise _OptionError(_messages.UNEXPECTED_ARGUMENT % quoted(arg, 80))
            index += 1
    except _OptionError as exc:
        return options, str(exc)
    return options, None


def _set(options, seen, argv, index, name, value):
    """Store option ``name`` (``value`` None: not attached); returns the last index used."""
    if name in seen:
        raise _OptionError(_messages.OPTION_REPEATED % name)
    seen.add(name)
    if name in _FLAGS:
        if value is not None:
            raise _OptionError('Option %s does not take an argument' % name)
        options[name] = True
        return index
    if value is None:
        if _takes_next(argv, index):
            index += 1
            value = argv[index]
        else:
            value = ''
    options[name] = value
    return index


def _set_bundle(options, seen, argv, index):
    """``-vo json``, ``-ojson``: flags, then at most one option taking a value."""
    bundle = argv[index][1:]
    for position, letter in enumerate(bundle):
        if letter not in _SHORT:
            raise _OptionError(_messages.UNKNOWN_OPTION % shown(letter))
        name = _SHORT[letter]
        if name in _FLAGS:
            if name in seen:
                raise _OptionError(_messages.OPTION_REPEATED % name)
            seen.add(name)
            options[name] = True
            continue
        rest = bundle[position + 1:]
        return _set(options, seen, argv, index, name, rest if rest else None)
    return index


# Actions ------------------------------------------------------------------

def _order_to_host_action(providers, options, warnings):
    """docs/protocol.md 6.7 and 8: the module's run (``_order_to_host.add_order``),
    with the command's own answers (docs/protocol.md, differences 7, 15)."""
    added = _order_to_host.add_order(providers, options['provider'], options['task_id'], options['pool_dir'],
                                     ssh={'timeout': options['timeout'], 'log_file': options['ssh_log_file']}).added
    if added.state == 'complete':
        # docs/protocol.md, difference 7: the web interface reads only the exit
        # status, so a second "add" of a complete order keeps the original's error 1.
        raise BxError(added.message)
    if added.changed and options['setup_job']:
        # The server is in the pool now (or was, by an interrupted run):
        # start its set-up as the original did; the add stands either way.
        try:
            _setup_job.start(options['pool_dir'], options['jobs_dir'], options['ansible_playbook'])
        except _setup_job.NotStarted as exc:
            warnings.append('pool set-up job not started: %s' % exc)
    return add_document(added)


def _install_action(providers, options, warnings):
    result = _install.install(providers, options['provider'], options['archive'], owner=options['owner'],
                              group=options['group'])
    return {'message': result['message']}


def _uninstall_action(providers, options, warnings):
    return {'message': _install.remove(providers, options['provider'])['message']}


def _query(name):
    kind, func = _queries.QUERIES[name]
    return lambda providers, options, warnings: params_document(kind, func(providers, options, warnings))


_HANDLERS = dict((name, _query(name)) for name in _queries.QUERIES)
_HANDLERS.update({
    'order': lambda providers, options, warnings: {'params': _orders.place(
        providers, options['provider'], options['config_id']).params},
    'order_to_host': _order_to_host_action,
    'install': _install_action,
    'uninstall': _uninstall_action,
})


def run_action(options, runner=_runner.run, warnings=None):
    """The document of the chosen action; an error is returned as its document."""
    handler = _HANDLERS.get(options['action'])
    try:
        if handler is None:
            raise BxError(_messages.UNKNOWN_ACTION % options['action'])
        if not HAS_JSONSCHEMA:
            raise BxError('%s: the Python library jsonschema is needed; install it for %s'
                          % (NAME, 'the Python that runs this command'))
        try:
            check_settings(options['timeout'], options['max_output'], options['workers'])
        except BxError as exc:
            raise BxError('%s: %s' % (NAME, exc.message))
        providers = Providers(options['providers_dir'], runner, timeout=options['timeout'],
                              max_output=options['max_output'])
        return handler(providers, options, warnings if warnings is not None else [])
    except BxError as exc:
        return exc.document()


# Output -------------------------------------------------------------------

def _text(value):
    """A value as the original's plain printer shows it (Perl stringification)."""
    if value is None:
        return ''
    if value is True:
        return '1'
    if value is False:
        return '0'
    if isinstance(value, float):
        # 1e309 in a reply is parsed as infinity: Perl prints Inf, -Inf, NaN.
        if value.is_integer():
            return str(int(value))
        return {float('inf'): 'Inf', float('-inf'): '-Inf'}.get(value, 'NaN' if math.isnan(value) else repr(value))
    try:
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)
    except ValueError:  # an int past Python's limit of digits for text (3.11+)
        return _text(_number(value)) if isinstance(value, int) else '(too large to print)'


# What Perl reads as the number at the start of a text.
_LEADING_NUMBER = re.compile(r'\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)')


def _number(value):
    """Perl's ``<=>`` view of an id: its leading number, or 0; a total order
    (a number too large for a float is an infinity, NaN counts as 0)."""
    if isinstance(value, str):
        match = _LEADING_NUMBER.match(value)
        value = match.group(1) if match else 0
    elif not isinstance(value, (int, float)):
        return 0.0
    try:
        number = float(value)
    except OverflowError:  # an int of more than 308 digits
        number = float('inf') if value > 0 else float('-inf')
    return 0.0 if math.isnan(number) else number


def _plain_providers(data):
    lines = []
    for name in sorted(data):
        entry = data[name] if isinstance(data[name], dict) else {}
        state = 'error' if is_error_code(entry.get('error')) else _text(entry.get('status'))
        lines.append('provider:status:%s:%s\n' % (name, state))
    return lines


def _plain_options(data):
    lines = []
    for name in sorted(data):
        record = data[name]
        supported = sorted(option for option, on in record['options'].items() if on)
        lines.append('provider:options:%s:%s:%s\n' % (name, _text(record['status']), ','.join(supported)))
    return lines


def _plain_configs(data):
    lines = []
    for name in sorted(data):
        reply = data[name] if isinstance(data[name], dict) else {}
        configurations = reply.get('configurations')
        if not isinstance(configurations, list):
            continue
        items = [item for item in configurations if isinstance(item, dict)]
        for item in sorted(items, key=lambda item: _number(item.get('id'))):
            lines.append('provider:configs:%s:%s:%s:%s\n' % (
                name, _text(reply.get('status')), _text(item.get('id')), _text(item.get('descr'))))
    return lines


def _plain_order(data):
    # No newline, as the original (used by order, order_status, order_to_host).
    return ['provider:order:%s:%s' % (name, _text((data[name] or {}).get('task_id'))) for name in sorted(data)]


def _plain_order_list(data):
    lines = []
    for name in sorted(data):
        tasks = data[name] or {}
        for task_id in sorted(tasks):
            entry = tasks[task_id]
            error = entry.get('error')
            lines.append('provider:orders:%s:%s:%s:%s:%s:%s\n' % (
                name, task_id, _text(entry.get('status')), _text(entry.get('mtime')),
                _text(error) if is_error_code(error) else '', _text(entry.get('message'))))
    return lines


_PLAIN = {
    'providers': _plain_providers,
    'provider_options': _plain_options,
    'provider_configs': _plain_configs,
    'provider_order': _plain_order,
    'provider_order_list': _plain_order_list,
}


def render_plain(document):
    """Data lines, then ``message:<text>``, then ``error:<code>`` (docs/protocol.md section 4)."""
    lines = []
    for kind in sorted(document.get('params') or {}):
        lines.extend(_PLAIN[kind](document['params'][kind] or {}))
    if document.get('message'):
        lines.append('message:%s\n' % _text(document['message']))
    if is_error_code(document.get('error')):
        lines.append('error:%s\n' % _text(document['error']))
    return ''.join(lines)


def printed_document(document):
    """The document as printed: ``error`` only when set, ``message`` only when non-empty."""
    printed = dict(document)
    if not is_error_code(printed.get('error')):
        printed.pop('error', None)
    if printed.get('message') in (None, ''):
        printed.pop('message', None)
    return printed


def render(document, output):
    document = printed_document(document)
    if output == 'json':
        return to_json(document)
    return render_plain(document)


def exit_status(document):
    """The error code as exit status: a number, or a provider's digit string."""
    code = document.get('error')
    if not is_error_code(code):
        return 0
    try:
        number = int(code)
    except (TypeError, ValueError):
        return 1
    # An exit status is one byte; a code it cannot carry still means failure.
    return number if 0 < number < 256 else 1


def _wants_json(argv):
    """After a refused command line, whether it asked for JSON anywhere (the
    web interface puts ``-o json`` last, after the values it pasted in)."""
    pairs = zip(argv, argv[1:] + [''])
    return any(word in ('-ojson', '--output=json') or (word in ('-o', '--output') and after == 'json')
               for word, after in pairs)


def main(argv, stdout, stderr=None, runner=_runner.run, settings=None, settings_file=None):
    """Run the command for ``argv`` (without the program name); returns the exit status.

    The command's own settings are ``settings`` (a dict, fixed at build time
    or by a test) or else read from ``settings_file`` (_settings.load), else
    the defaults; never from ``argv``.
    """
    options, problem = parse_args(argv)
    output = options['output'] if options['output'] in OUTPUTS else 'plain'
    if problem:
        document = BxError(problem).document()
        output = 'json' if _wants_json(argv) else output
    elif options['help'] or options['action'] not in ACTIONS or options['output'] not in OUTPUTS:
        where = 'fixed in its build' if settings is not None or not settings_file else 'in ' + settings_file
        stdout.write(USAGE % where)
        return 0
    else:
        warnings = []
        try:
            if settings is None:
                settings = _settings.load(settings_file) if settings_file else _settings.settings()
            else:
                settings = _settings.settings(settings)
            document = run_action(dict(settings, **options), runner, warnings)
        except BxError as exc:
            document = exc.document()
        except Exception as exc:  # pylint: disable=broad-except
            # A defect of ours still ends as a document, never as a traceback.
            document = BxError('%s: internal error in action %s: %s: %s'
                               % (NAME, options['action'], type(exc).__name__, exc)).document()
        if stderr is not None:
            for warning in warnings:
                stderr.write('%s: warning: %s\n' % (PROG, warning))
    try:
        text = render(document, output)
    except (ValueError, TypeError) as exc:
        # Never print what is not JSON (NaN, say): an error document instead.
        document = BxError('%s: cannot print the result of action %s: %s' % (NAME, options['action'], exc)).document()
        text = render(document, output)
    stdout.write(text)
    return exit_status(document)
