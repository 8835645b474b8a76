# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the stand-alone ``bx-provider`` command: one executable zipapp.

    python3 plugins/plugin_utils/bx_provider_build.py --output PATH [--settings-file FILE | --settings JSON]
    python3 plugins/plugin_utils/bx_provider_build.py --command bx-provider-check --output PATH

The file holds ``bx_provider_entry.py`` (beside this file) as its ``__main__.py`` and
the collection's own module_utils under
``ansible_collections/bitrix/bxenv/plugins/module_utils/`` (with empty
``__init__.py`` files), so the command runs the very code the modules run.
Only the files the command's module (``_cli.py``, ``_check_cli.py``) and
``_command.py`` import, directly or not, go in; the build stops
if any of them imports ``ansible`` itself, since the command must run on a
Python 3 that has ``jsonschema`` but no ansible-core. The output is the same
bytes for the same sources (fixed time stamps and order).

``--command bx-provider-check`` builds the provider author kit's checker
the same way; it has no settings.

The command's own settings (folders, limits, the set-up job) never come from
its command line: the build fixes where they come from, in a member
``bx_provider_settings.py``: the root-only settings file ``--settings-file``
(default ``/etc/bitrix-bxenv/bx-provider.json``), or settings fixed in the
build with ``--settings`` (a JSON object; for tests and labs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import ast
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ENTRY = os.path.join(HERE, 'bx_provider_entry.py')
# The commands this builder makes: the module_utils file whose ``main`` each runs.
COMMANDS = {'bx-provider': '_cli', 'bx-provider-check': '_check_cli'}
SETTINGS_MEMBER = 'bx_provider_settings.py'
# Kept equal to _settings.DEFAULT_SETTINGS_FILE by a test: the builder must
# not import the collection (it runs on the controller's Python).
DEFAULT_SETTINGS_FILE = '/etc/bitrix-bxenv/bx-provider.json'
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')
PACKAGE = 'ansible_collections.bitrix.bxenv.plugins.module_utils'
SHEBANG = b'#!/usr/bin/env python3\n'
# Zip time stamps cannot be earlier than 1980.
STAMP = (1980, 1, 1, 0, 0, 0)


class BuildError(Exception):
    pass


def _imports(path):
    """``(module_utils names, guarded names, imports of ansible itself)`` of one file."""
    with open(path, 'rb') as handle:
        tree = ast.parse(handle.read(), path)
    guarded_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for child in node.body:
                guarded_nodes.update(id(n) for n in ast.walk(child))
    wanted, guarded, foreign = set(), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        else:
            continue
        found = []
        for module in modules:
            if module.split('.')[0] == 'ansible':
                foreign.append(module)
            if module == PACKAGE and isinstance(node, ast.ImportFrom):
                found.extend(alias.name for alias in node.names)
            elif module.startswith(PACKAGE + '.'):
                found.append(module[len(PACKAGE) + 1:].split('.')[0])
        (guarded if id(node) in guarded_nodes else wanted).update(found)
    return wanted, guarded, foreign


def module_utils_closure(start=ENTRY, module='_cli'):
    """``(name, path)`` of the module_utils files the entry point ``start``
    and the command's ``module`` need, sorted.

    A guarded import (inside ``try``) of a file that does not exist is left
    out: the command then reports that action as not available.
    """
    first = os.path.join(MODULE_UTILS, module + '.py')
    todo, seen = [start, first], {module: first}
    while todo:
        path = todo.pop()
        wanted, guarded, foreign = _imports(path)
        if foreign:
            raise BuildError('%s imports %s: the command must run without ansible-core'
                             % (os.path.relpath(path, REPO), ', '.join(sorted(foreign))))
        for name in sorted(wanted | guarded):
            target = os.path.join(MODULE_UTILS, name + '.py')
            if name in seen:
                continue
            if not os.path.isfile(target):
                if name in guarded and name not in wanted:
                    continue
                raise BuildError('%s imports %s, which does not exist' % (os.path.relpath(path, REPO), target))
            seen[name] = target
            todo.append(target)
    return sorted(seen.items())


def _add(archive, name, data):
    info = zipfile.ZipInfo(name, STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _settings_member(command, settings_file, settings):
    lines = ['# Written by bx_provider_build.py: which command this build is, where it takes its settings from.',
             'COMMAND = %r' % command, 'MODULE = %r' % COMMANDS[command],
             'SETTINGS_FILE = %r' % (None if settings is not None else settings_file),
             'SETTINGS = %r' % (settings,), '']
    return '\n'.join(lines).encode('utf-8')


def build(output, settings_file=DEFAULT_SETTINGS_FILE, settings=None, command='bx-provider'):
    """Write the zipapp to ``output`` (mode 0755); returns the archive's member names.

    The folder of ``output`` is made when it does not exist yet. ``settings``
    (a dict) fixes the command's settings in the build; otherwise it reads
    them from ``settings_file`` at every run. ``command`` is one of COMMANDS;
    only ``bx-provider`` has settings.
    """
    if not os.path.isabs(settings_file):
        raise BuildError('the settings file must be an absolute path, got %r' % settings_file)
    if settings is not None and not isinstance(settings, dict):
        raise BuildError('--settings must be a JSON object')
    if command not in COMMANDS:
        raise BuildError('unknown command %r; one of %s' % (command, ', '.join(sorted(COMMANDS))))
    files = module_utils_closure(ENTRY, COMMANDS[command])
    members = [('__main__.py', _read(ENTRY)),
               (SETTINGS_MEMBER, _settings_member(command, settings_file, settings if command == 'bx-provider' else None))]
    parts = PACKAGE.split('.')
    for depth in range(1, len(parts) + 1):
        members.append(('/'.join(parts[:depth]) + '/__init__.py', b''))
    for name, path in files:
        members.append(('/'.join(parts) + '/' + name + '.py', _read(path)))
    folder = os.path.dirname(output)
    if folder:
        os.makedirs(folder, exist_ok=True)
    temporary = output + '.tmp'
    with open(temporary, 'wb') as handle:
        handle.write(SHEBANG)
        with zipfile.ZipFile(handle, 'w') as archive:
            for name, data in members:
                _add(archive, name, data)
    os.chmod(temporary, 0o755)
    os.rename(temporary, output)
    return [name for name, data in members]


def main(argv=None):
    parser = argparse.ArgumentParser(description='Build the stand-alone bx-provider command (a Python zipapp).')
    parser.add_argument('--command', choices=sorted(COMMANDS), default='bx-provider',
                        help='which command to build (default: %(default)s)')
    parser.add_argument('--output', required=True, help='where to write the executable file')
    parser.add_argument('--settings-file', default=DEFAULT_SETTINGS_FILE,
                        help='the root-only JSON file the command reads its settings from (default: %(default)s)')
    parser.add_argument('--settings', help='settings fixed in the build, as a JSON object (no settings file)')
    args = parser.parse_args(argv)
    output = os.path.abspath(args.output)
    try:
        settings = None if args.settings is None else json.loads(args.settings)
        members = build(output, args.settings_file, settings, args.command)
    except ValueError as exc:
        sys.stderr.write('bx_provider_build: --settings is not JSON: %s\n' % exc)
        return 1
    except (BuildError, OSError) as exc:
        sys.stderr.write('bx_provider_build: %s\n' % exc)
        return 1
    sys.stdout.write('%s: %d files\n' % (output, len(members)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
