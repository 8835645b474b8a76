# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""What every bitrix.bxenv module shares: options, the providers, one failure
path (``run_or_fail``) and one result path (``exit_with``).

The options of the modules that wait for orders and add servers are in
``_module_pool``. These two are the only module_utils files that know about
AnsibleModule; the core stays plain Python.
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


def run_or_fail(module, func, *args, **kwargs):
    """Call the core and return what it returns: the one failure path of every module.

    A list given as ``warnings=`` goes to ``func`` and its entries become the
    module's warnings, on success and on failure. A BxError fails the module
    with the original's error document (``msg`` and ``message``: its message,
    ``error``: its code) and its ``details`` (``task_id``, ``uncertain``, what
    a wait saw...; None values left out), secrets masked as ``shown`` does.
    """
    try:
        value, error = func(*args, **kwargs), None
    except BxError as exc:
        value, error = None, exc
    for warning in kwargs.get('warnings') or ():
        module.warn(warning)
    if error is not None:
        details = dict((key, item) for key, item in getattr(error, 'details', {}).items() if item is not None)
        module.fail_json(msg=error.message, error=error.code, message=error.message, **shown(module, details))
    return value


def exit_with(module, result):
    """The one result path of every module: the core's ``result`` with secrets
    masked (``shown``), ``msg`` from ``message`` when it has none, and
    ``diff`` only in diff mode; a result whose ``failed`` is true fails the
    task with all of it."""
    result = dict(result)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    if 'message' in result:
        result.setdefault('msg', result['message'])
    if result.pop('failed', False):
        module.fail_json(**shown(module, result))
    module.exit_json(**shown(module, result))
