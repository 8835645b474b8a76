# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the netns_lab provider plugin archive from its source.

    python3 tools/demo/build_lab_provider.py --output DIR/netns_lab.tar.gz

The archive holds ``netns_lab/`` with ``bin/netns_lab``, ``etc/netns_lab.conf``,
``lib/netns_lab_provider.py``, ``README.md`` and ``lib/lab.py`` (the lab host
mechanism, copied from ``tests/lab/lab.py`` so the installed plugin needs
nothing from this repository). The build is reproducible: the same sources
give the same bytes (fixed times and owners, sorted members), so installing a
rebuilt archive again changes nothing. Prints the archive's path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import gzip
import io
import os
import sys
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO, 'examples', 'providers', 'netns_lab')
LAB = os.path.join(REPO, 'tests', 'lab', 'lab.py')
TOP = 'netns_lab'
MTIME = 1700000000
VENDOR_NOTE = b'# Vendored into the netns_lab plugin archive from tests/lab/lab.py of bitrix.bxenv.\n'


def members():
    """(archive name, bytes, mode) of every file, sorted."""
    files = []
    for folder, dirs, names in os.walk(SOURCE):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(names):
            if name.endswith('.pyc'):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, SOURCE)
            with open(path, 'rb') as handle:
                data = handle.read()
            mode = 0o755 if rel.startswith('bin' + os.sep) else 0o644
            files.append((rel, data, mode))
    with open(LAB, 'rb') as handle:
        lab = handle.read()
    # Keep the coding line first; the note goes right after the header lines.
    head, sep, rest = lab.partition(b'\n"""')
    files.append((os.path.join('lib', 'lab.py'), head + b'\n' + VENDOR_NOTE.rstrip(b'\n') + sep + rest, 0o644))
    return sorted(files)


def _info(name, mode, size=0, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = 'root'
    return info


def build(output):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.GNU_FORMAT) as tar:
        folders = set()
        for rel, data, mode in members():
            parts = rel.split(os.sep)
            for depth in range(len(parts)):
                folder = '/'.join([TOP] + parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    tar.addfile(_info(folder, 0o755, kind=tarfile.DIRTYPE))
            tar.addfile(_info('/'.join([TOP] + parts), mode, len(data)), io.BytesIO(data))
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    tmp = output + '.tmp'
    with open(tmp, 'wb') as handle:
        with gzip.GzipFile(filename='', mode='wb', fileobj=handle, mtime=0) as gz:
            gz.write(raw.getvalue())
    os.rename(tmp, output)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--output', required=True, help='archive to write (.tar.gz)')
    args = parser.parse_args(argv)
    sys.stdout.write(build(args.output) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
