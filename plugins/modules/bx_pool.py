#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_pool
short_description: Bring the BitrixVM server pool to a list of servers ordered from provider plugins
version_added: 0.2.0
description:
  - States the servers the pool should have, each an order of a provider
    plugin named by a label (O(servers[].name), the labels of
    M(bitrix.bxenv.bx_provider_order)). The module orders what is missing,
    waits for all orders together and adds each server to the pool as soon
    as its order is finished, with the key copy of M(bitrix.bxenv.bx_order_to_host).
  - A labelled order counts as present whatever its status. In progress is
    waited for, V(finished) is added, V(complete) (in the pool) is left
    alone, V(error) or V(failed) fails that entry; a new server needs a new
    name. A label whose order has another O(servers[].config_id) fails that
    entry and buys nothing. Nothing is ever deleted (the protocol has no
    delete); labelled orders the list no longer names are returned in
    RV(unlisted).
  - Orders of one provider run in parallel. Each name has its own lock, so
    two runs of the same list at the same moment place each order once and
    both end green. Install, upgrade and removal of the provider still wait
    for every order in flight.
  - Key copies run in parallel; only the pool write runs under the pool
    lock, atomically. One entry's failure never stops the others; the task
    then fails naming each failed entry and its stage (V(order), V(wait),
    V(pool add)) in RV(failed_names) and RV(servers[].error).
  - A run killed at any moment never leads a later run to buy a server a
    second time. An entry whose order was in flight when a run died fails
    alone as V(unknown_outcome), with the way out in its message (take the
    order over with O(servers[].task_id), or list the name in
    O(forget_pending)), unless the provider offers C(order_token) (see the
    protocol, section 3), in which case the order is asked for again with the same
    token and the provider returns the order it placed.
  - The pool's set-up playbook is not run; the role C(bitrix.bxenv.pool) runs
    it for the new hosts one at a time.
author:
  - bitrix.bxenv maintainers (@bxenv)
