# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The one process runner of the collection (modules and ``bx-provider`` alike).

Every external process (providers, ssh, the pool set-up playbook) starts
here: an argv list and never a shell, stdin empty unless data is given, a
session of its own, and a timeout after which the whole process group gets
TERM, then KILL after a grace. The one exception to the timeout is
``start_detached``: a background job that must outlive its caller (the pool
set-up job of ``bx-provider``), started in a session of its own and recorded,
never waited for. Output is read until EOF on both pipes, so an
answer written after any silence is kept; each stream is bounded, and a child
that writes more is killed instead of filling the memory. Once the program
itself has exited, its answer is whole: a background child still holding the
pipes gets PIPE_GRACE seconds to close them, then the output is used as it is
and the holders are ended.

Not ``AnsibleModule.run_command``: its select loop gives up on the pipes when
a second passes in silence and the child has exited meanwhile, dropping what
the child wrote last (ansible/ansible#51393) -- exactly how a provider that
calls a cloud API behaves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import errno
import os
import select
import signal
import subprocess
import sys
import time

DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024
# Seconds between TERM and KILL for a process group that outlived its time.
KILL_GRACE = 3.0
# Seconds a background child may keep our pipes open after the program it
# came from has exited (``sh -c 'echo {...}; sleep 100 &'``). The program's
# answer is complete by then; without this limit the call would last until
# the timeout and be thrown away, so an order placed would look failed.
PIPE_GRACE = 1.0
# How often the reader checks whether the program has exited while its pipes
# are still open, where no pidfd tells it at once (``_exit_watch``).
_EXIT_POLL = 0.05
_CHUNK = 64 * 1024
_WRITE_CHUNK = 16 * 1024


class Result(collections.namedtuple('Result', 'argv rc stdout stderr elapsed timed_out overflow error held_open',
                                    defaults=(None, b'', b'', 0.0, False, None, None, False))):
    """What one run gave: ``rc``, ``stdout``/``stderr`` (bytes), ``elapsed``.

    ``timed_out``: the run outlived its timeout and was killed; ``overflow``:
    the stream (``'stdout'``/``'stderr'``) that passed ``max_output`` bytes,
    after which the run was killed; ``error``: why the program could not be
    started (``rc`` is then 127). ``held_open``: the program exited by itself
    (``rc`` is its status, its output complete), but a background child kept
    the pipes open for ``pipe_grace`` seconds and was ended; ``problem()`` is
    None then.
    """

    __slots__ = ()

    def text(self, stream='stdout'):
        """A stream as text for messages; bytes that are not UTF-8 become U+FFFD."""
        return getattr(self, stream).decode('utf-8', 'replace')

    def stderr_text(self):
        """stderr as text, then why the program could not be started, if so."""
        text = self.text('stderr')
        return '%s\n%s' % (text, self.error) if self.error else text

    def problem(self, timeout, max_output=DEFAULT_MAX_OUTPUT):
        """Why the run did not end by itself, as a short text, or None."""
        if self.error:
            return self.error
        if self.timed_out:
            return 'timed out after %g s and was killed' % timeout
        if self.overflow:
            return 'wrote more than %d bytes on %s and was killed' % (max_output, self.overflow)
        return None


def run(argv, timeout, data=None, environ_update=None, cwd=None, max_output=DEFAULT_MAX_OUTPUT,
        grace=KILL_GRACE, clock=time.monotonic, pipe_grace=PIPE_GRACE):
    """Run ``argv`` and return a Result; never raises for what the child does."""
    env = None
    if environ_update:
        env = dict(os.environ)
        env.update(environ_update)
    if isinstance(data, str):
        data = data.encode('utf-8')
    started = clock()
    try:
        # The sanctioned place for Popen (see the module docstring).
        process = subprocess.Popen(  # pylint: disable=ansible-bad-function
            argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env,
            close_fds=True, start_new_session=True)
    except OSError as exc:
        return Result(argv, rc=127, elapsed=clock() - started,
                      error='cannot run %s: %s' % (argv[0], exc.strerror or exc))
    output = {'stdout': bytearray(), 'stderr': bytearray()}
    deadline = started + timeout
    timed_out, overflow, held_open, ended = False, None, False, False
    try:
        timed_out, overflow, held_open, exited = _pump(process, data, output, deadline, max_output, clock,
                                                       pipe_grace)
        if not (timed_out or overflow):
            try:
                # known to have exited: reaped at once, without wait()'s sleeping poll
                process.wait(None if exited else max(0.0, deadline - clock()))
            except subprocess.TimeoutExpired:
                timed_out = True  # closed its output but did not exit
        ended = not (timed_out or overflow)
    finally:
        if not ended:  # over time, over size, or our own failure: nothing outlives the call
            _end_group(process, grace, clock)
            _end_pipe_holders([process.stdout, process.stderr], grace, clock)
        elif held_open:
            # The program exited by itself: only the holders of our pipes
            # are ended; other work it left in the background stays.
            _end_pipe_holders([process.stdout, process.stderr], grace, clock)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
    return Result(argv, rc=process.returncode, stdout=bytes(output['stdout']), stderr=bytes(output['stderr']),
                  elapsed=clock() - started, timed_out=timed_out, overflow=overflow, held_open=held_open)


# The watcher of a detached job: runs the job (argv[2:]), passes TERM, INT and
# HUP on to it (one that comes while the job is being started is passed on
# once it runs), and when it ends writes its exit status (128 + signal
# number when a signal ended it; 127 when it could not be started) to the
# file ``rc`` of the folder open as descriptor argv[1]: first as ``rc.tmp``,
# then renamed, so ``rc`` is always whole. Self-contained: it must not depend
# on where this file was loaded from, so it opens ``rc.tmp`` itself (one of
# the two opens outside ``_files``, with the reads of /proc below).
_WATCHER = r"""
import os, signal, subprocess, sys
folder = int(sys.argv[1])
child, pending = None, []
def forward(number, frame):
    if child is None:
        pending.append(number)
    else:
        child.send_signal(number)
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(number, forward)
try:
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
except OSError as exc:
    sys.stderr.write('cannot run %s: %s\n' % (sys.argv[2], exc.strerror or exc))
    rc = 127
else:
    for number in pending:
        child.send_signal(number)
    rc = child.wait()
    rc = 128 - rc if rc < 0 else rc
sys.stderr.flush()
fd = os.open('rc.tmp', os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
os.write(fd, b'%d\n' % rc)
os.close(fd)
os.rename('rc.tmp', 'rc', src_dir_fd=folder, dst_dir_fd=folder)
"""


def start_detached(argv, output, cwd=None, record_fd=None):
    """Start ``argv`` in the background and return at once with its pid.

    For work that must outlive the caller (the pool set-up job of
    ``bx-provider``): a session of its own (it leads its process group), no
    controlling terminal, stdin ``/dev/null``, stdout and stderr both to the
    open file descriptor ``output``; no other descriptor of ours is passed
    on, and it is never waited for or killed here.

    With ``record_fd`` (an open folder descriptor), the process started is a
    small watcher on this Python that runs ``argv``, waits for it and writes
    its exit status to ``rc`` in that folder (see ``_WATCHER``); the pid is
    the watcher's, so signalling it reaches the job. Raises OSError when
    nothing could be started.
    """
    if record_fd is not None:
        argv = [sys.executable, '-I', '-c', _WATCHER, str(record_fd)] + list(argv)
    # The sanctioned place for Popen (see the module docstring).
    process = subprocess.Popen(  # pylint: disable=ansible-bad-function
        argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, cwd=cwd, close_fds=True,
        pass_fds=() if record_fd is None else (record_fd,), start_new_session=True)
    # Not waited for: when the caller exits first, init reaps the job.
    return process.pid


def _exit_watch(pid):
    """A descriptor that turns readable when ``pid`` exits (a pidfd, Linux 5.3+), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # older Python or kernel: poll() every _EXIT_POLL instead
        return None


def _pump(process, data, output, deadline, max_output, clock, pipe_grace):
    """Feed stdin and read both pipes until EOF and the program's exit.

    Returns ``(timed_out, overflow, held_open, exited)``. Once the program
    has exited, reading goes on for at most ``pipe_grace`` seconds; pipes
    still open then are ``held_open`` (not a timeout). ``exited`` is True
    when its exit was seen, so it can be reaped without waiting.
    """
    poller = select.poll()
    names = {process.stdout.fileno(): 'stdout', process.stderr.fileno(): 'stderr'}
    for fd in names:
        poller.register(fd, select.POLLIN)
    busy = set(names)  # pipes not at EOF yet, and stdin while data is left to write
    pending = memoryview(data or b'')
    stdin = process.stdin.fileno() if process.stdin is not None else None
    if stdin is not None:
        os.set_blocking(stdin, False)
        poller.register(stdin, select.POLLOUT)
        busy.add(stdin)
    watch = _exit_watch(process.pid)
    if watch is not None:
        poller.register(watch, select.POLLIN)
    exited = False
    try:
        while busy or (watch is not None and not exited):
            now = clock()
            if watch is None and not exited and process.poll() is not None:
                exited, deadline = True, min(deadline, now + pipe_grace)
            remaining = deadline - now
            if remaining <= 0:
                # an exited program's pipes are still open here: held open, not a timeout
                return not exited, None, exited, exited
            if watch is None and not exited:
                remaining = min(remaining, _EXIT_POLL)
            for fd, dummy in poller.poll(remaining * 1000.0):
                if fd == watch:
                    poller.unregister(watch)
                    exited, deadline = True, min(deadline, clock() + pipe_grace)
                elif fd == stdin:
                    pending = _feed(process, poller, pending)
                    if process.stdin.closed:
                        busy.discard(stdin)
                else:
                    chunk = os.read(fd, _CHUNK)
                    if not chunk:
                        poller.unregister(fd)
                        busy.discard(fd)
                        continue
                    buffer = output[names[fd]]
                    buffer.extend(chunk)
                    if len(buffer) > max_output:
                        del buffer[max_output:]
                        return False, names[fd], False, exited
        return False, None, False, exited
    finally:
        if watch is not None:
            os.close(watch)


def _feed(process, poller, pending):
    """Write what stdin can take now; close it when all is written or the child left."""
    try:
        written = os.write(process.stdin.fileno(), pending[:_WRITE_CHUNK]) if pending else 0
    except BlockingIOError:
        return pending
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        written, pending = 0, pending[:0]
    pending = pending[written:]
    if not pending:
        poller.unregister(process.stdin.fileno())
        process.stdin.close()
    return pending


def _signal_group(pgid, sig):
    """Signal a process group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return False
        raise
    return True


def _end_group(process, grace, clock):
    """TERM the child's process group, KILL it after ``grace``; reap the child."""
    pgid = process.pid  # start_new_session: the child leads its own group
    if _signal_group(pgid, signal.SIGTERM):
        deadline = clock() + grace
        while clock() < deadline:
            if process.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.02)
        _signal_group(pgid, signal.SIGKILL)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass  # unkillable (uninterruptible sleep): nothing more we can do


