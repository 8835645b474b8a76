# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""What the stand-alone commands (``bx-provider``, ``bx-provider-check``)
share around their ``main``: the Python floor, UTF-8 words and streams, the
exit status. Imported before the floor is checked: plain Python 3 only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import sys

# The collection's managed-node floor (module_utils use 3.8 features).
MINIMUM_PYTHON = (3, 8)


def main(build):
    """Run the command a build holds and return its exit status; ``build`` is its member
    ``bx_provider_settings``: ``COMMAND``, ``MODULE`` (the module_utils file
    whose ``main`` it runs) and, for ``bx-provider``, where its settings come
    from (``SETTINGS_FILE``, ``SETTINGS``)."""
    if sys.version_info < MINIMUM_PYTHON:
        text = 'needs Python %d.%d or later, this is %s' % (MINIMUM_PYTHON + (sys.version.split()[0],))
        if build.COMMAND == 'bx-provider':  # the web interface reads a document on stdout
            sys.stdout.write('{"error":1,"message":"bx-provider-bxenv: %s"}' % text)
            return 1
        sys.stderr.write('%s: %s\n' % (build.COMMAND, text))
        return 2
    module = importlib.import_module(__name__.rsplit('.', 1)[0] + '.' + build.MODULE)
    if build.COMMAND == 'bx-provider':
        return run_main(module.main, settings=build.SETTINGS, settings_file=build.SETTINGS_FILE)
    return run_main(module.main)


def _utf8(stream):
    """The stream as UTF-8 whatever the locale: ids and texts are UTF-8 (docs/protocol.md, difference 14)."""
    stream.reconfigure(encoding='utf-8', errors='surrogateescape', newline='\n')
    return stream


def run_main(main, **kwargs):
    """``main(argv, stdout, stderr, **kwargs)``, its exit status: the command line's
    words decoded as UTF-8 (under a C locale old Pythons decode argv as
    ASCII), the standard streams as UTF-8."""
    argv = [os.fsencode(arg).decode('utf-8', 'surrogateescape') for arg in sys.argv[1:]]
    stdout, stderr = _utf8(sys.stdout), _utf8(sys.stderr)
    status = main(argv, stdout, stderr, **kwargs)
    stdout.flush()
    return status
