# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The ``bx-provider`` command's own settings, from a file only root can write.

The web interface pastes its values into the command line unquoted, so
nothing on that line may choose which files or programs the command trusts
(docs/protocol.md, difference 16). Folders, the playbook command, the
owner, the limits, the set-up job and the key copy's log file come from a
JSON file at a path fixed when the command is built (``plugins/plugin_utils/bx_provider_build.py --settings-file``),
or from settings fixed in the build itself. The file, its folder and every
folder above must belong to root and be writable by nobody else (a sticky
folder such as ``/tmp`` is allowed above the file's own folder); a missing
file means the appliance's defaults.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils import (
    _files, _install, _pool, _queries, _runner, _setup_job, _ssh)
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, reason
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import DEFAULT_PROVIDERS_DIR, DEFAULT_TIMEOUT

DEFAULT_SETTINGS_FILE = '/etc/bitrix-bxenv/bx-provider.json'
MAX_SIZE = 64 * 1024

# name: (kind, default). Kinds: an absolute path, a user or group name, a
# whole number, true/false.
SETTINGS = {
    'providers_dir': ('path', DEFAULT_PROVIDERS_DIR),
    'pool_dir': ('path', _pool.DEFAULT_POOL_DIR),
    'jobs_dir': ('path', _setup_job.DEFAULT_JOBS_DIR),
    'ansible_playbook': ('path', _setup_job.DEFAULT_ANSIBLE_PLAYBOOK),
    'ssh_log_file': ('path', _ssh.LOG_FILE),
    'owner': ('name', _install.DEFAULT_OWNER),
    'group': ('name', _install.DEFAULT_OWNER),
    'timeout': ('int', DEFAULT_TIMEOUT),
    'workers': ('int', _queries.DEFAULT_WORKERS),
    'max_output': ('int', _runner.DEFAULT_MAX_OUTPUT),
    'setup_job': ('bool', True),
}

_KINDS = {
    'path': lambda value: isinstance(value, str) and os.path.isabs(value) and '\0' not in value,
    'name': lambda value: isinstance(value, str) and 0 < len(value) <= 64 and '\0' not in value,
    'int': lambda value: isinstance(value, int) and not isinstance(value, bool),
    'bool': lambda value: isinstance(value, bool),
}
_EXPECTED = {'path': 'an absolute path', 'name': 'a user or group name', 'int': 'a whole number',
             'bool': 'true or false'}


class SettingsError(BxError):
    pass


def settings(values=None, source='the build'):
    """The defaults with ``values`` (a dict) laid over them, each checked."""
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise SettingsError('bx-provider-bxenv: settings in %s must be a JSON object' % source)
    result = dict((name, default) for name, (kind, default) in SETTINGS.items())
    for name in sorted(values):
        if name not in SETTINGS:
            raise SettingsError('bx-provider-bxenv: unknown setting %r in %s; known: %s'
                                % (name, source, ', '.join(sorted(SETTINGS))))
        kind = SETTINGS[name][0]
        if not _KINDS[kind](values[name]):
            raise SettingsError('bx-provider-bxenv: setting %s in %s must be %s' % (name, source, _EXPECTED[kind]))
        result[name] = values[name]
    return result


def _trusted(info, trusted_uid, path, sticky_ok):
    """Refuse what a user other than root (or ``trusted_uid``) could change."""
    if info.st_uid not in (0, trusted_uid):
        raise SettingsError('bx-provider-bxenv: %s belongs to uid %d, not to root; refusing to trust it'
                            % (path, info.st_uid))
    writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and not (sticky_ok and info.st_mode & stat.S_ISVTX):
        raise SettingsError('bx-provider-bxenv: %s is writable by others than its owner; refusing to trust it'
                            % path)


def load(path=DEFAULT_SETTINGS_FILE, trusted_uid=0):
    """The command's settings from the JSON file ``path`` (defaults when it is missing)."""
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    above = parent
    while True:
        above = os.path.dirname(above)
        try:
            _trusted(os.stat(above), trusted_uid, above, sticky_ok=True)
        except OSError as exc:
            raise SettingsError('bx-provider-bxenv: cannot check %s: %s' % (above, reason(exc)))
        if above == os.path.dirname(above):
            break
    try:
        with _files.folder(parent) as dir_fd:
            _trusted(os.fstat(dir_fd), trusted_uid, parent, sticky_ok=False)
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return settings()
                raise
            if stat.S_ISREG(info.st_mode):
                _trusted(info, trusted_uid, path, sticky_ok=False)
            data = _files.read(dir_fd, name, path, limit=MAX_SIZE)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return settings()
        raise SettingsError('bx-provider-bxenv: cannot read the settings file %s: %s' % (path, reason(exc)))
    try:
        values = json.loads(data.decode('utf-8'))
    except ValueError as exc:
        raise SettingsError('bx-provider-bxenv: the settings file %s is not JSON: %s' % (path, exc))
    return settings(values, path)