extends_documentation_fragment: [bitrix.bxenv.provider, bitrix.bxenv.provider.secrets, bitrix.bxenv.provider.pool, bitrix.bxenv.provider.attributes]
options:
  servers:
    description: The servers the pool should have.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The order's label, unique per provider; letters, digits, C(.), C(_), C(-).
          - The same labels as O(bitrix.bxenv.bx_provider_order#module:name).
        type: str
        required: true
      provider:
        description: Provider plugin name (a folder name under O(providers_dir)).
        type: str
        required: true
      config_id:
        description: The configuration to order, as the provider's C(configs) lists it.
        type: str
        required: true
      task_id:
        description:
          - Take over an order placed earlier (by C(bx-provider), the web
            interface or a run that died); the label is given to it instead of
            ordering. Its task file must exist.
        type: str
      hostname:
        description: Inventory name for the new server instead of the naming rule, as in M(bitrix.bxenv.bx_order_to_host).
        type: str
  wait:
    description:
      - Wait for the orders until they are finished and add their servers.
      - With V(false), orders are placed, finished ones are added, and the
        rest are returned with state V(pending) without failing.
    type: bool
    default: true
  wait_timeout:
    description:
      - One deadline in seconds for the whole run, from C(0) to C(604800).
      - Orders still in progress then are returned with state V(pending) and
        fail the task; they are not failed orders and are never placed again,
        so running the task again goes on waiting.
    type: int
    default: 1800
  poll_interval:
    description:
      - The base of each order's wait between two status calls, from C(1) to C(3600).
      - The wait grows by half at every call up to twice this value,
        each drawn within 10% of it, so many orders do not poll in step.
    type: int
    default: 15
  workers:
    description: Provider calls (orders, status calls) and key copies at once, from C(1) to C(64).
    type: int
    default: 8
  slow_start:
    description:
      - Per provider and configuration, place one order first and the rest
        only after one was accepted, in batches that double, so a
        configuration the provider refuses costs one call, not ten.
    type: bool
    default: true
  forget_pending:
    description:
      - Names whose order was in flight when a run died, that you checked the
        provider did not place; they are ordered again. A name here that
        O(servers) does not list fails the task.
    type: list
    elements: str
    default: []
  retry_failed:
    description: Run the pool-add again for an order whose task file says V(error), as in M(bitrix.bxenv.bx_order_to_host).
    type: bool
    default: false
attributes:
  check_mode:
    description: Calls only the providers' C(help) and C(order_status) and writes nothing; C(changed) is true exactly when RV(plan) is not empty.
    support: full
  diff_mode:
    description: Shows the pool's C(hosts) and changed C(host_vars) files before and after (C(host_pass) and C(host_id) masked).
    support: full
seealso:
  - module: bitrix.bxenv.bx_provider_order
  - module: bitrix.bxenv.bx_order_to_host
'''

EXAMPLES = r'''
- name: Three web servers before the sale
  bitrix.bxenv.bx_pool:
    servers:
      - {name: web-1, provider: hetzner, config_id: cx22}
      - {name: web-2, provider: hetzner, config_id: cx22}
      - {name: web-3, provider: hetzner, config_id: cx22}
  register: pool

- name: Take over an order placed in the web interface
  bitrix.bxenv.bx_pool:
    servers:
      - {name: db-1, provider: hetzner, config_id: cx42, task_id: "1f2e3d"}

- name: See what would be ordered and added
  bitrix.bxenv.bx_pool:
    servers: "{{ wanted_servers }}"
  check_mode: true
  diff: true
'''

RETURN = r'''
servers:
  description: One entry per listed server, in the list's order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The label.
      type: str
    provider:
      description: The provider.
      type: str
    config_id:
      description: The configuration listed.
      type: str
    task_id:
      description: The order's id; null when none was placed.
      type: str
    action:
      description:
        - V(ordered) (placed by this run), V(adopted) (O(servers[].task_id)
          taken over), V(existing) (the label named an order already), or
          V(would_order) (check mode); null when the order was not placed.
      type: str
    state:
      description:
        - V(added) (added to the pool by this run), V(in_pool) (added
          before), V(would_add) and V(not_ordered) (check mode), V(pending)
          (not finished), V(unknown_outcome) (a run died while ordering it)
          or V(failed).
      type: str
    host:
      description: The pool host, C(name) and C(address), once known.
      type: dict
    error:
      description: C(stage) (V(order), V(wait), V(pool add)) and C(message); null when the entry did not fail.
      type: dict
    uncertain:
      description: True when the provider may have placed an order that this run could not record.
      type: bool
    elapsed:
      description: Seconds from the start of the run until the entry was settled.
      type: float
  sample:
    - name: web-1
      provider: hetzner
      config_id: cx22
      task_id: "4711"
      action: ordered
      state: added
      host: {name: server2, address: 203.0.113.7}
      error: null
      uncertain: false
      elapsed: 312.4
plan:
  description: What the run found to change before it started, one entry a change (C(name), C(provider), C(action) V(order), V(adopt) or V(add)).
  returned: always
  type: list
  elements: dict
  sample: [{name: web-3, provider: hetzner, action: order}]
unlisted:
  description: Labelled orders of the listed providers that the list does not name (C(provider), C(name), C(task_id)); never deleted.
  returned: always
  type: list
  elements: dict
summary:
  description: How many entries ended in each state and action, and C(total).
  returned: always
  type: dict
  sample: {added: 2, in_pool: 1, ordered: 2, existing: 1, total: 3}
failed_names:
  description: The names of the entries that failed.
  returned: always
  type: list
  elements: str
pool_dir:
  description: The pool folder (O(pool_dir)).
  returned: always
  type: str
  sample: /etc/ansible
setup_playbook:
  description:
    - The pool's set-up playbook to run for each new host, which is
      C(monitor.yml) when C(group_vars/bitrix-hosts.yml) enables monitoring
      and C(common.yml) otherwise. C(exists) says whether it is there.
  returned: always
  type: dict
  sample: {path: /etc/ansible/common.yml, name: common.yml, exists: true, monitoring: false}
known_hosts_file:
  description: Where the new servers' host keys were recorded.
  returned: always
  type: str
  sample: /etc/ansible/.ssh/known_hosts
pool_key_file:
  description:
    - The private key that reaches pool servers (O(ssh_key_file), else the
      C(private_key_file) of the pool's C(ansible.cfg)); null when the pool names none.
  returned: always
  type: str
  sample: /etc/ansible/.ssh/id_rsa
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bitrix.bxenv.plugins.module_utils._module import (
    argument_spec, exit_with, provider_argument_spec, providers_for, run_or_fail,
    secrets_argument_spec,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._module_pool import pool_argument_spec, ssh_options
from ansible_collections.bitrix.bxenv.plugins.module_utils._orders import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from ansible_collections.bitrix.bxenv.plugins.module_utils._pool_list import converge
from ansible_collections.bitrix.bxenv.plugins.module_utils._queries import DEFAULT_WORKERS


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            provider_argument_spec, secrets_argument_spec, pool_argument_spec,
            servers=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                provider=dict(type='str', required=True),
                config_id=dict(type='str', required=True),
                task_id=dict(type='str'),
                hostname=dict(type='str'),
            )),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
            poll_interval=dict(type='int', default=DEFAULT_POLL_INTERVAL),
            workers=dict(type='int', default=DEFAULT_WORKERS),
            slow_start=dict(type='bool', default=True),
            forget_pending=dict(type='list', elements='str', default=[]),
            retry_failed=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = run_or_fail(
        module, converge, providers_for(module), params['servers'], params['pool_dir'], wait=params['wait'],
        wait_timeout=params['wait_timeout'], poll_interval=params['poll_interval'], workers=params['workers'],
        slow_start=params['slow_start'], forget_pending=params['forget_pending'], ssh=ssh_options(module),
        key_file=params['ssh_key_file'], retry_failed=params['retry_failed'], check_mode=module.check_mode)
    exit_with(module, result)


if __name__ == '__main__':
    main()
