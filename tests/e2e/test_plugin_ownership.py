# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An installed plugin is given to its owner (chown to another user needs root)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.bitrix.bxenv.plugins.module_utils import _install
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils import plugin_archives as pa
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.test__install import (  # noqa: F401  pylint: disable=unused-import
    NAME, holder_of, install, world,
)


def test_ownership_is_set(world):
    user = _install.pwd.getpwuid(65534)
    group = _install.grp.getgrgid(65534)
    install(world, pa.good_archive(world / 'archives', NAME), owner=user.pw_name, group=group.gr_name)
    for current, dirnames, filenames in os.walk(str(holder_of(world))):
        for entry in [current] + [os.path.join(current, e) for e in dirnames + filenames]:
            if entry.endswith('calls.log'):
                continue  # written by the provider itself (as root) when it was probed
            info = os.lstat(entry)
            assert (info.st_uid, info.st_gid) == (65534, 65534), entry
