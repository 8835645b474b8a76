# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection-wide promises: the action group is complete, schemas are published."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import yaml

from ansible_collections.bitrix.bxenv.plugins.module_utils import _schemas

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_module_is_in_the_action_group():
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as handle:
        group = yaml.safe_load(handle)['action_groups']['bx']
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, 'plugins', 'modules'))
                     if name.endswith('.py') and not name.startswith('_'))
    assert modules and sorted(group) == modules


def test_published_schemas_match_the_code():
    folder = os.path.join(REPO, 'docs', 'schemas')
    published = dict((name[:-5], json.load(open(os.path.join(folder, name))))
                     for name in os.listdir(folder) if name.endswith('.json'))
    expected = dict(_schemas.REPLY_SCHEMAS, error=_schemas.ERROR_REPLY)
    assert published == expected
