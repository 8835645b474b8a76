# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Checks for provider names, config ids and task ids.

Ids become argv items and file names under ``tasks/``; the original pasted
them into a shell command and a path unchecked. We refuse anything that could
leave the folder, look like an option, or mean something to a shell, and keep
every other character (non-ASCII included).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import unicodedata

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, quoted

MAX_ID_LENGTH = 128
# Ids become file names: most file systems take at most 255 bytes.
MAX_ID_BYTES = 255
# Characters a shell or a path would give a meaning to.
_FORBIDDEN = set('/\\;&|$`<>()[]{}*?!\'"#~^')


def id_problem(value):
    """Return why ``value`` is not a safe id, or None when it is."""
    if not isinstance(value, str):
        return 'must be a string'
    if not value:
        return 'must not be empty'
    if len(value) > MAX_ID_LENGTH:
        return 'is longer than %d characters' % MAX_ID_LENGTH
    if len(value.encode('utf-8', 'surrogatepass')) > MAX_ID_BYTES:
        return 'is longer than %d bytes in UTF-8' % MAX_ID_BYTES
    if value[0] in '.-':
        return "must not start with '.' or '-'"
    for char in value:
        if char in _FORBIDDEN:
            return 'must not contain %r' % char
        if char.isspace() or unicodedata.category(char) in ('Cc', 'Cf', 'Cs', 'Zl', 'Zp'):
            return 'must not contain whitespace or control characters (found %r)' % char
    return None


def check_id(value, what):
    """Raise BxError unless ``value`` is a safe id; ``what`` names it (``task_id``)."""
    problem = id_problem(value)
    if problem:
        raise BxError(_messages.INVALID_ID % (what, quoted(value), problem))
    return value


def check_provider_name(name):
    return check_id(name, 'provider name')
