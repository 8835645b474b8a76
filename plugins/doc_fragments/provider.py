# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options of every module that runs provider plugins
    # (argspec: _module.provider_argument_spec).
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
      - From C(1) to C(86400).
    type: int
    default: 60
  max_output:
    description:
      - Bytes a provider call may write on stdout, and again on stderr. A
        provider that writes more is killed and the call fails saying so, so
        a runaway provider cannot fill the memory.
      - From C(1024) to C(1073741824) (1 GiB).
    type: int
    default: 16777216
requirements:
  - jsonschema (Python library, on the host the module runs on)
'''

    # Modules that return provider replies (argspec: _module.secrets_argument_spec).
    SECRETS = r'''
options:
  reveal_secrets:
    description:
      - Return the values of secret keys in provider replies as they are.
      - A key is secret when its name contains, in any case, C(pass),
        C(pwd), C(secret), C(token), C(credential), C(apikey) or
        C(privatekey) (the last two also with C(_), C(-), C(.) or a space
        inside), for example C(server_password), C(passwd), C(client_secret),
        C(access_token), C(api_key), C(private_key), C(credentials).
      - By default their values (at any depth; empty ones excepted) are
        replaced by C(********) in every result. Error messages never quote
        them, whatever this option says.
    type: bool
    default: false
'''

    # Modules that can wait for an order (argspec: _module_pool.wait_argument_spec).
    WAIT = r'''
options:
  wait:
    description:
      - Poll the order's status (C(order_status), with the appliance's task
        file laid over it as in M(bitrix.bxenv.bx_provider_info)) until it is
        C(finished), or C(complete) when the server is already in the pool.
      - C(error) or C(failed) fails with the provider's message; so does a
        status call that fails. The order itself is never given up or placed
        again; run the task again to go on waiting.
      - When O(wait_timeout) passes first, the module fails saying the order
        is still pending, with RV(task_id), RV(elapsed) and the last status.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true). The status is asked once more when
        they have passed; C(0) asks once.
      - From C(0) to C(604800) (7 days).
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between two status calls with O(wait=true).
      - From C(1) to C(3600).
    type: int
    default: 15
'''

    # Modules that add servers to the pool, copying the pool key to them (argspec: _module_pool.pool_argument_spec).
    POOL = r'''
options:
  pool_dir:
    description:
      - The server pool folder, with C(hosts), C(host_vars/) and C(ansible.cfg)
        (whose C(private_key_file) is the pool key).
    type: path
    default: /etc/ansible
  ssh_user:
    description: User the key is installed for on the new server.
    type: str
    default: root
  ssh_port:
    description: SSH port of the new server, from C(1) to C(65535).
    type: int
    default: 22
  ssh_key_file:
    description:
      - Private key to install (its public half is C(<ssh_key_file>.pub)).
      - By default the C(private_key_file) of C(<pool_dir>/ansible.cfg);
        commented-out lines do not count.
    type: path
  ssh_timeout:
    description: Seconds to wait for the new server's SSH port to answer, from C(1) to C(3600).
    type: int
    default: 10
  ssh_log_file:
    description:
      - Log of the key copy's ssh runs (no password is ever in it), written only
        when its folder exists, as the original's; the key copy's failure messages name it.
    type: path
    default: /opt/webdir/logs/ssh_keycopy.log
'''

    # Modules that only read (bx_provider_info, bx_provider_check).
    READ_ONLY = r'''
attributes:
  check_mode:
    description: The module changes nothing; it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: It never changes anything.
    support: full
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
