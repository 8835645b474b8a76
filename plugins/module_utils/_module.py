# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""What every bitrix.bxenv module shares: options, the runner, one failure path.

This is the only module_utils file that knows about AnsibleModule; the core
stays plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import mask_secrets
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    DEFAULT_PROVIDERS_DIR,
    DEFAULT_TIMEOUT,
    HAS_JSONSCHEMA,
    JSONSCHEMA_IMPORT_ERROR,
    Providers,
)


def provider_argument_spec():
    """Options shared by the provider modules (doc fragment ``bitrix.bxenv.provider``)."""
    return dict(
        providers_dir=dict(type='path', default=DEFAULT_PROVIDERS_DIR),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        reveal_secrets=dict(type='bool', default=False),
    )


# How long poll() waits for a child to finish (see settle_poll).
POLL_SETTLE = 0.05


def settle_poll(process):
    """Make ``process.poll()`` wait up to POLL_SETTLE seconds for the exit.

    ansible-core's run_command (2.16 to 2.21) polls twice once the pipes are
    closed: a child that exits between the two calls sends its loop into one
    more select(1) with no pipe left: a lost second for about one call in 150
    here (an ``orders_list`` of 200 calls lost one in most runs). The loop polls
    only when every pipe is closed or has been silent for a second, so the wait
    costs at most 50 ms per silent second. Given to run_command as
    ``before_communicate_callback``.
    """
    def poll():
        try:
            return process.wait(timeout=POLL_SETTLE)
        except subprocess.TimeoutExpired:
            return None
    process.poll = poll


def module_runner(module):
    """The core's runner on ``module.run_command``: argv only, no expansion, no shell."""
    def run(argv, environ_update=None, data=None):
        kwargs = {'before_communicate_callback': settle_poll}
        if environ_update:
            kwargs['environ_update'] = environ_update
        if data is not None:
            kwargs['data'] = data
            kwargs['binary_data'] = True
        return module.run_command(argv, expand_user_and_vars=False, **kwargs)
    return run


def providers_for(module):
    """Check the common options and build the core's Providers."""
    if not HAS_JSONSCHEMA:
        module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    if module.params['timeout'] < 1:
        module.fail_json(msg='timeout must be at least 1 second, got %d' % module.params['timeout'])
    return Providers(
        module.params['providers_dir'],
        module_runner(module),
        timeout=module.params['timeout'],
        timeout_bin=module.get_bin_path('timeout', required=True),
    )


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
