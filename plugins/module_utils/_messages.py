# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The message texts the catalogue fixes (docs/protocol.md section 11).

Every template here is checked against the catalogue by
``tests/unit/plugins/module_utils/test__messages.py``. The original's texts
are kept byte for byte, spelling and grammar mistakes included (``dircetory``,
``derictive``, ``you can found it``, ``not exist``, ``already exist``,
``User enter``): the appliance's web interface and scripts may match on
them. ``%s`` marks a variable part. A leaf: it imports nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# ---------------------------------------------------------------- the original's functions

# The original's prefixes, each written once: its class, for messages outside
# a named function, and the functions whose name starts a message.
PROVIDER = 'bxProvider'
CONFIGS = 'bxProvider::configsProvider'
ORDER = 'bxProvider::order2Provider'
ORDER_STATUS = 'bxProvider::order_status2Provider'
LIST_ORDERS = 'bxProvider::listOrders4Provider'
TO_HOST = 'bxProvider::order_to_hostProvider'
EXECUTE = 'bxProvider::executeProviderCmd'
# A provider that is ``not_exists`` or ``disabled``, or lacks the option (the
# action) a function needs; an order_status reply without a status.
UNUSABLE = '%s: Provider %s %s on the host'  # (function, name, status)
UNSUPPORTED = "%s: Provider %s doesn't support %s option"  # (function, name, option)
NO_STATUS = "%s: Provider %s doesn't return status for task_id=%s"  # (function, name, task_id)
NO_TASK_ID = '%s: You must provide task_id for status request'  # function

# ---------------------------------------------------------------- list, status, configs

LIST_CANNOT_OPEN_ROOT = 'bxProviders: Cannot open dircetory %s: %s'  # (root, reason)
ORDERS_LIST_CANNOT_OPEN_ROOT = 'bxProviders: Cannot open directory %s: %s'  # (root, reason)
PROVIDER_NOT_EXIST = 'bxProvider::optionsProvider: Provider %s not exist on the host'  # name

# ---------------------------------------------------------------- order

ORDER_NO_CONFIG_ID = ORDER + ': You must provide config_id for order'
ORDER_NO_TASK_ID = ORDER + ": Provider %s doesn't return task_id"
ORDER_CANNOT_SAVE = ORDER + ': Cannot save %s: %s'  # (path, reason)
# Appended to an order's failure whose outcome is uncertain (section 6.4).
ORDER_MAYBE_PLACED = '%s; provider %s may have placed the order: check with the provider before ordering again'
ORDER_MAYBE_PLACED_AS = '%s; provider %s may have placed the order as task_id=%s%s'  # (..., ' (recorded in <path>)' or '')

# ---------------------------------------------------------------- order_status, orders_list

TASK_FILE_CANNOT_OPEN = 'Cannot open %s: %s'  # (path, reason)
TASKS_CANNOT_OPEN = PROVIDER + ': Cannot open dircetory %s: %s'  # (tasks folder, reason)

# ---------------------------------------------------------------- order_to_host

TO_HOST_CANNOT_OPEN = TO_HOST + ': Cannot open file=%s:%s'  # (path, reason)
TO_HOST_NOT_SAVED = TO_HOST + ': Not found saved task_id=%s on this server'
TO_HOST_ALREADY = TO_HOST + ': task_id=%s already %s'  # (task_id, task file content)
TO_HOST_UNEXPECTED = TO_HOST + ': task_id=%s has unexpected content in %s: %r'
TO_HOST_FAILED = 'Order task_id=%s of provider %s %s: %s'  # (task_id, name, status, provider's message)
UNKNOWN_STATUS = 'Unknown status=%s for %s'  # (status, name)
SERVER_ADDED = 'Server=%s is added to the pool'

# ---------------------------------------------------------------- provider calls

UNKNOWN_ACTION = 'Unknown action=%s'
CMD_EMPTY = EXECUTE + ': Command `%s` return empty string'  # command
CMD_ERROR_REPLY = 'cmd=`%s` return %s'  # (command, error_message)
CMD_BAD_ERROR_REPLY = '%s (%s: bad error reply, %s)'  # (CMD_ERROR_REPLY text, where, reason)
CMD_FAILED = EXECUTE + ': Command `%s` %s (%s)'  # (command, timed out ... and was killed, where)
CMD_NOT_JSON = EXECUTE + ': Command `%s` (%s) did not return one JSON object: %s (exit status %s)'
CMD_NOT_OBJECT = EXECUTE + ': Command `%s` (%s) returned JSON %s, not an object'
CMD_BAD_REPLY = EXECUTE + ': Command `%s` (%s) returned a bad reply: %s'
CMD_STDERR = '%s; stderr: %s'  # (message, end of the provider's stderr)

