# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""Task files: ``<holder>/tasks/<task_id>``, their states and the overlay.

docs/protocol.md section 7. A task file is empty (ordered), ``complete: …`` or
``error: …``; the formats are the original's so both tools share them.
Our own bookkeeping lives in ``tasks/.bxenv/``: the original lists every
regular file in ``tasks/`` as a task but skips sub-folders.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _messages
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, one_line, reason

TASKS_DIR = 'tasks'
BOOKKEEPING_DIR = '.bxenv'
# Temporary files of task-file writes, below tasks/ (same filesystem, so the
# rename is atomic) in a sub-folder: a killed write never leaves an order.
TEMP_PARTS = (BOOKKEEPING_DIR, 'tmp')
# "error:", optional whitespace, exactly one non-empty line, one optional newline.
_ERROR_CONTENT = re.compile(r'error:\s*(.+)\n?\Z')


def tasks_dir(holder):
    return os.path.join(holder, TASKS_DIR)


def task_path(holder, task_id):
    return os.path.join(tasks_dir(holder), task_id)


def list_task_ids(holder):
    """Names in ``tasks/`` that are not folders (dot-files included), sorted.

    The original lists every regular file; a link, FIFO or device planted
    there is listed too, so that reading it fails visibly, naming it.
    Raises OSError (or UnsafeFile when ``tasks/`` is a link) when the
    folder cannot be read.
    """
    with _files.folder(holder, TASKS_DIR) as fd:
        return sorted(name for name, mode in _files.entries(fd).items() if not stat.S_ISDIR(mode))


def task_mtime(holder, task_id):
    """The task file's mtime (of the name itself, never of a link's target)."""
    with _files.folder(holder, TASKS_DIR) as fd:
        return int(os.lstat(task_id, dir_fd=fd).st_mtime)


def read_task_file(holder, task_id):
    """The content of a task file as text, or None when there is none.

    Raises BxError (UnsafeFile) for a link, FIFO, device or oversized file.
    """
    try:
        data = _files.read_under(holder, (TASKS_DIR,), task_id, task_path(holder, task_id))
    except (IOError, OSError) as exc:
        raise BxError(_messages.TASK_FILE_CANNOT_OPEN % (task_path(holder, task_id), reason(exc)))
    return None if data is None else data.decode('utf-8', 'replace')


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
    """Lay a task file's content over an order_status reply (docs/protocol.md 7), in place."""
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
    content = read_task_file(holder, task_id)
    if content is not None:
        overlay(reply, content)
    return reply


def write_task_file(holder, task_id, content):
    """Create or replace a task file with ``content`` (no trailing newline).

    ``content`` is written as one short line (``_errors.one_line``): a
    newline would hide an ``error:`` from the overlay, so the order would
    show as ``finished`` again, and a huge text would make it unreadable.
    Ordinary content is written byte for byte.

    Mode 0666 minus the umask, as with the original; ``tasks/`` is made
    0750 when missing. The temporary file lives in ``tasks/.bxenv/tmp/``,
    where neither the original nor ``list_task_ids`` looks. Raises OSError
    or UnsafeFile.
    """
    with _files.folder(holder, TASKS_DIR, create=True) as fd:
        with _files.folder_at(fd, *TEMP_PARTS, path=tasks_dir(holder), create=True) as temp_fd:
            return _files.write(fd, task_id, one_line(content).encode('utf-8'), task_path(holder, task_id),
                                temp_fd=temp_fd)
