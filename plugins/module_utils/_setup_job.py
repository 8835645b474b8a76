# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The pool set-up job that ``bx-provider order_to_host`` starts after an add.

docs/protocol.md section 8 ("The set-up job") and docs/protocol.md, difference 15. As the original
did, the pool set-up playbook (``common.yml``, or ``monitor.yml`` when
monitoring is enabled) runs as a background job that nobody waits for: the
appliance's web interface relies on it to set the new server up. The job
folder has the appliance's format, plus the exit status the original never
recorded::

    <jobs_dir>/common_<10 digits>/      (monitor_<10 digits>/ for monitor.yml)
        cmd      INITIAL_CMD: <ansible-playbook>  <pool_dir>/<playbook>
        pid      the job's process id
        status   the playbook's stdout and stderr, as it runs
        rc       its exit status, written (atomically) when it has ended

The folder and its files are created new (``O_EXCL``), never through a
link. The job runs in the pool folder, in a session of its own, through the
collection's runner (``_runner.start_detached``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random

from ansible_collections.bitrix.bxenv.plugins.module_utils import _files, _pool, _runner
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import reason

DEFAULT_JOBS_DIR = '/opt/webdir/temp'
DEFAULT_ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook'
# Tries at a free folder name; 10 random digits rarely meet twice.
_ATTEMPTS = 20


class NotStarted(Exception):
    """Why the set-up job was not started; the add it follows still stands."""


def command_text(ansible_playbook, playbook):
    """The job's command as the original writes it: two spaces (no options) between."""
    return '%s  %s' % (ansible_playbook, playbook)


def _write_new(folder_fd, name, text):
    _files.write_new(folder_fd, name, text.encode('utf-8', 'surrogateescape'), 0o644)


def _make_folder(root_fd, kind, rng):
    """Create ``<kind>_<10 digits>`` under the open jobs folder; returns its name."""
    for dummy in range(_ATTEMPTS):
        name = '%s_%010d' % (kind, rng.randrange(10 ** 10))
        try:
            os.mkdir(name, 0o755, dir_fd=root_fd)
        except FileExistsError:
            continue
        return name
    raise NotStarted('no free job folder name after %d tries' % _ATTEMPTS)


def start(pool_dir, jobs_dir=DEFAULT_JOBS_DIR, ansible_playbook=DEFAULT_ANSIBLE_PLAYBOOK,
          starter=_runner.start_detached, rng=None):
    """Start the pool's set-up playbook as a background job; never waits for it.

    Returns ``{'folder', 'pid', 'command', 'playbook'}``. Raises NotStarted,
    with the reason, when the playbook binary, the playbook or the jobs
    folder is missing, or nothing could be started.
    """
    playbook = _pool.setup_playbook(pool_dir)
    if not (os.path.isfile(ansible_playbook) and os.access(ansible_playbook, os.X_OK)):
        raise NotStarted('%s is not an executable file' % ansible_playbook)
    if not playbook['exists']:
        raise NotStarted('the playbook %s does not exist' % playbook['path'])
    kind = 'monitor' if playbook['monitoring'] else 'common'
    command = command_text(ansible_playbook, playbook['path'])
    try:
        root_fd = _files.open_dir(None, jobs_dir, jobs_dir)  # a link there is refused
    except (OSError, _files.UnsafeFile) as exc:
        raise NotStarted('cannot open the jobs folder %s: %s' % (jobs_dir, reason(exc)))
    try:
        name = _make_folder(root_fd, kind, rng or random.SystemRandom())
        folder = os.path.join(jobs_dir, name)
        folder_fd = _files.open_dir(root_fd, name, folder)
    except (OSError, _files.UnsafeFile) as exc:
        raise NotStarted('cannot make a job folder in %s: %s' % (jobs_dir, reason(exc)))
    finally:
        os.close(root_fd)
    try:
        _write_new(folder_fd, 'cmd', 'INITIAL_CMD: %s\n' % command)
        status_fd = _files.create_new(folder_fd, 'status', 0o644)
        try:
            pid = starter([ansible_playbook, playbook['path']], status_fd, cwd=pool_dir, record_fd=folder_fd)
        except OSError as exc:
            _files.write_all(status_fd, ('cannot start the job: %s\n' % reason(exc)).encode('utf-8'))
            _write_new(folder_fd, 'rc', '127\n')
            raise NotStarted('cannot start %s: %s' % (command, reason(exc)))
        finally:
            os.close(status_fd)
        _write_new(folder_fd, 'pid', '%d\n' % pid)
    except OSError as exc:
        raise NotStarted('cannot write the job folder %s: %s' % (folder, reason(exc)))
    finally:
        os.close(folder_fd)
    return {'folder': folder, 'pid': pid, 'command': command, 'playbook': playbook['path']}
