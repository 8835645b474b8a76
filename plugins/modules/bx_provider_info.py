#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_provider_info
short_description: List BitrixVM provider plugins, their configurations and orders
version_added: 0.1.0
description:
  - Read-only queries of the BitrixVM C(bx-provider) tool, returning under
    RV(params) the same document that C(bx-provider -a <query> -o json) prints.
  - Provider plugins are run with an argument list (never through a shell) and
    a timeout; their replies are checked against JSON Schemas. A reply that
    breaks the protocol is an error naming the provider, the action and the
    cause, where the original tool crashed.
  - Where the original prints an error document, the module fails with C(msg)
    set to the original message and also returns RV(error) and RV(message).
author:
  - bitrix.bxenv maintainers (@bxenv)
options:
  query:
    description:
      - C(list) gives every provider's status; a broken provider is an error
        entry and the others are still listed.
      - C(status) gives the provider record (status, config, files, supported options).
      - C(configs) gives the provider's server configurations.
      - C(orders_list) gives the orders placed from this appliance, of one
        O(provider) or of every usable provider. Over all providers, one that
        breaks the protocol (and a folder whose name is not a valid provider
        name) is left out with a warning naming it.
      - C(order_status) gives the provider's status of one order, with the
        appliance's own state of it (complete, error) laid over it.
    type: str
    choices: [list, status, configs, orders_list, order_status]
    default: list
  provider:
    description:
      - Provider plugin name (a folder name under O(providers_dir)).
      - Required for O(query=status), O(query=configs) and O(query=order_status).
    type: str
  task_id:
    description:
      - Order id, for O(query=order_status).
      - 1 to 128 characters, without C(/), whitespace, control or shell
        characters, not starting with C(.) or C(-).
    type: str
  workers:
    description:
      - How many provider calls O(query=list) and O(query=orders_list) run at
        once. C(1) calls providers strictly one after another. The result is
        the same whatever the number. From C(1) to C(64).
    type: int
    default: 8
extends_documentation_fragment: [bitrix.bxenv.provider, bitrix.bxenv.provider.secrets, bitrix.bxenv.provider.attributes, bitrix.bxenv.provider.read_only]
'''

EXAMPLES = r'''
- name: List provider plugins
  bitrix.bxenv.bx_provider_info:
  register: providers

- name: Show what a provider supports
  bitrix.bxenv.bx_provider_info:
    query: status
    provider: superprovider

- name: Server configurations one can order
  bitrix.bxenv.bx_provider_info:
    query: configs
    provider: superprovider
  register: configs

- name: Pick the configuration ids
  ansible.builtin.debug:
    msg: "{{ configs.params.provider_configs.superprovider.configurations | map(attribute='id') }}"

- name: All orders placed from this appliance
  bitrix.bxenv.bx_provider_info:
    query: orders_list

- name: Status of one order
  bitrix.bxenv.bx_provider_info:
    query: order_status
    provider: superprovider
    task_id: "{{ placed.task_id }}"
  register: status

- name: Use the server address once the order is finished
  ansible.builtin.debug:
    msg: "{{ status.params.provider_order.superprovider.server }}"
  when: status.params.provider_order.superprovider.status == 'finished'
'''

RETURN = r'''
params:
  description:
    - The document C(bx-provider -o json) prints under C(params) for the query.
    - C(providers) for O(query=list), C(provider_options) for O(query=status),
      C(provider_configs) for O(query=configs), C(provider_order_list) for
      O(query=orders_list), C(provider_order) for O(query=order_status).
    - Provider replies are passed through with unknown keys intact;
      secret keys (see O(reveal_secrets)) are C(********) unless O(reveal_secrets=true).
  returned: success
  type: dict
  contains:
    providers:
      description:
        - 'Provider name to C({"status": <status>}), or to an error entry
          C({"error": 1, "message": "..."}) for a provider without an
          executable, one that broke the protocol, or a folder whose name is
          not a valid provider name (the message names the problem).'
      returned: O(query=list)
      type: dict
      sample:
        superprovider: {status: enabled}
        broken: {error: 1, message: "bxProvider::optionsProvider: Provider broken not exist on the host"}
    provider_options:
      description:
        - Provider name to its record. C(options) values are C(1) or C(0).
          C(status) is C(not_exists), C(exists) (help failed or gave no status)
          or the status the provider gave.
      returned: O(query=status)
      type: dict
      sample:
        superprovider:
          name: superprovider
          status: enabled
          config: exists
          files:
            holder: /opt/webdir/providers/superprovider
            execute: /opt/webdir/providers/superprovider/bin/superprovider
            config: /opt/webdir/providers/superprovider/etc/superprovider.conf
          options: {help: 1, init: 0, configs: 1, order: 1, order_status: 1}
    provider_configs:
      description: Provider name to the provider's C(configs) reply, as it gave it.
      returned: O(query=configs)
      type: dict
      sample:
        superprovider:
          status: enabled
          configurations:
            - {id: "1", descr: "1 CPU, 1 GB RAM, 20 GB SSD"}
            - {id: "2", descr: "2 CPU, 4 GB RAM, 40 GB SSD"}
    provider_order:
      description:
        - Provider name to the provider's C(order_status) reply.
        - When the appliance marked the order complete (its task file starts
          with V(complete)), the status is V(complete).
        - When it marked it failed (task file V(error) followed by a colon and
          one line), the status is V(error), C(error) is C(1) and C(message)
          is that line.
      returned: O(query=order_status)
      type: dict
      sample:
        superprovider:
          task_id: "1001"
          status: finished
          server: 192.0.2.10
          server_password: "********"
    provider_order_list:
      description:
        - 'Provider name to C(null) (no orders) or to task id to
          C({"error": <code or 0>, "message": <text>, "status": <status>, "mtime": <epoch>}).
          A task whose status call failed has no C(status) key.'
        - With O(provider) set and no orders, C(provider_order_list) itself is
          C(null), as the original prints it.
        - Over all providers, a provider that breaks the protocol and a folder
          whose name is not a valid provider name are left out and named in a
          warning.
      returned: O(query=orders_list)
      type: raw
      sample:
        superprovider:
          "1001": {error: 0, message: "", status: complete, mtime: 1795831531}
          "1002": {error: 0, message: "", status: in_progress, mtime: 1795831600}
        otherprovider: null
error:
  description: The error code of the original's error document (normally C(1); a provider's own code as it gave it).
  returned: failure
  type: raw
  sample: 1
message:
  description: The original's error message (also in C(msg)).
  returned: failure
  type: str
  sample: "bxProvider::configsProvider: Provider superprovider doesn't support configs option"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bitrix.bxenv.plugins.module_utils import _queries
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import params_document
from ansible_collections.bitrix.bxenv.plugins.module_utils._module import (
    argument_spec, exit_with, provider_argument_spec, providers_for,
    run_or_fail, secrets_argument_spec,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            provider_argument_spec, secrets_argument_spec,
            query=dict(type='str', default='list', choices=sorted(_queries.QUERIES)),
            provider=dict(type='str'),
            task_id=dict(type='str'),
            workers=dict(type='int', default=_queries.DEFAULT_WORKERS),
        ),
        required_if=[
            ('query', 'status', ['provider']),
            ('query', 'configs', ['provider']),
            ('query', 'order_status', ['provider', 'task_id']),
        ],
        supports_check_mode=True,
    )
    kind, query = _queries.QUERIES[module.params['query']]
    data = run_or_fail(module, query, providers_for(module), module.params, warnings=[])
    exit_with(module, dict(params_document(kind, data), changed=False))


if __name__ == '__main__':
    main()
