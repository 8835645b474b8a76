# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lay out a sandbox BitrixVM appliance for the demo and the end-to-end tests.

    python3 tools/demo/sandbox.py DIR        # prints the layout as JSON

``DIR`` gets (it must not exist yet, or be empty):

* ``providers/`` - the providers folder (``/opt/webdir/providers``);
* ``pool/`` - the pool folder (``/etc/ansible``): ``id_pool`` and
  ``id_pool.pub`` (the pool key, from ``ssh-keygen``), ``ansible.cfg`` whose
  ``private_key_file`` is that key and whose ssh settings use the pool's
  ``.ssh/known_hosts``, ``hosts`` holding the master ``server1`` (a local
  connection) in ``[bitrix-hosts]``, ``host_vars/server1``, and
  ``common.yml``, the pool set-up playbook (``tools/demo/pool/common.yml``);
* ``logs/`` - the key copy's log, ``logs/ssh_keycopy.log`` (``ssh_log_file``
  in the printed layout; ``/opt/webdir/logs/ssh_keycopy.log`` on an
  appliance): give it as ``ssh_log_file`` (``bx_ssh_log_file`` of the role)
  so nothing is logged outside ``DIR``;
* ``cp/`` - ansible's ssh connection masters; when ``DIR`` is too deep for a
  Unix socket path, a ``/tmp/bxcp-*`` folder instead (``control_dir`` in the
  printed layout; remove it when done).

Nothing else outside ``DIR`` is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

HOSTS = """# BitrixVM pool inventory (bitrix.bxenv demo sandbox)

[bitrix-hosts]
server1 ansible_ssh_host=127.0.0.1 ansible_connection=local

[bitrix-mgmt]
server1 ansible_ssh_host=127.0.0.1 ansible_connection=local

[bitrix-web]
server1 ansible_ssh_host=127.0.0.1 ansible_connection=local

[bitrix-mysql]
server1 ansible_ssh_host=127.0.0.1 ansible_connection=local
"""

ANSIBLE_CFG = """[defaults]
private_key_file = {key}
host_key_checking = True
interpreter_python = auto_silent
force_valid_group_names = ignore
retry_files_enabled = False
stdout_callback = default

[ssh_connection]
# -F /dev/null: no user ssh config, and nothing written to ~/.ssh. The
# connection masters live in the sandbox (the demo closes them at the end).
ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={known_hosts} -o IdentitiesOnly=yes
control_path_dir = {control_dir}
pipelining = True
"""


def write(path, text, mode):
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


def control_folder(root):
    """Folder for ssh connection master sockets: ``DIR/cp``, or a fresh one
    under /tmp when that path would be too long for a Unix socket (ansible
    adds a 10-character name, ssh a 17-character suffix; the limit is 107)."""
    folder = os.path.join(root, 'cp')
    if len(folder) + 28 > 100:
        return tempfile.mkdtemp(prefix='bxcp-', dir='/tmp')
    os.mkdir(folder)
    os.chmod(folder, 0o700)
    return folder


def create(root):
    root = os.path.abspath(root)
    if os.path.exists(root) and os.listdir(root):
        raise SystemExit('sandbox: %s is not empty' % root)
    providers = os.path.join(root, 'providers')
    pool = os.path.join(root, 'pool')
    logs = os.path.join(root, 'logs')
    for folder, mode in ((root, 0o755), (providers, 0o755), (pool, 0o755), (logs, 0o755),
                         (os.path.join(pool, 'host_vars'), 0o755), (os.path.join(pool, '.ssh'), 0o700)):
        if not os.path.isdir(folder):
            os.makedirs(folder)
        os.chmod(folder, mode)
    key = os.path.join(pool, 'id_pool')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bxenv-demo-pool', '-f', key],
                   stdin=subprocess.DEVNULL, check=True)
    known_hosts = os.path.join(pool, '.ssh', 'known_hosts')
    control_dir = control_folder(root)
    write(os.path.join(pool, 'ansible.cfg'), ANSIBLE_CFG.format(key=key, known_hosts=known_hosts, control_dir=control_dir), 0o644)
    write(os.path.join(pool, 'hosts'), HOSTS, 0o640)
    stamp = int(time.time())
    write(os.path.join(pool, 'host_vars', 'server1'),
          '---\nbx_connect: ipv4\nbx_hostname: server1\nbx_netaddr: 127.0.0.1\nbx_netname: server1\n'
          'host_id: %d_DemoMaster\nhost_pass: 127.0.0.1_DemoMaster\n' % stamp, 0o640)
    shutil.copyfile(os.path.join(HERE, 'pool', 'common.yml'), os.path.join(pool, 'common.yml'))
    return {'root': root, 'providers_dir': providers, 'pool_dir': pool, 'key': key,
            'ansible_cfg': os.path.join(pool, 'ansible.cfg'), 'known_hosts': known_hosts,
            'hosts': os.path.join(pool, 'hosts'), 'control_dir': control_dir,
            'ssh_log_file': os.path.join(logs, 'ssh_keycopy.log')}


def main(argv):
    if len(argv) != 1:
        sys.stderr.write('usage: sandbox.py DIR\n')
        return 2
    json.dump(create(argv[0]), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