# ---------------------------------------------------------------- input checks, the command's line

INVALID_ID = 'bxenv: invalid %s %s: %s'  # (what, quoted value, reason)
INVALID_HOSTNAME = ('bxenv: invalid hostname %s: use letters, digits, "-", "_" and dots '
                    'between labels, at most 253 characters, not an address')
UNKNOWN_OPTION = 'Unknown option: %s'
OPTION_REPEATED = 'Option %s given more than once'
UNEXPECTED_ARGUMENT = 'Unexpected argument: %s'

# ---------------------------------------------------------------- pool-add

CANNOT_USE_SERVER = 'Host::createHost: cannot use %s for add'
NOT_A_DNS_NAME = 'Host::createHost: %s is not a valid DNS name'
ALREADY_IN_POOL = 'Host::createHost: %s is already in the pool as %s'  # (server, name)
NAME_REFUSED = 'Host::createHost: name %s for %s (from the %s) cannot be used in the pool: %s'
NAME_USED = 'Host::createHost: name %s for %s is already used in the pool by %s'  # (name, server, address)
POOL_NOT_CREATED = 'pool_not_created'
POOL_NOT_CREATED_BECAUSE = POOL_NOT_CREATED + ': %s; %s'  # (what is wrong, where; what a pool folder holds)
CANNOT_UPDATE_GROUP = 'Host::add_to_group: Cannot update group hosts'
GROUP_CANNOT_OPEN = 'Host::add_to_group: Cannot open %s: %s'  # (path, strerror)
KEY_NO_CONFIG = 'BX_KEY_VIEW: Cannot open main config %s: %s; %s'  # (cfg, strerror, what a pool folder holds)
KEY_NO_DIRECTIVE = ('BX_KEY_VIEW: Not found private_key_file derictive in config %s; add a line '
                    '"private_key_file = <path of the pool\'s private key>" to it')
# (path, cfg)
KEY_MISSING_PRIVATE = ('BX_KEY_VIEW: Record private_key_file found in the config, but private key does not exist '
                       'in FS: %s (private_key_file in %s)')
KEY_MISSING_PUBLIC = ('BX_KEY_VIEW: Record private_key_file found in the config, but public key does not exist '
                      'in FS: %s (private_key_file in %s)')

# ---------------------------------------------------------------- key copy

WRONG_PASSWORD = 'User enter incorrect password'
# error=<code>, then the log file the key copy was given.
CHANGE_PASSWORD = 'User must change password, error=%s: please view log file %s'
OTHER_ERROR = 'The error occurred, error=%s: please view log file %s'
NO_SSH = 'bxenv: the OpenSSH client (ssh) is needed to copy the pool key'

# ---------------------------------------------------------------- install, uninstall

DATA_CREATED = PROVIDER + ': Provider data created, you can found it in %s'  # holder
DATA_DELETED = PROVIDER + ': Provider data deleted from %s'  # holder
ARCHIVE_NOT_FOUND = PROVIDER + ': not found %s'
ARCHIVE_NOT_SUPPORTED = PROVIDER + ': not supported archive (only support tar.gz, tgz, tar.bz2, tar.xz, zip)'
ARCHIVE_BAD = PROVIDER + ': archive %s: %s'  # (archive, reason)
ARCHIVE_BAD_MEMBER = PROVIDER + ': archive %s: member %r: %s'  # (archive, member, reason)
ARCHIVE_NO_HELP = PROVIDER + ': archive %s: bin/%s does not answer help with a valid reply: %s'
STAGING_NOT_EMPTY = PROVIDER + ': staging folder %s is not empty'
NO_USER = PROVIDER + ': user %s does not exist on the host'
NO_GROUP = PROVIDER + ': group %s does not exist on the host'
UNKNOWN_INSTALLED = PROVIDER + ': cannot tell which archive %s holds: %s (force: true reinstalls it)'
CANNOT_KEEP_CONFIG = PROVIDER + ": cannot keep the config %s: %s (replace_config: true installs the archive's)"
CANNOT_INSTALL = PROVIDER + ': cannot install provider %s from %s: %s'  # (name, archive, reason)
HOLDER_SYMLINK = PROVIDER + ': %s is a symlink; not replacing it with an archive'
HOLDER_NOT_FOLDER = PROVIDER + ': %s exists and is not a folder'
CANNOT_REMOVE = PROVIDER + ': cannot remove provider %s: %s'  # (name, reason)
ORDERS_PENDING = (PROVIDER + ': Provider %s has orders that are not complete: %s; '
                  'not removing %s (force: true removes it anyway)')  # (name, task ids, holder)
