# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of the stand-alone commands ``bx-provider`` and ``bx-provider-check`` (bitrix.bxenv).

``bx_provider_build.py`` puts this file at the top of a zipapp, as ``__main__.py``, next to
the collection's module_utils and the member ``bx_provider_settings`` it
writes: which command the build is and where its settings come from (a
settings file path, or settings fixed in the build). Everything else, the
Python floor and the UTF-8 streams included, is the core in
``plugins/module_utils`` (``_command.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys


def main():
    # Written by the build: which command this is, where its settings come from (never the command line).
    import bx_provider_settings  # pylint: disable=import-error
    from ansible_collections.bitrix.bxenv.plugins.module_utils import _command
    sys.exit(_command.main(bx_provider_settings))


if __name__ == '__main__':
    main()
