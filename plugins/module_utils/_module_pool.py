# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The options of the modules that wait for orders and add servers to the pool.

Apart from ``_module`` so that the modules that do neither (``bx_provider_info``,
``bx_provider_plugin``, ``bx_provider_check``) neither ship nor load the
order, pool and ssh code: each module run starts about 80 ms sooner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders, _pool, _ssh


def wait_argument_spec():
    """``bitrix.bxenv.provider.wait``; read by ``wait_for``."""
    return dict(
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=_orders.DEFAULT_WAIT_TIMEOUT),
        poll_interval=dict(type='int', default=_orders.DEFAULT_POLL_INTERVAL),
    )


def pool_argument_spec():
    """``bitrix.bxenv.provider.pool``: the pool folder and the key copy (``ssh_options``)."""
    return dict(
        pool_dir=dict(type='path', default=_pool.DEFAULT_POOL_DIR),
        ssh_user=dict(type='str', default='root'),
        ssh_port=dict(type='int', default=22),
        ssh_key_file=dict(type='path'),
        ssh_timeout=dict(type='int', default=10),
        ssh_log_file=dict(type='path', default=_ssh.LOG_FILE),
    )


def ssh_options(module):
    """The key copy's options (``_ssh.key_copier``) from ``pool_argument_spec``'s."""
    params = module.params
    return dict(timeout=params['ssh_timeout'], user=params['ssh_user'], port=params['ssh_port'],
                log_file=params['ssh_log_file'])


def wait_for(module):
    """The wait the task asked for, as the core takes it (``{'timeout', 'interval'}``
    of ``_orders.wait``), or None; ``providers_for`` checks the numbers."""
    params = module.params
    return dict(timeout=params['wait_timeout'], interval=params['poll_interval']) if params['wait'] else None
