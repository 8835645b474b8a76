# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection-wide promises: the action group is complete, schemas are published."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import yaml

from ansible_collections.bitrix.bxenv.plugins.module_utils import _check_catalog, _schemas

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
    expected['check-report'] = _check_catalog.REPORT_SCHEMA
    assert published == expected


def _cores():
    """``[(line, python, main)]`` of tests/cores.txt, the one list of supported ansible-core lines."""
    with open(os.path.join(REPO, 'tests', 'cores.txt')) as handle:
        rows = [line.split() for line in handle if line.strip() and not line.startswith('#')]
    return [(row[0], row[1], row[2:] == ['main']) for row in rows]


def test_the_supported_releases_are_one_list():
    cores = _cores()
    assert [main for line, python, main in cores].count(True) == 1
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as handle:
        assert yaml.safe_load(handle)['requires_ansible'] == '>=%s.0' % cores[0][0]
    # The README's "Tested with" table names each line, its pinned version and Python.
    with open(os.path.join(REPO, 'README.md')) as handle:
        readme = handle.read()
    table = readme[readme.index('## Tested with'):]
    rows = re.findall(r'(?m)^\| (\d+\.\d+)\.\d+ \| (\d+\.\d+) \|', table)
    for line, python, main in cores:
        with open(os.path.join(REPO, 'tests', 'requirements-ansible-%s.txt' % line)) as handle:
            pinned = re.search(r'(?mi)^ansible-core==(\S+)$', handle.read()).group(1)
        assert '| %s | %s |' % (pinned, python) in table
    assert rows == [(line, python) for line, python, main in cores]
    assert 'Controller: ansible-core %s or newer' % cores[0][0] in readme
