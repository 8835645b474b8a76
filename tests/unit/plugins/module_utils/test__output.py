# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret masking (docs/protocol.md, difference 13)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils._output import MASK, is_secret_key, mask_secrets, quote_safely


@pytest.mark.parametrize('key', [
    'password', 'server_password', 'Root_PASSWORD', 'passwd', 'pass', 'db_pass', 'Passphrase', 'rootPwd',
    'secret', 'client_secret', 'token', 'access_token', 'api_key', 'apikey', 'apiKey', 'API-KEY', 'api.key',
    'private_key', 'privateKey', 'ssh-private-key', 'credentials', 'Credential',
])
def test_secret_keys(key):
    assert is_secret_key(key) is True


@pytest.mark.parametrize('key', ['server', 'status', 'task_id', 'message', 'key', 'public_key', 'user', 1, None])
def test_other_keys(key):
    assert is_secret_key(key) is False


def test_mask_secrets_walks_lists_and_objects_and_keeps_empty_values():
    value = {'a': [{'token': 't', 'n': 1}, 'x'], 'secret': {'deep': 1}, 'pass': '', 'pwd': None, 'api_key': 0,
             'note': 'kept'}
    assert mask_secrets(value) == {'a': [{'token': MASK, 'n': 1}, 'x'], 'secret': MASK, 'pass': '', 'pwd': None,
                                   'api_key': MASK, 'note': 'kept'}
    assert value['a'][0]['token'] == 't', 'a copy: the original is left alone'


@pytest.mark.parametrize('message, value, path, expected', [
    # a value under a secret key is never quoted, whatever its type
    ("{'k': 'S3'} is not of type 'string'", {'k': 'S3'}, ['server_password'], "******** is not of type 'string'"),
    ("['S3'] is not of type 'string'", ['S3'], ['extra', 'api_key', 0], "******** is not of type 'string'"),
    # a value holding a secret key is quoted masked
    ("{'token': 'S3'} is not of type 'string'", {'token': 'S3'}, ['status'],
     "{'token': '********'} is not of type 'string'"),
    # nothing secret: the message as it is
    ("5 is not of type 'string'", 5, ['server'], "5 is not of type 'string'"),
    ("'' is too short", '', ['server_password'], "'' is too short"),
    # the quote is not where it was expected: nothing of the value is shown
    ('refused: S3', {'token': 'S3'}, [], 'the value (not shown: it holds a secret) was refused'),
])
def test_quote_safely(message, value, path, expected):
    assert quote_safely(message, value, path) == expected
