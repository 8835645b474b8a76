# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' runner on AnsibleModule.run_command."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

from ansible_collections.bitrix.bxenv.plugins.module_utils import _module


def test_settled_poll_returns_the_status_of_a_child_whose_pipes_closed():
    # The moment run_command's loop sees EOF the child may not be reaped
    # yet; the settled poll gives its exit status, not None.
    child = subprocess.Popen(['sh', '-c', 'echo done; exit 3'], stdout=subprocess.PIPE)
    _module.settle_poll(child)
    assert child.stdout.read() == b'done\n'
    assert child.poll() == 3
    child.stdout.close()


def test_settled_poll_does_not_wait_for_a_running_child():
    child = subprocess.Popen(['sleep', '30'])
    try:
        _module.settle_poll(child)
        assert child.poll() is None
        assert child.returncode is None
    finally:
        child.kill()
        child.wait()


class RecordingModule(object):
    """Just enough of AnsibleModule: runs the command as run_command would."""

    def __init__(self):
        self.calls = []

    def run_command(self, args, **kwargs):
        self.calls.append(kwargs)
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        kwargs['before_communicate_callback'](process)
        stdout, stderr = process.communicate(kwargs.get('data'))
        return process.returncode, stdout.decode(), stderr.decode()


def test_runner_uses_argv_without_expansion_and_settles_poll():
    module = RecordingModule()
    run = _module.module_runner(module)
    assert run(['sh', '-c', 'echo "$1"', 'x', '$HOME ~']) == (0, '$HOME ~\n', '')
    assert run(['cat'], data=b'in') == (0, 'in', '')
    assert [sorted(kwargs) for kwargs in module.calls] == [
        ['before_communicate_callback', 'expand_user_and_vars'],
        ['before_communicate_callback', 'binary_data', 'data', 'expand_user_and_vars'],
    ]
    assert all(kwargs['expand_user_and_vars'] is False for kwargs in module.calls)
    assert all(kwargs['before_communicate_callback'] is _module.settle_poll for kwargs in module.calls)
