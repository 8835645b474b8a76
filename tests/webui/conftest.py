# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built command and the appliance's Python, shared with tests/cli."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from tests.cli.conftest import bare_python, zipapp  # noqa: F401  pylint: disable=unused-import
