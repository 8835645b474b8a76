# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message templates of ``_messages`` against the catalogue of
docs/protocol.md section 11, both ways, and no catalogued text outside
``_messages``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import io
import os
import re

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')

# A template's variable parts; in the catalogue, ``<name>``, ``…`` and the
# appliance's default paths (the collection's texts take them from settings).
_TEMPLATE_HOLE = re.compile(r'%[sr]')
_CATALOGUE_HOLE = re.compile(r'<[^<>]*>|…|/opt/webdir/providers|/opt/webdir/logs/ssh_keycopy\.log|/etc/ansible/ansible\.cfg')
_CELL = re.compile(r'(?<!\\)\|')
_CODE_SPAN = re.compile(r'\s*(`+)(.+?)\1')  # the text of a row, without the notes after it
# Rows of the original the collection never prints (the original only, or a
# DNS corner case its name check refuses earlier): marked so in the row.
_NOT_PRINTED = ('original only', 'original;', 'DNS corner case')
# The start of a catalogued text: no string literal outside ``_messages`` holds one.
PREFIXES = ('bxProvider', 'Host::', 'BX_KEY_VIEW', 'pool_not_created', 'Unknown action=', 'Unknown status=', 'cmd=`',
            'User enter', 'User must change', 'The error occurred', 'is added to the pool', 'Provider data',
            'Not found saved', 'You must provide', 'bxenv: invalid', 'Order task_id=', 'may have placed the order',
            'Unknown option:', 'given more than once', 'Unexpected argument:')


def _section_11():
    with io.open(os.path.join(REPO, 'docs', 'protocol.md'), encoding='utf-8') as handle:
        text = handle.read()
    start = text.index('\n## 11. ')
    return text[start:text.index('\n## ', start + 1)]


SECTION = _section_11()
CATALOGUE = SECTION.replace('`', '')
TEMPLATES = dict((name, value) for name, value in vars(_messages).items()
                 if name.isupper() and isinstance(value, str))
# The original's function names, and each ``<function>: ...`` template filled
# with every one of them, as the original prints them.
FUNCTIONS = [value for value in TEMPLATES.values() if value.startswith('bxProvider::') and '%' not in value]
PRINTED = [template.replace('%s', function, 1) if template.startswith('%s: ') else template
           for template in TEMPLATES.values() for function in FUNCTIONS]


def _original_rows():
    """``(row, text)`` of each row of the original's two tables."""
    original = SECTION[:SECTION.index('\n### Texts of the collection')]
    for line in original.splitlines():
        cells = _CELL.split(line)
        if len(cells) < 4 or not line.startswith('| ') or cells[1].strip() == 'code':
            continue
        span = _CODE_SPAN.match(cells[2])
        yield line, (span.group(2) if span else cells[2]).replace('`', '').strip()


def test_there_are_templates_and_rows():
    assert len(TEMPLATES) > 60 and len(list(_original_rows())) > 45


@pytest.mark.parametrize('name', sorted(TEMPLATES))
def test_every_template_is_catalogued(name):
    fragments = [f for f in _TEMPLATE_HOLE.split(TEMPLATES[name].replace('`', '')) if len(f) >= 6]
    assert fragments, name
    assert [f for f in fragments if f not in CATALOGUE] == []


def test_every_original_row_has_a_template():
    missing = []
    for line, text in _original_rows():
        first = _CATALOGUE_HOLE.split(text)[0]
        if len(first) < 12 or any(mark in line for mark in _NOT_PRINTED):
            continue
        if not any(first in template.replace('`', '') for template in PRINTED):
            missing.append(first)
    assert missing == []


def _literals(path):
    """The string literals of a Python file, docstrings left out."""
    with io.open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize('filename', sorted(f for f in os.listdir(MODULE_UTILS) if f.endswith('.py') and f != '_messages.py'))
def test_no_catalogued_text_outside_messages(filename):
    found = [text for text in _literals(os.path.join(MODULE_UTILS, filename)) if any(p in text for p in PREFIXES)]
    assert found == []


def test_messages_is_a_leaf():
    with io.open(os.path.join(MODULE_UTILS, '_messages.py'), encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [node.module for node in imports] == ['__future__']
