# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of the stand-alone ``bx-provider`` command (bitrix.bxenv).

``bx_provider_build.py`` puts this file at the top of a zipapp, as ``__main__.py``, next to
the collection's module_utils. It only supplies what the core must not do
itself: UTF-8 standard streams, the exit status, and where the command's
settings come from (``bx_provider_settings``, written by the build: a settings
file path, or settings fixed in the build). Everything else,
processes included (``_runner.py``), is the core in ``plugins/module_utils``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

# The collection's managed-node floor (module_utils use 3.8 features).
MINIMUM_PYTHON = (3, 8)


def _utf8(stream):
    """The stream as UTF-8 whatever the locale: ids and texts are UTF-8 (docs/protocol.md, difference 14)."""
    stream.reconfigure(encoding='utf-8', errors='surrogateescape', newline='\n')
    return stream


def main():
    if sys.version_info < MINIMUM_PYTHON:
        sys.stdout.write('{"error":1,"message":"bx-provider-bxenv: needs Python %d.%d or later, this is %s"}'
                         % (MINIMUM_PYTHON + (sys.version.split()[0],)))
        sys.exit(1)
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _cli
    # Written by the build: where the settings come from (never the command line).
    import bx_provider_settings  # pylint: disable=import-error
    # Under a C locale old Pythons decode argv as ASCII; the words are UTF-8.
    argv = [os.fsencode(arg).decode('utf-8', 'surrogateescape') for arg in sys.argv[1:]]
    stdout, stderr = _utf8(sys.stdout), _utf8(sys.stderr)
    status = _cli.main(argv, stdout, stderr, settings=bx_provider_settings.SETTINGS,
                       settings_file=bx_provider_settings.SETTINGS_FILE)
    stdout.flush()
    sys.exit(status)


if __name__ == '__main__':
    main()
