# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_runner.start_detached``: background work that outlives its caller and is recorded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import sys
import time

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner

# A job that says where it runs, what it got and which descriptors it has,
# then ends with status 2 after a second.
REPORT = r'''
import os, sys, time
print('argv:' + ' '.join(sys.argv[1:]))
print('sid:%d pid:%d' % (os.getsid(0), os.getpid()))
print('stdin:' + os.readlink('/proc/self/fd/0'))
print('fds:' + ' '.join(str(fd) for fd in range(256) if os.path.exists('/proc/self/fd/%d' % fd)))
print('cwd:' + os.getcwd())
sys.stdout.flush()
sys.stderr.write('to stderr\n')
time.sleep(1)
sys.exit(2)
'''


def wait_for(path, seconds=10):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError('%s did not appear' % path)
        time.sleep(0.02)
    with open(path) as handle:
        return handle.read()


def wait_for_text(path, text, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(path) as handle:
            if handle.read() == text:
                return True
        time.sleep(0.02)
    return False


def start(tmp_path, argv, record=True, cwd=None):
    """Start ``argv`` with output to ``tmp_path/job/status``; returns (pid, job folder)."""
    job = tmp_path / 'job'
    job.mkdir()
    output = os.open(str(job / 'status'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    folder = os.open(str(job), os.O_RDONLY | os.O_DIRECTORY)
    try:
        pid = _runner.start_detached(argv, output, cwd=cwd, record_fd=folder if record else None)
    finally:
        os.close(output)
        os.close(folder)
    return pid, str(job)


def test_the_exit_status_and_the_output_are_recorded(tmp_path):
    started = time.monotonic()
    pid, job = start(tmp_path, [sys.executable, '-c', REPORT, 'a b', '--c'], cwd=str(tmp_path))
    assert time.monotonic() - started < 0.9, 'returns at once, never waits for the job'
    assert not os.path.exists(os.path.join(job, 'rc'))
    assert wait_for(os.path.join(job, 'rc')) == '2\n'
    status = wait_for(os.path.join(job, 'status')).splitlines()
    assert status[0] == 'argv:a b --c'
    sid, job_pid = [int(word.split(':')[1]) for word in status[1].split()]
    assert sid == pid != job_pid, 'the watcher leads a session of its own; the job runs in it'
    assert status[2:] == ['stdin:/dev/null', 'fds:0 1 2', 'cwd:%s' % tmp_path, 'to stderr']
    assert sorted(os.listdir(job)) == ['rc', 'status']


def test_a_job_that_succeeds(tmp_path):
    pid, job = start(tmp_path, ['true'])
    assert wait_for(os.path.join(job, 'rc')) == '0\n'
    assert wait_for(os.path.join(job, 'status')) == ''


def test_a_missing_program_is_recorded(tmp_path):
    missing = str(tmp_path / 'no-such-program')
    pid, job = start(tmp_path, [missing, 'x'])
    assert wait_for(os.path.join(job, 'rc')) == '127\n'
    assert wait_for(os.path.join(job, 'status')) == 'cannot run %s: No such file or directory\n' % missing


def test_a_signal_to_the_watcher_reaches_the_job(tmp_path):
    pid, job = start(tmp_path, ['sh', '-c', 'echo started; exec sleep 60'])
    assert wait_for_text(os.path.join(job, 'status'), 'started\n')
    os.kill(pid, signal.SIGTERM)
    assert wait_for(os.path.join(job, 'rc')) == '%d\n' % (128 + signal.SIGTERM)


def test_without_a_record_the_program_itself_runs_detached(tmp_path):
    pid, job = start(tmp_path, ['sh', '-c', 'echo "$$ $(cut -d" " -f6 /proc/$$/stat)"'], record=False)
    assert wait_for_text(os.path.join(job, 'status'), '%d %d\n' % (pid, pid))
    assert os.listdir(job) == ['status']


def test_nothing_started_raises(tmp_path):
    with pytest.raises(OSError):
        start(tmp_path, [str(tmp_path / 'missing')], record=False)
