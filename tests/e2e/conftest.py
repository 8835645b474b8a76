# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end tests: make ``ansible_collections.bitrix.bxenv`` importable.

Plain ``pytest`` from a checkout gets a symlink tree in ``.cache/collections``
(the same one ``tests/ci/lib.sh`` and the unit tests use); it is also the
``ANSIBLE_COLLECTIONS_PATH`` the tests give to ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.cache', 'collections')
_LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'bitrix', 'bxenv')
if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    try:
        os.symlink(REPO, _LINK)
    except FileExistsError:  # another worker made it
        pass
try:
    import ansible_collections.bitrix.bxenv  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, COLLECTIONS)
    for _name in [n for n in sys.modules if n == 'ansible_collections' or n.startswith('ansible_collections.')]:
        del sys.modules[_name]


# Modules run in-process through main(), as the unit tests do.
from ansible_collections.bitrix.bxenv.tests.unit.plugins.modules.conftest import run_module  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


@pytest.fixture(scope='session')
def archive(tmp_path_factory):
    """The netns_lab plugin archive, built once from its source."""
    from ansible_collections.bitrix.bxenv.tests.e2e import helpers
    return helpers.build_archive(tmp_path_factory.mktemp('archive') / 'netns_lab.tar.gz')


@pytest.fixture
def lab_appliance(archive, tmp_path):
    """A sandbox appliance (tools/demo/sandbox.py) with the netns_lab plugin
    installed by bx_provider_plugin; its lab servers are destroyed at the end."""
    from ansible_collections.bitrix.bxenv.tests.e2e import helpers
    if os.geteuid() != 0:
        pytest.fail('the netns_lab provider needs root (network namespaces)')
    layout = helpers.sandbox(tmp_path / 'appliance')
    layout['holder'] = os.path.join(layout['providers_dir'], helpers.PROVIDER)
    try:
        helpers.install(layout, archive)
        yield layout
    finally:
        helpers.close_masters(layout)
        helpers.destroy_all(layout['holder'])
