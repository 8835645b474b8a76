#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_order_to_host
short_description: Add a finished order's server to the BitrixVM server pool
version_added: 0.1.0
description:
  - Does what C(bx-provider -a order_to_host) does. It asks the provider for
    the order's status. When the status is V(finished), it puts the pool's
    SSH key on the new server with the password the provider returned, adds
    the server to C([bitrix-hosts]) in the pool inventory with its
    C(host_vars) file, and marks the order V(complete) in its task file.
  - When the order is not finished yet, it returns the provider's reply under
    RV(params) and changes nothing. O(wait=true) polls until it is.
  - Everything that can be checked here is checked before any contact with
    the server (the key copy). Refused are this host in any form (C(localhost), 127.0.0.0/8,
    C(0.0.0.0), C(::), IPv4-mapped and short or numeric address forms, also as
    DNS answers), a server already in the pool, an inventory name that Ansible or the
    pool gives another meaning (C(localhost), C(all), C(ungrouped), a group
    name, an address), a missing pool or pool key. Such a refusal leaves the
    order's task file as it was, so after the fix the same task runs again
    without O(retry_failed); its message names the file or setting to fix.
    Only a C(server) value that is neither an IPv4 address nor a DNS name
    marks the order V(error) at once, as no fix here can make it valid.
  - One add per order runs at a time; a second run for the same order (a
    double click) waits for the first and then finds the order complete.
  - The key is copied with the OpenSSH client alone. The password reaches
    C(SSH_ASKPASS) through a pipe (ssh's standard input), never a file, argv
    or the environment; ssh ends with the run that started it. The server's host key is recorded on first contact in
    C(<pool_dir>/.ssh/known_hosts).
  - An order already V(complete) is success with C(changed=false). An order
    marked V(error) fails as in the original unless O(retry_failed=true).
  - A run interrupted after the pool was written finishes the job on re-run
    instead of adding the server twice.
  - The pool set-up playbook (C(common.yml) or C(monitor.yml)) is not started
    in the background as the original does. Its path is returned in
    RV(setup_playbook) for the next step; the C(bitrix.bxenv.add_to_pool)
    playbook runs it as a tracked step.
author:
  - bitrix.bxenv maintainers (@bxenv)
extends_documentation_fragment: [bitrix.bxenv.provider, bitrix.bxenv.provider.secrets, bitrix.bxenv.provider.wait,
                                 bitrix.bxenv.provider.pool, bitrix.bxenv.provider.attributes]
options:
  provider:
    description: Provider plugin name (a folder name under O(providers_dir)).
    type: str
    required: true
  task_id:
    description: The order's id, as the provider returned it when it was placed.
    type: str
    required: true
  hostname:
    description:
      - Inventory name for the new server instead of the naming rule
        (PTR name when it qualifies, else C(server<N+1>); a DNS name as given).
    type: str
  retry_failed:
    description:
      - Run the pool-add again for an order whose task file says V(error)
        (after the cause was fixed). The original never retries.
    type: bool
    default: false
attributes:
  check_mode:
    description:
      - Asks the provider for the status (and waits with O(wait=true)), plans the pool change and reports it;
        contacts no server and writes nothing.
      - 'RV(message) and C(msg) then say what would be added, as C(would add Server=<server> to the pool as <name>
        (groups: <groups>)); the other results are those of a real run.'
    support: full
  diff_mode:
    description: Shows the pool C(hosts) file before and after.
    support: full
  idempotent:
    description: A second run for the same order returns C(changed=false).
    support: full
'''

EXAMPLES = r'''
- name: Add the finished server of an order to the pool
  bitrix.bxenv.bx_order_to_host:
    provider: superprovider
    task_id: "{{ placed.task_id }}"
  register: added

- name: Wait for the order, then add its server
  bitrix.bxenv.bx_order_to_host:
    provider: superprovider
    task_id: "1001"
    wait: true
    wait_timeout: 1200
    poll_interval: 20

- name: Show where the server went
  ansible.builtin.debug:
    msg: "{{ added.host.name }} ({{ added.host.address }}) is in {{ added.host.groups | join(', ') }}"

- name: Try again after fixing what made the first add fail
  bitrix.bxenv.bx_order_to_host:
    provider: superprovider
    task_id: "1001"
    retry_failed: true
