# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches ``get-pip.py`` from a host this machine cannot reach;
tests/ci/lib.sh copies this file to ``~/.ansible/test/cache/get_pip_<ver>.py``
instead. Like the real script, it installs the arguments it was given (the
pinned pip, setuptools, wheel) from PyPI in one pip run: pip runs from the
wheel the Python ships for ``ensurepip`` (a wheel is importable). Without
one, ``ensurepip`` installs a pip first. They are not byte-compiled (Python
compiles what is imported, when it is): that halves the time of each of the
dozens of venvs a sanity run makes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import subprocess
import sys

# options of get-pip.py itself, not of pip install
DROPPED = ('--no-setuptools', '--no-wheel')


def bundled_pip():
    """Path of the newest pip wheel under ensurepip/_bundled, or None."""
    import ensurepip
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl'))

    def version(path):
        return tuple(int(part) for part in re.findall(r'\d+', os.path.basename(path).split('-')[1]))
    return max(wheels, key=version) if wheels else None


def main():
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    wheel = bundled_pip()
    if wheel:
        pip = [sys.executable, os.path.join(wheel, 'pip')]
    else:
        subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
        pip = [sys.executable, '-m', 'pip']
    subprocess.check_call(pip + ['install', '--no-compile'] + args)


if __name__ == '__main__':
    main()
