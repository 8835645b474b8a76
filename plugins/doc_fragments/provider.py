# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options every module that calls provider plugins shares.
    DOCUMENTATION = r'''
options:
  providers_dir:
    description:
      - Folder holding one sub-folder per provider plugin (C(<providers_dir>/<name>/bin/<name>)).
    type: path
    default: /opt/webdir/providers
  timeout:
    description:
      - Seconds one provider call may take, however long it stays silent. A
        provider still running then is terminated with its whole process group
        (and killed 3 seconds later) and the call fails saying so.
    type: int
    default: 60
  max_output:
    description:
      - Bytes a provider call may write on stdout, and again on stderr. A
        provider that writes more is killed and the call fails saying so, so
        a runaway provider cannot fill the memory.
    type: int
    default: 16777216
  reveal_secrets:
    description:
      - Return C(server_password) and every other key matching C(password)
        (any case) in provider replies as they are.
      - By default they are replaced by C(********) in every result.
    type: bool
    default: false
requirements:
  - jsonschema (Python library, on the host the module runs on)
'''

    # Attributes shared by all modules.
    ATTRIBUTES = r'''
attributes:
  action_group:
    description: Use C(group/bitrix.bxenv.bx) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - bitrix.bxenv.bx
'''
