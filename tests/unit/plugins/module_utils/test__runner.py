# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one process runner, with real children that behave like real providers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _runner
from ansible_collections.bitrix.bxenv.tests.unit.fakes import alive, wait_gone

# Silences around the second at which run_command's loop gives up on the pipes.
DELAYS = (0.5, 0.98, 1.0, 1.02, 1.5, 2.0)


@pytest.fixture(autouse=True, params=['pidfd', 'exit-poll'])
def exit_watch(request, monkeypatch):
    """Every test twice: the exit seen through a pidfd, and by polling (older
    Python or kernel) -- unless this machine has no pidfd at all."""
    if request.param == 'exit-poll':
        monkeypatch.setattr(_runner, '_exit_watch', lambda pid: None)
    return request.param


def read_pid(path, seconds=5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read())
        time.sleep(0.02)
    raise AssertionError('no pid in %s' % path)


@pytest.mark.real_timing
def test_every_answer_after_a_silence_is_kept():
    def answer(delay):
        return _runner.run(['sh', '-c', 'sleep %s; printf "{\\"delay\\": %s}"' % (delay, delay)], timeout=20)

    for dummy in range(3):
        with ThreadPoolExecutor(len(DELAYS)) as pool:
            results = list(pool.map(answer, DELAYS))
        for delay, result in zip(DELAYS, results):
            assert (result.rc, result.stdout, result.timed_out) == (0, ('{"delay": %s}' % delay).encode(), False)


def test_argv_no_shell_own_session_empty_stdin(tmp_path):
    marker = tmp_path / 'pwned'
    result = _runner.run(['sh', '-c', 'echo "$1"; ps -o sid= -p $$; cat; echo "<$(pwd)>"', 'x',
                          '$(touch %s) ~ $HOME' % marker], timeout=10, cwd=str(tmp_path))
    lines = result.text().splitlines()
    assert lines[0] == '$(touch %s) ~ $HOME' % marker and not marker.exists()
    assert int(lines[1]) != os.getsid(0)
    assert lines[2] == '<%s>' % tmp_path


def test_data_goes_to_stdin_and_environ_is_added():
    data = b'x' * (1024 * 1024)
    result = _runner.run(['sh', '-c', 'wc -c; echo "$BXENV_T"'], timeout=10, data=data,
                         environ_update={'BXENV_T': 'v'})
    assert result.text().split() == [str(len(data)), 'v']


def test_exit_status_and_stderr_are_kept():
    result = _runner.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout=10)
    assert (result.rc, result.stdout, result.stderr, result.problem(10)) == (3, b'out\n', b'err\n', None)


def test_a_program_that_cannot_start_is_a_result():
    result = _runner.run(['/nonexistent/provider', 'help'], timeout=10)
    assert result.rc == 127 and 'cannot run /nonexistent/provider' in result.problem(10)


def test_hung_child_and_its_group_are_killed_at_the_timeout(tmp_path):
    pids = tmp_path / 'pids'
    started = time.monotonic()
    result = _runner.run(['sh', '-c', 'sleep 300 & echo $! > %s; trap "" TERM; wait' % pids], timeout=1,
                         grace=0.5)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.problem(1) == 'timed out after 1 s and was killed'
    assert wait_gone(read_pid(str(pids)))


@pytest.mark.parametrize('escape', ['', 'setsid '], ids=['same-group', 'own-session'])
def test_child_holding_stdout_of_a_hung_program_ends_at_the_timeout_and_is_gone(tmp_path, escape):
    pidfile = tmp_path / 'pid'
    result = _runner.run(['sh', '-c', '%ssh -c \'echo $$ > %s; exec sleep 300\' & printf "{}"; sleep 300'
                          % (escape, pidfile)], timeout=1.5, grace=0.5)
    assert result.timed_out and result.stdout == b'{}'
    assert wait_gone(read_pid(str(pidfile)))


@pytest.mark.parametrize('escape', ['', 'setsid '], ids=['same-group', 'own-session'])
def test_answer_of_a_program_that_exited_is_kept_when_a_child_holds_stdout(tmp_path, escape):
    """``echo {...}; sleep 100 &``: the answer is complete when the program exits;
    the child holding the pipe is ended after the grace, never at the timeout."""
    pidfile = tmp_path / 'pid'
    result = _runner.run(['sh', '-c', '%ssh -c \'echo $$ > %s; exec sleep 30\' & printf "{}"; exit 3'
                          % (escape, pidfile)], timeout=20, grace=0.5)
    assert (result.rc, result.stdout, result.timed_out, result.held_open) == (3, b'{}', False, True)
    assert result.problem(20) is None
    assert wait_gone(read_pid(str(pidfile)))


def test_what_a_child_writes_within_the_grace_is_kept_and_it_is_left_alone(tmp_path):
    result = _runner.run(['sh', '-c', '(sleep 0.5; printf "b") & printf "a"'], timeout=20, pipe_grace=2)
    assert (result.rc, result.stdout, result.timed_out, result.held_open) == (0, b'ab', False, False)


def test_a_child_without_our_pipes_is_left_alone_when_another_holds_them(tmp_path):
    """Only the holders of the pipes are ended after the grace."""
    pidfile = tmp_path / 'pid'
    result = _runner.run(['sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $! > %s; sleep 30 & printf "{}"' % pidfile],
                         timeout=20, grace=0.5)
    pid = read_pid(str(pidfile))
    try:
        assert (result.stdout, result.timed_out, result.held_open) == (b'{}', False, True)
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_child_that_closes_its_pipes_but_stays_is_killed(tmp_path):
    result = _runner.run(['sh', '-c', 'exec >/dev/null 2>&1; sleep 300'], timeout=1, grace=0.5)
    assert result.timed_out and result.rc == -signal.SIGTERM


def test_background_child_without_our_pipes_is_left_alone(tmp_path):
    """A provider may start a worker that outlives a clean call (as with the original)."""
    pidfile = tmp_path / 'pid'
    result = _runner.run(['sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $! > %s; printf "{}"' % pidfile], timeout=10)
    pid = read_pid(str(pidfile))
    try:
        assert (result.rc, result.stdout, result.timed_out) == (0, b'{}', False)
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize('stream', ['stdout', 'stderr'])
def test_flood_is_bounded_and_killed(stream):
    redirect = '' if stream == 'stdout' else '>&2'
    result = _runner.run(['sh', '-c', 'yes %s' % redirect], timeout=30, max_output=1024 * 1024)
    assert result.overflow == stream and len(getattr(result, stream)) == 1024 * 1024
    assert result.problem(30, 1024 * 1024) == 'wrote more than 1048576 bytes on %s and was killed' % stream
    assert not result.timed_out


def test_output_just_at_the_limit_is_kept():
    result = _runner.run(['head', '-c', '4096', '/dev/zero'], timeout=10, max_output=4096)
    assert result.overflow is None and len(result.stdout) == 4096


def test_stdin_left_unread_does_not_hang():
    result = _runner.run(['true'], timeout=10, data=b'x' * (4 * 1024 * 1024))
    assert result.rc == 0 and not result.timed_out
