# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bx_provider_plugin through ``main()``: install, idempotence, check/diff mode, removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

import pytest

from ansible_collections.bitrix.bxenv.plugins.modules import bx_provider_plugin
from ansible_collections.bitrix.bxenv.tests.unit.fakes import OWNER
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils import plugin_archives as pa
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.test__archive import tree_state

NAME = 'superprovider'


@pytest.fixture
def world(tmp_path):
    (tmp_path / 'archives').mkdir()
    return tmp_path


def args(world, **extra):
    options = dict(OWNER, name=NAME, providers_dir=str(world / 'providers'))
    options.update(extra)
    return options


def test_install_then_again(run_module, world):
    archive = pa.good_archive(world / 'archives', NAME, 'tar.xz', top=NAME)
    holder = str(world / 'providers' / NAME)
    result = run_module(bx_provider_plugin, args(world, src=archive))
    assert result['changed'] is True
    assert result['msg'] == result['message'] == \
        'bxProvider: Provider data created, you can found it in %s' % holder
    assert result['provider']['status'] == 'enabled'
    assert result['provider']['options']['order'] == 1
    assert len(result['sha256']) == 64
    assert 'diff' not in result
    again = run_module(bx_provider_plugin, args(world, src=archive))
    assert again['changed'] is False and again['sha256'] == result['sha256']


def test_check_and_diff_mode(run_module, world):
    archive = pa.good_archive(world / 'archives', NAME, 'zip')
    result = run_module(bx_provider_plugin, dict(args(world, src=archive), _ansible_diff=True), check_mode=True)
    assert result['changed'] is True
    assert not (world / 'providers').exists()
    assert result['diff']['before'] == ''
    assert 'bin/%s mode=0755 size=' % NAME in result['diff']['after']
    assert result['files']['added'] == ['VERSION', 'bin/' + NAME, 'etc/%s.conf' % NAME, 'fake.json']
    run_module(bx_provider_plugin, args(world, src=archive))
    upgrade = pa.good_archive(world / 'archives', NAME, 'tgz', version='2')
    result = run_module(bx_provider_plugin, dict(args(world, src=upgrade), _ansible_diff=True))
    assert result['changed'] is True and result['files']['changed'] == ['VERSION']
    assert result['diff']['before'] != result['diff']['after']


def test_missing_owner_fails_before_writing(run_module, world):
    archive = pa.good_archive(world / 'archives', NAME)
    result = run_module(bx_provider_plugin, args(world, src=archive, owner='no-such-user-x'))
    assert result['failed'] is True
    assert result['msg'] == 'bxProvider: user no-such-user-x does not exist on the host'
    assert result['error'] == 1
    assert not (world / 'providers').exists()
    # the default owner bitrix is checked too
    options = args(world, src=archive)
    del options['owner'], options['group']
    result = run_module(bx_provider_plugin, options)
    if has_user('bitrix'):
        assert result['changed'] is True
    else:
        assert result['msg'] == 'bxProvider: user bitrix does not exist on the host'
        assert not (world / 'providers').exists()


def has_user(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_bad_archive_fails_with_the_reason(run_module, world):
    path = pa.write_archive(str(world / 'archives' / 'slip.zip'),
                            pa.plugin_entries(NAME) + [pa.Entry('../evil', data='x')])
    result = run_module(bx_provider_plugin, args(world, src=path))
    assert result['failed'] is True
    assert result['msg'] == "bxProvider: archive %s: member '../evil': path contains '..'" % path
    assert os.listdir(str(world / 'providers')) == []  # the locks live next to the root


def test_src_is_required_and_checked(run_module, world):
    result = run_module(bx_provider_plugin, args(world))
    assert result['failed'] is True and 'src' in result['msg']
    result = run_module(bx_provider_plugin, args(world, src=str(world / 'nope.tar.gz')))
    assert result['msg'] == 'bxProvider: not found %s' % (world / 'nope.tar.gz')
    other = world / 'archives' / 'p.rar'
    other.write_text('x')
    result = run_module(bx_provider_plugin, args(world, src=str(other)))
    assert result['msg'] == 'bxProvider: not supported archive (only support tar.gz, tgz, tar.bz2, tar.xz, zip)'
    result = run_module(bx_provider_plugin, args(world, src=str(other), max_size=0))
    assert result['msg'] == 'max_size must be a whole number of bytes from 1 to 1099511627776, got 0'


def test_absent(run_module, world):
    run_module(bx_provider_plugin, args(world, src=pa.good_archive(world / 'archives', NAME, 'tar.bz2')))
    holder = world / 'providers' / NAME
    (holder / 'tasks').mkdir()
    (holder / 'tasks' / 't1').write_text('')
    before = tree_state(str(world / 'providers'))
    result = run_module(bx_provider_plugin, args(world, state='absent'))
    assert result['failed'] is True
    assert 'has orders that are not complete: t1' in result['msg']
    assert tree_state(str(world / 'providers')) == before
    result = run_module(bx_provider_plugin, args(world, state='absent', force=True), check_mode=True)
    assert result['changed'] is True and holder.exists()
    result = run_module(bx_provider_plugin, args(world, state='absent', force=True))
    assert result['changed'] is True
    assert result['msg'] == 'bxProvider: Provider data deleted from %s' % holder
    assert not holder.exists()
    result = run_module(bx_provider_plugin, args(world, state='absent'))
    assert result['changed'] is False
