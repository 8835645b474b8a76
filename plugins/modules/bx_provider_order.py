#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_provider_order
short_description: Order a server from a BitrixVM provider plugin, optionally wait for it
version_added: 0.1.0
description:
  - Places an order with a provider plugin, as C(bx-provider -a order --provider <provider> --config_id <config_id>)
    does, and returns under RV(params) the document the original prints.
  - The provider is run as C(<bin> order <config_id>), with an argument list
    (never through a shell) and a timeout. The empty task file
    C(<providers_dir>/<provider>/tasks/<task_id>) is written exactly as the
    original writes it (C(tasks/) is created with mode 0770 minus umask when
    missing), so the original tool and M(bitrix.bxenv.bx_provider_info) list
    the order and M(bitrix.bxenv.bx_order_to_host) can add its server to the pool.
  - B(Without O(name) every run places a new order.) Give the order a O(name)
    to make the task idempotent; see O(name).
  - With O(wait=true) the module follows the order until the provider reports
    it C(finished). The order itself is never placed again.
  - Where the original prints an error document, the module fails with C(msg)
    set to the original message and also returns RV(error) and RV(message).
    A failure after the order was placed also returns RV(task_id).
  - A failure after the provider was asked to order (it timed out, its reply
    broke the protocol, or the task file or label could not be written) may
    leave an order behind. The module then also returns RV(uncertain=true),
    its message says that the provider may have placed the order, and
    RV(task_id) when the reply named one (its task file is written, so
    M(bitrix.bxenv.bx_provider_info) lists it). Do not simply order again.
    With O(name), a re-run returns that order or fails, and never orders
    a second time.
author:
  - bitrix.bxenv maintainers (@bxenv)
