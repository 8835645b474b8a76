#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_provider_check
short_description: Check that a provider plugin works with the collection (the provider author kit)
version_added: 0.1.0
description:
  - Runs a provider plugin, a folder C(<name>/) with C(bin/<name>) or a plugin
    archive, through the collection's own runner, reply checks and JSON Schemas
    and, for an archive, the safety checks of install, and reports every
    finding. Passing the check means the plugin works with the collection.
  - The plugin runs from a copy in a private temporary providers root that is
    removed afterwards; nothing of the author's is changed. Each call gets
    empty stdin, no terminal, only C(PATH) in its environment and the plugin
    folder as its working folder.
  - The checks, their ids, levels and rules are listed in
    C(docs/provider-check.md) of the collection.
  - Fails, naming the failed check ids, when a check fails.
  - Needs no root, appliance or network; only O(level=order) with
    O(allow_order=true) places an order (one at most).
author:
  - bitrix.bxenv maintainers (@bxenv)
options:
  path:
    description:
      - The plugin folder C(<name>/) or its archive (C(.tar.gz), C(.tgz),
        C(.tar.bz2), C(.tar.xz) or C(.zip)) on the host the module runs on.
    type: path
    required: true
  level:
    description:
      - How far to check. C(static) runs nothing; C(protocol) adds the calls
        of C(help), C(configs) and error cases; C(robust) adds the output
        discipline, concurrency and timing; C(order) adds one real order and
        is the only level that ever calls C(order).
    type: str
    choices: [static, protocol, robust, order]
    default: robust
  allow_order:
    description:
      - With O(level=order), place a real order of O(config_id). Without it
        the order checks are skipped.
    type: bool
    default: false
  config_id:
    description:
      - The configuration to order (required with O(level=order) and O(allow_order=true)).
    type: str
  max_orders:
    description:
      - Most orders the check may place, from C(0) to C(100); it places one.
    type: int
    default: 1
  repeat:
    description:
      - Calls of C(help) and C(configs) each for the timing, from C(1) to C(100).
    type: int
    default: 3
  timeout:
    description:
      - Seconds each call may take (the collection's C(timeout)), from C(1) to C(86400).
    type: int
    default: 60
  wait_timeout:
    description:
      - Seconds to wait for an order placed to be C(finished).
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between C(order_status) calls while waiting.
    type: int
    default: 10
  waivers:
    description:
      - Checks that may fail, each with the reason. A waived failure does not
        fail the task; a waiver of a check that does not fail does, so the
        list only shrinks.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The check id, for example C(robust.timing).
        type: str
        required: true
      reason:
        description: Why the check may fail; required.
        type: str
        required: true
extends_documentation_fragment: [bitrix.bxenv.provider.attributes, bitrix.bxenv.provider.read_only]
notes:
  - Needs the Python library C(jsonschema) on the host the module runs on.
  - Authors without Ansible use the C(bx-provider-check) command, built from
    the collection (see C(docs/provider-check.md)).
requirements:
  - jsonschema
'''

EXAMPLES = r'''
- name: Check a plugin archive before it is installed
  bitrix.bxenv.bx_provider_check:
    path: /tmp/superprovider.tar.gz

- name: Check a plugin folder, with one known failure waived
  bitrix.bxenv.bx_provider_check:
    path: /home/author/superprovider
    waivers:
      - id: robust.timing
        reason: the cloud API takes 8 s to list configurations

- name: Place one real order of configuration 1 and follow it to finished
  bitrix.bxenv.bx_provider_check:
    path: /home/author/superprovider
    level: order
    allow_order: true
    config_id: "1"
  register: checked

- name: Show the task ids bought
  ansible.builtin.debug:
    var: checked.ordered
'''

RETURN = r'''
checks:
  description:
    - One entry per check of the level, in a fixed order; C(docs/schemas/check-report.json)
      is its schema.
    - A failure about a call also has C(argv), C(rc), C(duration), the start of
      C(stdout) and C(stderr), and C(reproduce), a shell line that repeats it.
  returned: always
  type: list
  elements: dict
  sample:
    - id: protocol.help-schema
      level: protocol
      result: pass
      rule: help gives a successful reply valid against schemas/help.json
      message: 'help: {"options": ["help", "configs"], "status": "enabled"}'
      reference: docs/protocol.md sections 2, 3
summary:
  description: How many checks gave each result.
  returned: always
  type: dict
  sample: {pass: 22, fail: 0, warn: 0, skip: 1, waived: 0}
ordered:
  description: The task ids of the orders the check placed (bought servers).
  returned: always
  type: list
  elements: str
  sample: ["1001"]
plugin:
  description: The plugin's name and the path checked.
  returned: always
  type: dict
  sample: {name: superprovider, path: /tmp/superprovider.tar.gz}
level:
  description: The level checked.
  returned: always
  type: str
  sample: robust
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.bitrix.bxenv.plugins.module_utils import _check
from ansible_collections.bitrix.bxenv.plugins.module_utils._check_catalog import LEVELS
from ansible_collections.bitrix.bxenv.plugins.module_utils._module import exit_with, run_or_fail
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import (
    DEFAULT_TIMEOUT, HAS_JSONSCHEMA, JSONSCHEMA_IMPORT_ERROR,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            level=dict(type='str', default=_check.DEFAULT_LEVEL, choices=list(LEVELS)),
            allow_order=dict(type='bool', default=False),
            config_id=dict(type='str'),
            max_orders=dict(type='int', default=_check.DEFAULT_MAX_ORDERS),
            repeat=dict(type='int', default=_check.DEFAULT_REPEAT),
            timeout=dict(type='int', default=DEFAULT_TIMEOUT),
            wait_timeout=dict(type='int', default=_check.DEFAULT_WAIT_TIMEOUT),
            poll_interval=dict(type='int', default=_check.DEFAULT_POLL_INTERVAL),
            waivers=dict(type='list', elements='dict', default=[], options=dict(
                id=dict(type='str', required=True),
                reason=dict(type='str', required=True),
            )),
        ),
        supports_check_mode=True,
    )
    if not HAS_JSONSCHEMA:
        module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    params = module.params
    report = run_or_fail(module, _check.check, params['path'], level=params['level'],
                         allow_order=params['allow_order'], config_id=params['config_id'],
                         max_orders=params['max_orders'], repeat=params['repeat'], timeout=params['timeout'],
                         waivers=params['waivers'], wait_timeout=params['wait_timeout'],
                         poll_interval=params['poll_interval'])
    failed = _check.failed(report)
    if failed:
        module.fail_json(msg='provider check failed: %s' % ', '.join(failed), changed=False, **report)
    exit_with(module, dict(report, changed=False))


if __name__ == '__main__':
    main()