'''

RETURN = r'''
message:
  description:
    - The original's message, C(Server=<server> is added to the pool), or for an
      order already added, the original's text saying the task is already complete.
      Also in C(msg).
    - 'In check mode, when the server would be added, what would be done instead:
      C(would add Server=<server> to the pool as <name> (groups: <groups>)).'
    - On failure, the original's error message (also in C(msg)).
  returned: when the order is finished, and on failure
  type: str
  sample: Server=192.0.2.10 is added to the pool
error:
  description: The original's error code (C(2) for a wrong password, C(1) for most other failures).
  returned: failure
  type: raw
  sample: 2
task_id:
  description: The order's id.
  returned: always, also on failure
  type: str
  sample: "1001"
server:
  description: The server the provider returned.
  returned: when the order is finished
  type: str
  sample: 192.0.2.10
host:
  description: The server's entry in the pool.
  returned: when the order is finished
  type: dict
  contains:
    name:
      description: Inventory name.
      type: str
      sample: server2
    address:
      description: Address used to reach it (C(ansible_ssh_host)).
      type: str
      sample: 192.0.2.10
    connect:
      description: C(ipv4) when added by address, C(fqdn) when by DNS name.
      type: str
      sample: ipv4
    groups:
      description: Pool groups the host is in.
      type: list
      elements: str
      sample: [bitrix-hosts]
    host_vars_file:
      description: Its C(host_vars) file.
      type: str
      sample: /etc/ansible/host_vars/server2
params:
  description:
    - While the order is not finished, the document the original prints
      (C(provider_order) to the provider name to its reply); passwords masked.
  returned: when the order is not finished yet
  type: dict
  sample: {provider_order: {superprovider: {status: in_progress, task_id: "1001"}}}
status:
  description: The provider's order status (after waiting, with O(wait=true)).
  returned: always
  type: str
  sample: finished
resumed:
  description: True when this run finished an add that an interrupted run had already written to the pool.
  returned: when it happened
  type: bool
  sample: true
setup_playbook:
  description:
    - The appliance's pool set-up playbook to run for the new host, which is
      C(monitor.yml) when C(group_vars/bitrix-hosts.yml) enables monitoring
      and C(common.yml) otherwise. C(exists) says whether it is there.
  returned: when the order is finished
  type: dict
  sample: {path: /etc/ansible/common.yml, name: common.yml, exists: true, monitoring: false}
pool_key_file:
  description:
    - The private key that reaches pool servers (O(ssh_key_file), else the
      C(private_key_file) of the pool's C(ansible.cfg)); null when the pool
      names none.
  returned: when the order is finished
  type: str
  sample: /etc/ansible/.ssh/id_rsa
known_hosts_file:
  description: Where the new server's host key was recorded.
  returned: when the order is finished
  type: str
  sample: /etc/ansible/.ssh/known_hosts
polls:
  description: Number of status polls made with O(wait=true).
  returned: with O(wait=true)
  type: int
  sample: 4
elapsed:
  description: Seconds spent waiting with O(wait=true).
  returned: with O(wait=true)
  type: float
  sample: 61.2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bitrix.bxenv.plugins.module_utils._module import (
    argument_spec, exit_with, provider_argument_spec, providers_for, run_or_fail,
    secrets_argument_spec,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._module_pool import (
    pool_argument_spec, ssh_options, wait_argument_spec, wait_for,
)
from ansible_collections.bitrix.bxenv.plugins.module_utils._order_to_host import add_order
from ansible_collections.bitrix.bxenv.plugins.module_utils._output import add_result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            provider_argument_spec, secrets_argument_spec, wait_argument_spec, pool_argument_spec,
            provider=dict(type='str', required=True),
            task_id=dict(type='str', required=True),
            hostname=dict(type='str'),
            retry_failed=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    run = run_or_fail(
        module, add_order, providers_for(module), params['provider'], params['task_id'], params['pool_dir'],
        ssh=ssh_options(module), key_file=params['ssh_key_file'], hostname=params['hostname'], retry_failed=params['retry_failed'],
        check_mode=module.check_mode, wait=wait_for(module))
    exit_with(module, add_result(run))


if __name__ == '__main__':
    main()
