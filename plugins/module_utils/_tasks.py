# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Task files: ``<holder>/tasks/<task_id>``, their states and the overlay.

PROTOCOL section 7. A task file is empty (ordered), ``complete: …`` or
``error: …``; the formats are the original's so both tools share them.
Our own bookkeeping lives in ``tasks/.bxenv/``: the original lists every
regular file in ``tasks/`` as a task but skips sub-folders.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError

BOOKKEEPING_DIR = '.bxenv'
# "error:", optional whitespace, exactly one non-empty line, one optional newline.
_ERROR_CONTENT = re.compile(r'error:\s*(.+)\n?\Z')


def tasks_dir(holder):
    return os.path.join(holder, 'tasks')


def task_path(holder, task_id):
    return os.path.join(tasks_dir(holder), task_id)


def list_task_ids(holder):
    """Names of the regular files in ``tasks/`` (dot-files included), sorted.

    Raises OSError when the folder cannot be read.
    """
    folder = tasks_dir(holder)
    return sorted(name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name)))


def read_task_file(path):
    """The content of a task file as text, or None when it is not a regular file."""
    if not os.path.isfile(path):
        return None
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


def task_state(content):
    """``ordered``, ``complete``, ``error`` or ``unknown`` for a task file's content."""
    if content in ('', '\n'):
        return 'ordered'
    if content.startswith('complete'):
        return 'complete'
    if content.startswith('error'):
        return 'error'
    return 'unknown'


def overlay(reply, content):
    """Lay a task file's content over an order_status reply (PROTOCOL 7), in place."""
    match = _ERROR_CONTENT.match(content)
    if match:
        reply['status'] = 'error'
        reply['message'] = match.group(1).lstrip()
        reply['error'] = 1
    elif content.startswith('complete'):
        reply['status'] = 'complete'
    return reply


def overlay_from_file(reply, holder, task_id):
    """Apply the task file of ``task_id`` to ``reply`` when the file exists."""
    path = task_path(holder, task_id)
    try:
        content = read_task_file(path)
    except (IOError, OSError) as exc:
        raise BxError('Cannot open %s: %s' % (path, exc.strerror or exc))
    if content is not None:
        overlay(reply, content)
    return reply


def write_task_file(holder, task_id, content):
    """Create or truncate a task file with ``content`` (no trailing newline).

    Mode comes from the umask, as with the original. ``tasks/`` is created
    with 0770 minus umask when missing.
    """
    folder = tasks_dir(holder)
    try:
        os.mkdir(folder, 0o770)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    path = task_path(holder, task_id)
    with open(path, 'wb') as handle:
        handle.write(content.encode('utf-8'))
    return path
