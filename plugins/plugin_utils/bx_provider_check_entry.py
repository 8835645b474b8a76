# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of the stand-alone ``bx-provider-check`` command (bitrix.bxenv).

``bx_provider_build.py --command bx-provider-check`` puts this file at the top
of a zipapp, as ``__main__.py``, next to the collection's module_utils: the
checker runs the very code the collection runs. It only supplies UTF-8
standard streams and the exit status; everything else is ``_check_cli.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

# The collection's managed-node floor (module_utils use 3.8 features).
MINIMUM_PYTHON = (3, 8)


def main():
    if sys.version_info < MINIMUM_PYTHON:
        sys.stderr.write('bx-provider-check: needs Python %d.%d or later, this is %s\n'
                         % (MINIMUM_PYTHON + (sys.version.split()[0],)))
        sys.exit(2)
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _check_cli
    argv = [os.fsencode(arg).decode('utf-8', 'surrogateescape') for arg in sys.argv[1:]]
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding='utf-8', errors='surrogateescape', newline='\n')
    status = _check_cli.main(argv, sys.stdout, sys.stderr)
    sys.stdout.flush()
    sys.exit(status)


if __name__ == '__main__':
    main()
