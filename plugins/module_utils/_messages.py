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

# ---------------------------------------------------------------- list, status, configs

LIST_CANNOT_OPEN_ROOT = 'bxProviders: Cannot open dircetory %s: %s'  # (root, reason)
ORDERS_LIST_CANNOT_OPEN_ROOT = 'bxProviders: Cannot open directory %s: %s'  # (root, reason)
PROVIDER_NOT_EXIST = 'bxProvider::optionsProvider: Provider %s not exist on the host'  # name
# (name, status) and name: a provider that is ``not_exists`` or ``disabled``,
# one whose options lack what the action needs.
CONFIGS_UNUSABLE = 'bxProvider::configsProvider: Provider %s %s on the host'
CONFIGS_UNSUPPORTED = "bxProvider::configsProvider: Provider %s doesn't support configs option"

# ---------------------------------------------------------------- order

ORDER_NO_CONFIG_ID = 'bxProvider::order2Provider: You must provide config_id for order'
ORDER_UNUSABLE = 'bxProvider::order2Provider: Provider %s %s on the host'
ORDER_UNSUPPORTED = "bxProvider::order2Provider: Provider %s doesn't support order option"
ORDER_NO_TASK_ID = "bxProvider::order2Provider: Provider %s doesn't return task_id"
ORDER_CANNOT_SAVE = 'bxProvider::order2Provider: Cannot save %s: %s'  # (path, reason)
# Appended to an order's failure whose outcome is uncertain (section 6.4).
ORDER_MAYBE_PLACED = '%s; provider %s may have placed the order: check with the provider before ordering again'
ORDER_MAYBE_PLACED_AS = '%s; provider %s may have placed the order as task_id=%s%s'  # (..., ' (recorded in <path>)' or '')

# ---------------------------------------------------------------- order_status, orders_list

ORDER_STATUS_NO_TASK_ID = 'bxProvider::order_status2Provider: You must provide task_id for status request'
ORDER_STATUS_UNUSABLE = 'bxProvider::order_status2Provider: Provider %s %s on the host'
ORDER_STATUS_UNSUPPORTED = "bxProvider::order_status2Provider: Provider %s doesn't support order_status option"
ORDER_STATUS_NO_STATUS = "bxProvider::order_status2Provider: Provider %s doesn't return status for task_id=%s"
TASK_FILE_CANNOT_OPEN = 'Cannot open %s: %s'  # (path, reason)
LIST_ORDERS_UNUSABLE = 'bxProvider::listOrders4Provider: Provider %s %s on the host'
LIST_ORDERS_UNSUPPORTED = "bxProvider::listOrders4Provider: Provider %s doesn't support order_status option"
TASKS_CANNOT_OPEN = 'bxProvider: Cannot open dircetory %s: %s'  # (tasks folder, reason)

# ---------------------------------------------------------------- order_to_host

TO_HOST_NO_TASK_ID = 'bxProvider::order_to_hostProvider: You must provide task_id for status request'
TO_HOST_UNUSABLE = 'bxProvider::order_to_hostProvider: Provider %s %s on the host'
TO_HOST_UNSUPPORTED = "bxProvider::order_to_hostProvider: Provider %s doesn't support order_status option"
TO_HOST_NO_STATUS = "bxProvider::order_to_hostProvider: Provider %s doesn't return status for task_id=%s"
TO_HOST_CANNOT_OPEN = 'bxProvider::order_to_hostProvider: Cannot open file=%s:%s'  # (path, reason)
TO_HOST_NOT_SAVED = 'bxProvider::order_to_hostProvider: Not found saved task_id=%s on this server'
TO_HOST_ALREADY = 'bxProvider::order_to_hostProvider: task_id=%s already %s'  # (task_id, task file content)
TO_HOST_UNEXPECTED = 'bxProvider::order_to_hostProvider: task_id=%s has unexpected content in %s: %r'
TO_HOST_FAILED = 'Order task_id=%s of provider %s %s: %s'  # (task_id, name, status, provider's message)
UNKNOWN_STATUS = 'Unknown status=%s for %s'  # (status, name)
SERVER_ADDED = 'Server=%s is added to the pool'

# ---------------------------------------------------------------- provider calls

UNKNOWN_ACTION = 'Unknown action=%s'
CMD_EMPTY = 'bxProvider::executeProviderCmd: Command `%s` return empty string'  # command
CMD_ERROR_REPLY = 'cmd=`%s` return %s'  # (command, error_message)
CMD_BAD_ERROR_REPLY = '%s (%s: bad error reply, %s)'  # (CMD_ERROR_REPLY text, where, reason)
CMD_FAILED = 'bxProvider::executeProviderCmd: Command `%s` %s (%s)'  # (command, timed out ... and was killed, where)
CMD_NOT_JSON = 'bxProvider::executeProviderCmd: Command `%s` (%s) did not return one JSON object: %s (exit status %s)'
CMD_NOT_OBJECT = 'bxProvider::executeProviderCmd: Command `%s` (%s) returned JSON %s, not an object'
CMD_BAD_REPLY = 'bxProvider::executeProviderCmd: Command `%s` (%s) returned a bad reply: %s'
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

DATA_CREATED = 'bxProvider: Provider data created, you can found it in %s'  # holder
DATA_DELETED = 'bxProvider: Provider data deleted from %s'  # holder
ARCHIVE_NOT_FOUND = 'bxProvider: not found %s'
ARCHIVE_NOT_SUPPORTED = 'bxProvider: not supported archive (only support tar.gz, tgz, tar.bz2, tar.xz, zip)'
ARCHIVE_BAD = 'bxProvider: archive %s: %s'  # (archive, reason)
ARCHIVE_BAD_MEMBER = 'bxProvider: archive %s: member %r: %s'  # (archive, member, reason)
ARCHIVE_NO_HELP = 'bxProvider: archive %s: bin/%s does not answer help with a valid reply: %s'
STAGING_NOT_EMPTY = 'bxProvider: staging folder %s is not empty'
NO_USER = 'bxProvider: user %s does not exist on the host'
NO_GROUP = 'bxProvider: group %s does not exist on the host'
UNKNOWN_INSTALLED = 'bxProvider: cannot tell which archive %s holds: %s (force: true reinstalls it)'
CANNOT_KEEP_CONFIG = "bxProvider: cannot keep the config %s: %s (replace_config: true installs the archive's)"
CANNOT_INSTALL = 'bxProvider: cannot install provider %s from %s: %s'  # (name, archive, reason)
HOLDER_SYMLINK = 'bxProvider: %s is a symlink; not replacing it with an archive'
HOLDER_NOT_FOLDER = 'bxProvider: %s exists and is not a folder'
CANNOT_REMOVE = 'bxProvider: cannot remove provider %s: %s'  # (name, reason)
ORDERS_PENDING = ('bxProvider: Provider %s has orders that are not complete: %s; '
                  'not removing %s (force: true removes it anyway)')  # (name, task ids, holder)
