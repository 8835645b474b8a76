# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.bitrix.bxenv`` importable under plain pytest.

ansible-test puts the collection on the path itself; plain ``pytest`` from a
checkout gets a symlink tree in a cache folder instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

try:
    import ansible_collections.bitrix.bxenv  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _ROOT = os.path.join(_REPO, '.cache', 'collections')
    _LINK = os.path.join(_ROOT, 'ansible_collections', 'bitrix', 'bxenv')
    if not os.path.islink(_LINK):
        os.makedirs(os.path.dirname(_LINK), exist_ok=True)
        os.symlink(_REPO, _LINK)
    sys.path.insert(0, _ROOT)
    for _name in [n for n in sys.modules if n == 'ansible_collections' or n.startswith('ansible_collections.')]:
        del sys.modules[_name]


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'real_timing: answers after real silences of 0.5-2 s; they test the collection\'s own runner,'
        ' the same on every ansible-core, so CI runs them on one release (tests/ci/run-all.sh)')


@pytest.fixture
def root(tmp_path):
    """An empty providers root (``<tmp>/providers``)."""
    path = str(tmp_path / 'providers')
    os.makedirs(path)
    return path
