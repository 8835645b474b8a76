# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The one domain error of the core: an error document of bx-provider."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


# How much of a value from outside (a provider's ``server``, a task file) a
# message quotes, and how long a task file line may grow.
SHOWN_LENGTH = 200
LINE_LENGTH = 1000


def reason(exc):
    """The text of what went wrong: an OSError's strerror, a BxError's message."""
    return getattr(exc, 'message', None) or getattr(exc, 'strerror', None) or str(exc)


def escaped(text):
    """``text`` with every character ``repr`` would escape (newline, CR, NUL,
    other control and format characters, lone surrogates) written as its
    escape, so it stays one printable line."""
    return ''.join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def shown(value, limit=SHOWN_LENGTH):
    """A value from outside, for a message.

    Short printable text without leading or trailing spaces is shown as it is,
    so the original's messages keep their exact text for ordinary values;
    anything else is quoted as ``repr`` does (control characters escaped),
    and cut after ``limit`` characters, the cut marked with the full length.
    """
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int too long for text (Python 3.11+)
        text = '(a number too long to show)'
    if text and len(text) <= limit and text.isprintable() and text.strip() == text:
        return text
    if len(text) <= limit:
        return repr(text)
    return '%r... (%d characters)' % (text[:limit], len(text))


def quoted(value, limit=SHOWN_LENGTH):
    """``repr(value)`` for a message, at most ``limit`` characters (a cut ends
    in ``...``); never raises (an int too long for text, Python 3.11+, is
    described instead). Unlike ``shown``, always quoted: for ids and words
    whose exact characters matter."""
    try:
        text = repr(value)
    except ValueError:
        return '(a number of more than 4300 digits)'
    return text if len(text) <= limit else text[:limit] + '...'


def one_line(text, limit=LINE_LENGTH):
    """``text`` as one printable line of at most about ``limit`` characters
    (escaped as ``escaped`` does; a cut ends in ``...``). Ordinary text is
    returned unchanged."""
    line = escaped(text[:limit + 1])
    return line if len(line) <= limit else line[:limit] + '...'


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
