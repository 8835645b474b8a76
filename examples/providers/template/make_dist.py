# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the plugin archive: ``python3 make_dist.py --name NAME --output dist/NAME.tar.gz``.

The archive holds one top folder ``NAME/`` with ``bin/``, ``etc/``, ``lib/``
and ``README.md`` of this folder, nothing else (no Makefile, no data, no
``__pycache__``), as the ``bitrix.bxenv`` collection installs it: regular
files and folders only (a link is refused here), ``bin/*`` and folders mode
0755, other files 0644, owner root. The same sources give the same bytes:
members sorted, fixed times (``SOURCE_DATE_EPOCH`` when set), a gzip header
without name or time. Standard library only, so it runs where ``make`` does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import gzip
import io
import os
import stat
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = ('bin', 'etc', 'lib', 'README.md')
SKIPPED = ('__pycache__',)


class DistError(Exception):
    pass


def collect(source):
    """``[(relative path, kind, bytes)]`` of what ships, sorted; kind 'dir' or 'file'."""
    entries = []
    pending = [name for name in SHIPPED if os.path.lexists(os.path.join(source, name))]
    while pending:
        rel = pending.pop()
        path = os.path.join(source, rel)
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            entries.append((rel, 'dir', b''))
            pending.extend(os.path.join(rel, name) for name in os.listdir(path)
                           if name not in SKIPPED and not name.endswith('.pyc'))
        elif stat.S_ISREG(info.st_mode):
            with open(path, 'rb') as handle:
                entries.append((rel, 'file', handle.read()))
        else:
            raise DistError('%s is not a regular file or folder; an archive carries neither links nor devices' % path)
    return sorted(entries)


def check_layout(entries, name, source):
    files = dict((rel, data) for rel, kind, data in entries if kind == 'file')
    executable = os.path.join('bin', name)
    if executable not in files:
        raise DistError('no %s: the executable must be named after the provider (--name %s)' % (executable, name))
    if not os.access(os.path.join(source, executable), os.X_OK):
        raise DistError('%s is not executable (chmod 755 it)' % executable)
    if not files[executable].startswith(b'#!'):
        raise DistError('%s has no #! line' % executable)


def member(rel, kind, size, name, mtime):
    info = tarfile.TarInfo('/'.join([name] + rel.split(os.sep)) if rel else name)
    executable = kind == 'dir' or rel.split(os.sep)[0] == 'bin'
    info.type = tarfile.DIRTYPE if kind == 'dir' else tarfile.REGTYPE
    info.mode = 0o755 if executable else 0o644
    info.size = size
    info.mtime = mtime
    info.uid, info.gid, info.uname, info.gname = 0, 0, 'root', 'root'
    return info


def build(name, output, source=HERE):
    entries = collect(source)
    check_layout(entries, name, source)
    mtime = int(os.environ.get('SOURCE_DATE_EPOCH') or 1700000000)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode='w', format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(member('', 'dir', 0, name, mtime))
        for rel, kind, data in entries:
            tar.addfile(member(rel, kind, len(data), name, mtime), io.BytesIO(data) if kind == 'file' else None)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    partial = output + '.partial'
    with open(partial, 'wb') as handle:
        handle.write(gzip.compress(tar_bytes.getvalue(), mtime=0))  # no name, no time in the header
    os.rename(partial, output)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--name', required=True, help='the provider name (bin/NAME)')
    parser.add_argument('--output', required=True, help='the archive to write, ending in .tar.gz')
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(build(args.name, args.output) + '\n')
    except DistError as exc:
        sys.stderr.write('make_dist: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
