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

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import mask_secrets
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    DEFAULT_PROVIDERS_DIR,
    DEFAULT_TIMEOUT,
    HAS_JSONSCHEMA,
    JSONSCHEMA_IMPORT_ERROR,
    Providers,
    check_settings,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._runner import DEFAULT_MAX_OUTPUT


def provider_argument_spec():
    """Options shared by the provider modules (doc fragment ``bitrix.bxenv.provider``)."""
    return dict(
        providers_dir=dict(type='path', default=DEFAULT_PROVIDERS_DIR),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        max_output=dict(type='int', default=DEFAULT_MAX_OUTPUT),
        reveal_secrets=dict(type='bool', default=False),
    )


def providers_for(module):
    """Check the common options and build the core's Providers (on the one runner)."""
    if not HAS_JSONSCHEMA:
        module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    params = module.params
    max_output = params.get('max_output', DEFAULT_MAX_OUTPUT)
    try:
        check_settings(params['timeout'], max_output, params.get('workers', 1))
    except BxError as exc:
        module.fail_json(msg=exc.message)
    return Providers(params['providers_dir'], timeout=params['timeout'], max_output=max_output)


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