options:
  provider:
    description:
      - Provider plugin name (a folder name under O(providers_dir)).
    type: str
    required: true
  config_id:
    description:
      - Id of the server configuration to order, one of the C(id) values that
        M(bitrix.bxenv.bx_provider_info) returns with O(bitrix.bxenv.bx_provider_info#module:query=configs).
      - Passed to the provider as one argument. 1 to 128 characters, without
        C(/), whitespace, control or shell characters, not starting with C(.)
        or C(-); anything else fails before the provider is called.
    type: str
    required: true
  name:
    description:
      - A label for the order, unique per provider. When an order with this
        label was already placed through this module on this appliance, nothing
        is ordered; the module returns that order (its RV(task_id) and current
        RV(order_status)) with C(changed=false), whatever O(config_id) is.
      - Runs with the same label at the same moment place one order. The
        label check, the order and the label are done under the provider's
        order lock (docs/protocol.md section 6.4 in the collection).
      - The label is the file C(<providers_dir>/<provider>/tasks/.bxenv/labels/<name>)
        holding the task id. Remove that file to place a new order under the
        same label. The original tool does not see this sub-folder.
      - When the label names an order whose task file was removed, that order
        is still returned, with a warning.
      - Same character rules as O(config_id).
    type: str
extends_documentation_fragment: [bitrix.bxenv.provider, bitrix.bxenv.provider.secrets, bitrix.bxenv.provider.wait, bitrix.bxenv.provider.attributes]
attributes:
  check_mode:
    description:
      - Only the read-only C(help) and C(order_status) provider calls run,
        and nothing is written (not even C(tasks/) or the lock folder).
        When an order would be placed, reports C(changed=true) with
        RV(would_order) and a C(msg) saying what would be ordered; when
        O(name) already names an order, reports that order. Never waits.
    support: full
  diff_mode:
    description: The result says what was ordered; there is no diff.
    support: none
  idempotent:
    description: Only with O(name); without it every run places an order.
    support: partial
notes:
  - The provider's order lock is held only while its C(order) call runs;
    waiting for the order happens outside it. A run that cannot get the lock
    in time fails with a clear error and orders nothing (docs/protocol.md
    section 6.4 in the collection).
  - With O(name), a run that dies after calling the provider's C(order) but
    before recording the label, or whose C(order) call timed out or got a
    reply naming no usable task id, leaves a marker in
    C(tasks/.bxenv/ordering/<name>). The next run with that O(name) then
    fails (with RV(uncertain=true)) instead of ordering again, since the
    provider may have placed the order. Find the order with M(bitrix.bxenv.bx_provider_info) O(bitrix.bxenv.bx_provider_info#module:query=orders_list)
    or with the provider, then remove the marker to order again.
seealso:
  - module: bitrix.bxenv.bx_provider_info
  - module: bitrix.bxenv.bx_order_to_host
'''

EXAMPLES = r'''
- name: Order a server once, however often the play runs
  bitrix.bxenv.bx_provider_order:
    provider: superprovider
    config_id: "2"
    name: web-02
  register: placed

- name: Show the order id
  ansible.builtin.debug:
    msg: "{{ placed.task_id }}"

- name: Order and wait up to an hour for the server
  bitrix.bxenv.bx_provider_order:
    provider: superprovider
    config_id: "2"
    name: web-03
    wait: true
    wait_timeout: 3600
    poll_interval: 30
  register: ready

- name: Add the finished server to the pool
  bitrix.bxenv.bx_order_to_host:
    provider: superprovider
    task_id: "{{ ready.task_id }}"

- name: Place a new order on every run (no name)
  bitrix.bxenv.bx_provider_order:
    provider: superprovider
    config_id: "1"
'''

RETURN = r'''
task_id:
  description:
    - Id of the order placed, or of the order O(name) already named, as text.
    - Also returned on a failure after the order was placed, or may have been
      placed, when the provider's reply named it (see RV(uncertain)).
  returned: success, except in check mode when an order would be placed; failure when the order's id is known
  type: str
  sample: "1001"
would_order:
  description:
    - In check mode, the order that would be placed. C(msg) says the same,
      as C(would order configuration <config_id> of <provider>), followed by
      C( (name <name>)) when O(name) is given.
  returned: check mode, when an order would be placed
  type: dict
  contains:
    provider:
      description: O(provider).
      type: str
    config_id:
      description: O(config_id).
      type: str
    name:
      description: O(name), or null.
      type: str
  sample: {provider: superprovider, config_id: "2", name: web-02}
uncertain:
  description:
    - C(true) when the module failed after the provider was asked to order,
      so the order may exist although the module failed (the call timed out,
      the reply broke the protocol, the task file or label could not be
      written, or an earlier run with this O(name) stopped in that state).
    - RV(task_id) is returned with it when the reply named the order.
      Check with the provider before ordering again; a re-run with the same
      O(name) never orders a second time.
  returned: failure, when the provider may have placed an order
  type: bool
  sample: true
params:
  description:
    - C(provider_order) maps the provider name to the provider's C(order)
      reply (unknown keys kept), as C(bx-provider -a order -o json) prints it.
    - When O(name) names an existing order, it is that order's status
      document instead, as O(bitrix.bxenv.bx_provider_info#module:query=order_status) returns it.
    - Secret keys (see O(reveal_secrets)) are C(********) unless O(reveal_secrets=true).
  returned: success, except in check mode when an order would be placed
  type: dict
  contains:
    provider_order:
      description: Provider name to the provider's reply.
      type: dict
      returned: success
  sample:
    provider_order:
      superprovider: {task_id: "1001"}
order_status:
  description:
    - The order's status reply, with the appliance's task file laid over it
      (C(complete), C(error)), as under C(params.provider_order.<provider>) of
      O(bitrix.bxenv.bx_provider_info#module:query=order_status).
    - After waiting, the last status; on a failed wait, the last status seen.
    - Secrets masked as in RV(params).
  returned: when O(name) named an existing order, or after O(wait=true)
  type: dict
  sample:
    task_id: "1001"
    status: finished
    server: 192.0.2.10
    server_password: "********"
polls:
  description: How many status calls the wait made.
  returned: after O(wait=true), on success and on failure
  type: int
  sample: 12
elapsed:
  description: Seconds the wait took.
  returned: after O(wait=true), on success and on failure
  type: float
  sample: 165.2
message:
  description:
    - The message of the original's error document, also in C(msg).
  returned: failure
  type: str
  sample: "bxProvider::order2Provider: Provider superprovider doesn't support order option"
error:
  description: The error code of that document (normally C(1); a provider's own code as it gave it).
  returned: failure
  type: raw
  sample: 1
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bitrix.bxenv.plugins.module_utils._module import (
    argument_spec, exit_with, provider_argument_spec, providers_for,
    run_or_fail, secrets_argument_spec,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._module_pool import wait_argument_spec, wait_for
from ansible_collections.bitrix.bxenv.plugins.module_utils._orders import place_and_wait
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import order_result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            provider_argument_spec, secrets_argument_spec, wait_argument_spec,
            provider=dict(type='str', required=True),
            config_id=dict(type='str', required=True),
            name=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    outcome, waited = run_or_fail(
        module, place_and_wait, providers_for(module), params['provider'], params['config_id'], params['name'],
        check_mode=module.check_mode, wait_for=wait_for(module), warnings=[])
    exit_with(module, order_result(outcome, waited, params['provider'], params['config_id'], params['name']))


if __name__ == '__main__':
    main()
