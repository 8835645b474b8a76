# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""What every bitrix.bxenv module shares: options, the providers, one failure path.

This is the only module_utils file that knows about AnsibleModule; the core
stays plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders, _pool
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import mask_secrets
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    DEFAULT_PROVIDERS_DIR,
    DEFAULT_TIMEOUT,
    HAS_JSONSCHEMA,
    JSONSCHEMA_IMPORT_ERROR,
    SETTING_RANGES,
    Providers,
    check_settings,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._runner import DEFAULT_MAX_OUTPUT


def provider_argument_spec():
    """Options of every module that runs providers (doc fragment ``bitrix.bxenv.provider``)."""
    return dict(
        providers_dir=dict(type='path', default=DEFAULT_PROVIDERS_DIR),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        max_output=dict(type='int', default=DEFAULT_MAX_OUTPUT),
    )


def secrets_argument_spec():
    """``bitrix.bxenv.provider.secrets``."""
    return dict(reveal_secrets=dict(type='bool', default=False))


def wait_argument_spec():
    """``bitrix.bxenv.provider.wait``; checked by ``check_wait``."""
    return dict(
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=_orders.DEFAULT_WAIT_TIMEOUT),
        poll_interval=dict(type='int', default=_orders.DEFAULT_POLL_INTERVAL),
    )


def pool_argument_spec():
    """``bitrix.bxenv.provider.pool``."""
    return dict(pool_dir=dict(type='path', default=_pool.DEFAULT_POOL_DIR))


def argument_spec(*parts, **options):
    """One argspec from the shared parts and the module's own ``options``."""
    spec = {}
    for part in parts:
        spec.update(part())
    spec.update(options)
    return spec


def check_numbers(module):
    """Fail on a numeric option outside its documented range (all of the
    module's options that ``check_settings`` knows, checked there)."""
    try:
        check_settings(**dict((name, module.params[name]) for name in SETTING_RANGES if name in module.params))
    except BxError as exc:
        module.fail_json(msg=exc.message)


def check_wait(module):
    """Fail on waiting options no wait can use."""
    check_numbers(module)


def providers_for(module):
    """Check the options and build the core's Providers (on the one runner)."""
    if not HAS_JSONSCHEMA:
        module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    check_numbers(module)
    params = module.params
    return Providers(params['providers_dir'], timeout=params['timeout'], max_output=params['max_output'])


def shown(module, value):
    """``value`` with secrets masked unless the task asked to reveal them."""
    return value if module.params.get('reveal_secrets') else mask_secrets(value)


def fail_with(module, error, **extra):
    """The original's error document as a module failure: ``msg``, ``error``, ``message``."""
    module.fail_json(msg=error.message, error=error.code, message=error.message, **extra)


def run_or_fail(module, func, *args, **kwargs):
    """Call the core; a BxError becomes the one failure path of every module."""
    try:
        return func(*args, **kwargs)
    except BxError as exc:
        fail_with(module, exc)
