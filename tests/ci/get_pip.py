# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches ``get-pip.py`` from a host this machine cannot reach;
tests/ci/lib.sh copies this file to ``~/.ansible/test/cache/get_pip_<ver>.py``
instead. It bootstraps pip with ``ensurepip`` and then installs the
arguments it was given (the pinned pip, setuptools, wheel) from PyPI.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys

DROPPED = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
