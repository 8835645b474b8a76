# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's ``main()`` in-process and return its parsed JSON result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest
from ansible.module_utils.common import warnings

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


@pytest.fixture
def run_module(capsys):
    def run(module, args, check_mode=False):
        # Warnings are process-wide in AnsibleModule: each run starts clean,
        # as a real module process does.
        warnings._global_warnings.clear()
        warnings._global_deprecations.clear()
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        return json.loads(out)
    return run
