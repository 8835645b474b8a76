#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bx_provider_plugin
short_description: Install, upgrade or remove a BitrixVM provider plugin from an archive
version_added: 0.1.0
description:
  - Does what C(bx-provider -a install --archive A) and C(bx-provider -a uninstall)
    do on a BitrixVM appliance, safely.
  - The archive (C(.tar.gz), C(.tgz), C(.tar.bz2), C(.tar.xz) or C(.zip)) holds
    the plugin layout (C(bin/<name>), C(etc/<name>.conf), ...) at its root or in
    a single top folder. Every member is checked before anything is written.
    Absolute paths, C(..), symlinks leaving the plugin folder, hard links,
    device files, FIFOs, set-uid/set-gid bits, names that are not UTF-8,
    members nested deeper than 64 folders, members under C(tasks/), too many
    members or too many bytes make the task fail, naming the archive, the
    member and the reason.
  - The plugin is unpacked into a staging folder in the collection's folder
    next to the providers root (C(/opt/webdir/.bxenv-providers/work/<name>/)
    for C(/opt/webdir/providers); it must be on the same filesystem), its
    C(bin/<name>) must answer C(help) with a valid reply, then it is swapped
    with the live folder in one atomic exchange, so the live folder is never
    half-written or missing. A run killed half-way leaves the old plugin or the
    new one working; the next run cleans up. Nothing of the collection is kept
    in the providers root, where the original tool would list it as a provider.
  - On upgrade the orders in C(tasks/) and the existing C(etc/<name>.conf) are
    kept (see O(replace_config)); a C(etc/) or config that is a link, FIFO or
    device is refused, never followed. Installing the archive that is already
    installed changes nothing.
  - Removing refuses while the provider has orders (task files) that are not
    C(complete), unless O(force=true). Unlike the original tool, it really
    removes the folder.
author:
  - bitrix.bxenv maintainers (@bxenv)
options:
  name:
    description:
      - Provider plugin name; the plugin lives in C(<providers_dir>/<name>/)
        and its executable is C(bin/<name>).
    type: str
    required: true
  state:
    description:
      - C(present) installs or upgrades the plugin from O(src).
      - C(absent) removes the plugin folder.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - Path of the plugin archive on the host the module runs on.
      - Required with O(state=present).
    type: path
  owner:
    description:
      - User that owns the installed plugin files. It must exist; this is
        checked before anything is written.
    type: str
    default: bitrix
  group:
    description:
      - Group of the installed plugin files. It must exist; this is checked
        before anything is written.
    type: str
    default: bitrix
  force:
    description:
      - With O(state=absent), remove the plugin even though it has orders
        that are not complete (their task files are removed with it).
      - With O(state=present), reinstall even when the same archive is
        already installed.
    type: bool
    default: false
  replace_config:
    description:
      - On upgrade, take C(etc/<name>.conf) from the archive instead of
        keeping the one already installed.
    type: bool
    default: false
  max_members:
    description:
      - Refuse archives with more members than this. From C(1) to C(1000000).
    type: int
    default: 1000
  max_size:
    description:
      - Refuse archives that unpack to more bytes than this. Declared sizes are
        checked before unpacking and bytes are counted while unpacking.
        From C(1) to C(1099511627776) (1 TiB).
    type: int
    default: 67108864
extends_documentation_fragment: [bitrix.bxenv.provider, bitrix.bxenv.provider.attributes]
attributes:
  check_mode:
    description:
      - The archive is checked and unpacked into a temporary folder outside
        O(providers_dir) to run C(help) and compute the file changes; nothing
        under O(providers_dir) is written.
    support: full
  diff_mode:
    description: Shows the plugin files (path, mode, size, sha256) before and after.
    support: full
  idempotent:
    description: The same archive again, or removing an absent plugin, changes nothing.
    support: full
seealso:
  - module: bitrix.bxenv.bx_provider_info
'''

EXAMPLES = r'''
- name: Install or upgrade a provider plugin from an archive on the appliance
  bitrix.bxenv.bx_provider_plugin:
    name: superprovider
    src: /root/superprovider-1.2.tar.gz

- name: Upgrade and take the new default config too
  bitrix.bxenv.bx_provider_plugin:
    name: superprovider
    src: /root/superprovider-1.3.zip
    replace_config: true

- name: Remove a provider plugin (fails while it has orders that are not complete)
  bitrix.bxenv.bx_provider_plugin:
    name: superprovider
    state: absent

- name: Remove it with its pending orders
  bitrix.bxenv.bx_provider_plugin:
    name: superprovider
    state: absent
    force: true
'''

RETURN = r'''
msg:
  description: What was done, in the original tool's words.
  returned: always
  type: str
  sample: "bxProvider: Provider data created, you can found it in /opt/webdir/providers/superprovider"
message:
  description:
    - The original tool's message (the same as RV(msg)), as C(bx-provider -o json) prints it.
  returned: always
  type: str
  sample: "bxProvider: Provider data deleted from /opt/webdir/providers/superprovider"
provider:
  description:
    - The provider record (docs/protocol.md section 2) after the change; in check mode
      the record the new plugin would have.
  returned: O(state=present) and success
  type: dict
  sample:
    name: superprovider
    status: enabled
    config: exists
    files: {holder: /opt/webdir/providers/superprovider, execute: /opt/webdir/providers/superprovider/bin/superprovider,
            config: /opt/webdir/providers/superprovider/etc/superprovider.conf}
    options: {help: 1, init: 0, configs: 1, order: 1, order_status: 1}
sha256:
  description: SHA-256 of the archive.
  returned: O(state=present) and success
  type: str
  sample: 0f5d3b1f9b0e7e4f3a8b2d8c3c0a1f5e6b7c8d9e0f1a2b3c4d5e6f708192a3b4
files:
  description:
    - Plugin files (relative to the plugin folder) added, changed and removed.
      C(tasks/) is left out on install; on removal every file is listed.
  returned: success
  type: dict
  contains:
    added:
      description: Files that are new.
      type: list
      elements: str
    changed:
      description: Files whose content, size or mode changed.
      type: list
      elements: str
    removed:
      description: Files that are gone.
      type: list
      elements: str
  sample: {added: [], changed: [VERSION, bin/superprovider], removed: []}
error:
  description: The error code of the error document (C(1)).
  returned: failure
  type: raw
  sample: 1
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _install
from ansible_collections.bitrix.bxenv.plugins.module_utils._module import (
    argument_spec, exit_with, provider_argument_spec, providers_for,
    run_or_fail,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            provider_argument_spec,
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            src=dict(type='path'),
            owner=dict(type='str', default=_install.DEFAULT_OWNER),
            group=dict(type='str', default=_install.DEFAULT_OWNER),
            force=dict(type='bool', default=False),
            replace_config=dict(type='bool', default=False),
            max_members=dict(type='int', default=_archive.DEFAULT_MAX_MEMBERS),
            max_size=dict(type='int', default=_archive.DEFAULT_MAX_SIZE),
        ),
        required_if=[('state', 'present', ['src'])],
        supports_check_mode=True,
    )
    params = module.params
    providers = providers_for(module)
    if params['state'] == 'present':
        result = run_or_fail(
            module, _install.install, providers, params['name'], params['src'],
            owner=params['owner'], group=params['group'], force=params['force'],
            replace_config=params['replace_config'], max_members=params['max_members'],
            max_size=params['max_size'], check_mode=module.check_mode)
    else:
        result = run_or_fail(module, _install.remove, providers, params['name'],
                             force=params['force'], check_mode=module.check_mode)
    exit_with(module, result)


if __name__ == '__main__':
    main()
