# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile values through the core's checks of what users give (property
tests): a clear BxError or success, never another exception."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _ids, _messages, _ssh
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import SETTING_RANGES, check_settings

hypothesis = pytest.importorskip('hypothesis')
st = hypothesis.strategies

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-10 ** 5000, max_value=10 ** 5000),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.binary(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([0, -1, 2 ** 63, 2 ** 64, 10 ** 400, float('inf'), 1e309, '60', '1e3']))
SETTINGS = settings = hypothesis.settings(max_examples=400, deadline=None)


@SETTINGS
@hypothesis.given(st.dictionaries(st.sampled_from(sorted(SETTING_RANGES)), ANY))
def test_check_settings(values):
    try:
        check_settings(**values)
    except BxError as exc:
        name = exc.message.split()[0]
        low, high, dummy = SETTING_RANGES[name]
        assert exc.message.startswith('%s must be a whole number' % name)
        assert ' from %d to %d, got ' % (low, high) in exc.message and len(exc.message) < 200
        return
    for name, value in values.items():
        low, high, dummy = SETTING_RANGES[name]
        assert value is None or (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high)


@SETTINGS
@hypothesis.given(ANY)
def test_check_id(value):
    try:
        assert _ids.check_id(value, 'task_id') == value
    except BxError as exc:
        assert exc.message.startswith('bxenv: invalid task_id ')
        return
    assert isinstance(value, str) and 0 < len(value) <= _ids.MAX_ID_LENGTH


@SETTINGS
@hypothesis.given(server=ANY, user=ANY, port=ANY, ssh_timeout=ANY)
def test_ssh_target_checks(server, user, port, ssh_timeout):
    try:
        _ssh._check_server(server, user, port, ssh_timeout)
    except BxError as exc:
        assert exc.code == 2 and exc.message.startswith(_messages.OTHER_ERROR % (2, _ssh.LOG_FILE) + '; ')
        return
    assert isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 and isinstance(server, str) and isinstance(user, str)
