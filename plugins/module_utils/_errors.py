# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The one domain error of the core: an error document of bx-provider."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def reason(exc):
    """The text of what went wrong: an OSError's strerror, a BxError's message."""
    return getattr(exc, 'message', None) or getattr(exc, 'strerror', None) or str(exc)


class BxError(Exception):
    """What bx-provider prints as ``{"error": code, "message": message}``.

    ``code`` is normally an int; a provider's own code made of digits is kept
    as the string it sent, as the original does.
    """

    def __init__(self, message, code=1):
        super(BxError, self).__init__(message)
        self.message = message
        self.code = code

    def document(self):
        return {'error': self.code, 'message': self.message}
