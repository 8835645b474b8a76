# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of the stand-alone ``bx-provider`` command (bitrix.bxenv).

``tools/build_bx_provider.py`` puts this file at the top of a zipapp next to
the collection's module_utils. It only supplies what the core must not do
itself: a process runner on subprocess (argv lists, never a shell), UTF-8
standard streams and the exit status. Everything else is
``plugins/module_utils/_cli.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys

# The collection's managed-node floor (module_utils use 3.8 features).
MINIMUM_PYTHON = (3, 8)


def run(argv, environ_update=None, data=None):
    """The core's runner: argv list, no shell, stdin empty unless ``data`` is given."""
    env = None
    if environ_update:
        env = dict(os.environ)
        env.update(environ_update)
    if isinstance(data, str):
        data = data.encode('utf-8')
    try:
        proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=None if data is not None else subprocess.DEVNULL, env=env,
                              check=False)
    except OSError as exc:
        return 127, '', 'cannot run %s: %s' % (argv[0], exc.strerror or exc)
    return (proc.returncode, proc.stdout.decode('utf-8', 'surrogateescape'),
            proc.stderr.decode('utf-8', 'surrogateescape'))


def _utf8(stream):
    """The stream as UTF-8 whatever the locale: ids and texts are UTF-8 (Part A 14)."""
    stream.reconfigure(encoding='utf-8', errors='surrogateescape', newline='\n')
    return stream


def main():
    if sys.version_info < MINIMUM_PYTHON:
        sys.stdout.write('{"error":1,"message":"bx-provider-bxenv: needs Python %d.%d or later, this is %s"}'
                         % (MINIMUM_PYTHON + (sys.version.split()[0],)))
        sys.exit(1)
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli
    # Under a C locale old Pythons decode argv as ASCII; the words are UTF-8.
    argv = [os.fsencode(arg).decode('utf-8', 'surrogateescape') for arg in sys.argv[1:]]
    stdout, stderr = _utf8(sys.stdout), _utf8(sys.stderr)
    status = _cli.main(argv, run, stdout, stderr, timeout_bin=shutil.which('timeout') or 'timeout')
    stdout.flush()
    sys.exit(status)


if __name__ == '__main__':
    main()
