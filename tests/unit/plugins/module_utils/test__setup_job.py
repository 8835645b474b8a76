# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pool set-up job of ``bx-provider order_to_host`` (docs/protocol.md 8, docs/protocol.md, difference 15)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _setup_job
from ansible_collections.bitrix.bxenv.tests.unit.fakes import finished_jobs, make_ansible_playbook, playbook_calls
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import make_pool


@pytest.fixture
def env(tmp_path):
    pool = make_pool(tmp_path / 'pool')
    open(os.path.join(pool, 'common.yml'), 'w').close()
    jobs = str(tmp_path / 'temp')
    os.makedirs(jobs)
    return {'pool': pool, 'jobs': jobs, 'playbook': make_ansible_playbook(tmp_path / 'bin', rc=3)}


class Digits(object):
    """randrange() from a list, to force name collisions."""

    def __init__(self, *numbers):
        self.numbers = list(numbers)

    def randrange(self, dummy):
        return self.numbers.pop(0)


def start(env, **kwargs):
    return _setup_job.start(env['pool'], env['jobs'], env['playbook'], **kwargs)


def test_job_folder_files_and_result(env):
    job = start(env, rng=random.Random(1))
    name = os.path.basename(job['folder'])
    assert job == {'folder': os.path.join(env['jobs'], name), 'pid': job['pid'],
                   'command': '%s  %s/common.yml' % (env['playbook'], env['pool']),
                   'playbook': os.path.join(env['pool'], 'common.yml')}
    files = finished_jobs(env['jobs'])[name]
    assert files == {'cmd': 'INITIAL_CMD: %s\n' % job['command'], 'pid': '%d\n' % job['pid'], 'rc': '3\n',
                     'status': 'PLAY [bitrix-hosts] ****\nfake ansible-playbook ends with 3\n'}
    assert playbook_calls(env['playbook']) == [{'argv': [env['playbook'], job['playbook']], 'cwd': env['pool']}]


def test_a_taken_name_is_never_reused(env):
    os.mkdir(os.path.join(env['jobs'], 'common_0000000042'))
    os.symlink('/nowhere', os.path.join(env['jobs'], 'common_0000000043'))
    job = start(env, rng=Digits(42, 43, 44))
    assert os.path.basename(job['folder']) == 'common_0000000044'
    assert os.listdir(os.path.join(env['jobs'], 'common_0000000042')) == []
    assert os.readlink(os.path.join(env['jobs'], 'common_0000000043')) == '/nowhere'
    os.rmdir(os.path.join(env['jobs'], 'common_0000000042'))
    os.remove(os.path.join(env['jobs'], 'common_0000000043'))
    assert finished_jobs(env['jobs'])['common_0000000044']['rc'] == '3\n'


def test_no_free_name(env):
    os.mkdir(os.path.join(env['jobs'], 'common_0000000007'))
    with pytest.raises(_setup_job.NotStarted) as info:
        start(env, rng=Digits(*[7] * 20))
    assert str(info.value) == 'no free job folder name after 20 tries'


def test_a_linked_jobs_folder_is_not_followed(env, tmp_path):
    link = str(tmp_path / 'link')
    os.symlink(env['jobs'], link)
    with pytest.raises(_setup_job.NotStarted) as info:
        _setup_job.start(env['pool'], link, env['playbook'])
    assert str(info.value).startswith('cannot open the jobs folder %s: ' % link)
    assert os.listdir(env['jobs']) == []


def test_nothing_started_is_recorded_in_the_folder(env):
    def cannot_start(argv, output, cwd=None, record_fd=None):
        raise OSError(2, 'No such file or directory')

    with pytest.raises(_setup_job.NotStarted) as info:
        start(env, starter=cannot_start)
    assert str(info.value) == 'cannot start %s  %s/common.yml: No such file or directory' % (
        env['playbook'], env['pool'])
    assert list(finished_jobs(env['jobs']).values()) == [{
        'cmd': 'INITIAL_CMD: %s  %s/common.yml\n' % (env['playbook'], env['pool']), 'rc': '127\n',
        'status': 'cannot start the job: No such file or directory\n'}]