def _processes():
    """``[(pid, state, pgid)]`` of every process, from ``/proc`` (Linux); None without it."""
    try:
        names = os.listdir('/proc')
    except OSError:
        return None
    found = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            # The kernel's own file, nothing anyone can plant: read directly, not through _files.
            with open('/proc/%s/stat' % name) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
            found.append((int(name), fields[0], int(fields[2])))
        except (IOError, OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return found


def _group_alive(pgid):
    """True while a process of group ``pgid`` runs; zombies waiting for a
    slow reaper do not count (from ``/proc``, else from ``killpg``)."""
    processes = _processes()
    if processes is None:
        return _signal_group(pgid, 0)
    return any(group == pgid and state != 'Z' for dummy, state, group in processes)


def _end_pipe_holders(pipes, grace, clock):
    """Kill processes outside the group that still hold our pipes open.

    A child that left the group (``setsid``) and kept stdout would otherwise
    outlive the call. Found through ``/proc/<pid>/fd`` (Linux); elsewhere the
    pipes are just closed.
    """
    wanted = set('pipe:[%d]' % os.fstat(pipe.fileno()).st_ino for pipe in pipes)
    holders = [pid for pid in _proc_pids() if wanted & _fd_links(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in holders:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except OSError:
                pass
        deadline = clock() + grace
        while alive and clock() < deadline:
            alive = [pid for pid in alive if wanted & _fd_links(pid)]
            time.sleep(0.02)
        holders = alive


def _proc_pids():
    """Pids outside our own process group (where only we and siblings being
    started live)."""
    ours = os.getpgrp()
    return [pid for pid, dummy, group in _processes() or () if group != ours]


def _fd_links(pid):
    folder = '/proc/%d/fd' % pid
    links = set()
    try:
        for fd in os.listdir(folder):
            try:
                links.add(os.readlink(os.path.join(folder, fd)))
            except OSError:
                pass
    except OSError:
        pass
    return links
