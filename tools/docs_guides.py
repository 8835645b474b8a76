# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guides of docs/*.md as reStructuredText for the docs site.

antsibull-docs takes a collection's extra docs only as ``.rst`` files under
``docs/docsite/rst/``; the guides are written in Markdown under ``docs/``
(GitHub shows them, the README links them). This script converts each
``docs/<name>.md`` with pandoc into ``docs/docsite/rst/guide_<name>.rst``:
a label ``ansible_collections.bitrix.bxenv.docsite.guide_<name>`` on top
(antsibull-docs wants that prefix), links to other files of the repository
turned into links to them on GitHub.

    python tools/docs_guides.py           write the .rst files
    python tools/docs_guides.py --check   fail when one is missing or stale,
                                          or not listed in extra-docs.yml

It needs ``pypandoc-binary`` (tests/requirements-docs.txt); the nox sessions
``docs-guides`` (write) and ``docs`` (check, then build the site) run it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import os
import posixpath
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, 'docs')
RST_DIR = os.path.join(DOCS, 'docsite', 'rst')
EXTRA_DOCS = os.path.join(DOCS, 'docsite', 'extra-docs.yml')
BLOB = 'https://github.com/bitrix-tools/bitrix.bxenv/blob/main/'
LABEL_PREFIX = 'ansible_collections.bitrix.bxenv.docsite.'
# [text](target) with a target that is neither absolute nor an anchor
LINK = re.compile(r'\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)')


def guide_name(md_path):
    stem = os.path.splitext(os.path.basename(md_path))[0]
    return 'guide_' + re.sub(r'[^a-z0-9]+', '_', stem.lower()).strip('_')


def absolute_links(text, md_relpath):
    """Links to repository files, relative to the Markdown file, made into GitHub links."""
    base = posixpath.dirname(md_relpath)

    def fix(match):
        target = posixpath.normpath(posixpath.join(base, match.group(1)))
        return '](%s%s)' % (BLOB, target)
    return LINK.sub(fix, text)


def render(md_path):
    import pypandoc  # pylint: disable=import-outside-toplevel

    relpath = os.path.relpath(md_path, REPO).replace(os.sep, '/')
    with open(md_path) as handle:
        text = absolute_links(handle.read(), relpath)
    # gfm without auto_identifiers: pandoc's own labels would not carry the prefix
    body = pypandoc.convert_text(text, 'rst', format='gfm-gfm_auto_identifiers',
                                 extra_args=['--wrap=preserve'])
    header = (
        '..\n'
        '  Generated from %s by tools/docs_guides.py: edit the Markdown file,\n'
        '  then run `nox -s docs-guides` (a stale copy fails `nox -s docs`).\n'
        '\n'
        '.. _%s%s:\n'
        '\n' % (relpath, LABEL_PREFIX, guide_name(md_path))
    )
    return header + body.rstrip('\n') + '\n'


def listed_guides():
    """Names the toctrees of extra-docs.yml list."""
    if not os.path.exists(EXTRA_DOCS):
        return set()
    with open(EXTRA_DOCS) as handle:
        data = yaml.safe_load(handle) or {}
    return set(name for section in data.get('sections') or [] for name in section.get('toctree') or [])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='change nothing, fail when a guide is stale')
    args = parser.parse_args(argv)

    wanted = {}
    for md_path in sorted(glob.glob(os.path.join(DOCS, '*.md'))):
        wanted[os.path.join(RST_DIR, guide_name(md_path) + '.rst')] = render(md_path)
    existing = set(glob.glob(os.path.join(RST_DIR, 'guide_*.rst')))

    problems = []
    for path, content in sorted(wanted.items()):
        current = None
        if os.path.exists(path):
            with open(path) as handle:
                current = handle.read()
        if current == content:
            continue
        if args.check:
            problems.append('%s is %s' % (os.path.relpath(path, REPO), 'missing' if current is None else 'stale'))
        else:
            if not os.path.isdir(RST_DIR):
                os.makedirs(RST_DIR)
            with open(path, 'w') as handle:
                handle.write(content)
            print('wrote %s' % os.path.relpath(path, REPO))
    for path in sorted(existing - set(wanted)):
        if args.check:
            problems.append('%s has no Markdown source left' % os.path.relpath(path, REPO))
        else:
            os.remove(path)
            print('removed %s' % os.path.relpath(path, REPO))
    unlisted = sorted(set(os.path.basename(p)[:-4] for p in wanted) - listed_guides())
    if unlisted:
        problems.append('docs/docsite/extra-docs.yml lists no %s' % ', '.join(unlisted))

    for problem in problems:
        print('docs_guides: %s' % problem, file=sys.stderr)
    if problems and args.check:
        print('docs_guides: run `nox -s docs-guides` and commit the result', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
