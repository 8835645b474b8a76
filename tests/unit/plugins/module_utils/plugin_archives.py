# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build provider plugin archives, good and hostile, for the tests.

``plugin_entries`` gives the members of a working plugin (the shared fake
provider script as ``bin/<name>``, its reply table ``fake.json``, a config);
``write_archive`` writes any list of ``Entry`` as tar.gz/tgz/tar.bz2/tar.xz
or zip; ``bad_archives`` builds the corpus of archives that must be refused,
each with the reason the refusal must give.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import stat
import sys
import tarfile
import zipfile

from ansible_collections.bitrix.bxenv.tests.unit.fakes import FULL_HELP, SCRIPT_FILE

FORMATS = ('tar.gz', 'tgz', 'tar.bz2', 'tar.xz', 'zip')
_TAR_MODES = {'tar.gz': 'w:gz', 'tgz': 'w:gz', 'tar.bz2': 'w:bz2', 'tar.xz': 'w:xz'}


class Entry(object):
    """One member: kind is file, dir, symlink, hardlink, chr or fifo."""

    def __init__(self, name, kind='file', data=b'', mode=None, target=None, size=None):
        self.name = name
        self.kind = kind
        self.data = data.encode('utf-8') if isinstance(data, str) else data
        self.mode = mode if mode is not None else (0o755 if kind == 'dir' else 0o644)
        self.target = target
        self.size = size  # for a stream of zeros instead of data


class _Zeros(object):
    def __init__(self, size):
        self.left = size

    def read(self, count=-1):
        count = self.left if count is None or count < 0 else min(count, self.left)
        self.left -= count
        return b'\0' * count


def script_text():
    with open(SCRIPT_FILE) as handle:
        return '#!%s\n%s' % (sys.executable, handle.read().split('\n', 1)[1])


def plugin_entries(name, help_reply=None, replies=None, config='# config from the archive\n', version='1'):
    """Members of a working plugin at the archive root."""
    table = {'help': FULL_HELP if help_reply is None else help_reply}
    table.update(replies or {})
    entries = [
        Entry('bin', 'dir'),
        Entry('bin/' + name, data=script_text(), mode=0o755),
        Entry('fake.json', data=json.dumps(table)),
        Entry('VERSION', data=version + '\n'),
    ]
    if config is not None:
        entries += [Entry('etc', 'dir'), Entry('etc/%s.conf' % name, data=config)]
    return entries


def under(top, entries):
    """The same members inside a single top folder ``top/``."""
    return [Entry(top, 'dir')] + [Entry(top + '/' + e.name, e.kind, e.data, e.mode, e.target, e.size)
                                  for e in entries]


def _tar_info(entry):
    info = tarfile.TarInfo(entry.name)
    info.mode = entry.mode
    info.mtime = 1700000000
    fileobj = None
    if entry.kind == 'file':
        info.size = entry.size if entry.size is not None else len(entry.data)
        fileobj = _Zeros(entry.size) if entry.size is not None else io.BytesIO(entry.data)
    elif entry.kind == 'dir':
        info.type = tarfile.DIRTYPE
    elif entry.kind == 'symlink':
        info.type, info.linkname = tarfile.SYMTYPE, entry.target
    elif entry.kind == 'hardlink':
        info.type, info.linkname = tarfile.LNKTYPE, entry.target
    elif entry.kind == 'chr':
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    elif entry.kind == 'fifo':
        info.type = tarfile.FIFOTYPE
    return info, fileobj


def _zip_info(entry):
    info = zipfile.ZipInfo(entry.name + ('/' if entry.kind == 'dir' else ''), (2023, 11, 14, 22, 13, 20))
    info.create_system = 3
    kind_bits = {'file': stat.S_IFREG, 'dir': stat.S_IFDIR, 'symlink': stat.S_IFLNK,
                 'chr': stat.S_IFCHR, 'fifo': stat.S_IFIFO}[entry.kind]
    info.external_attr = (kind_bits | entry.mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_archive(path, entries, fmt=None):
    """Write ``entries`` to ``path`` in format ``fmt`` (default: from the suffix)."""
    fmt = fmt or next(f for f in FORMATS if path.endswith('.' + f))
    if fmt == 'zip':
        with zipfile.ZipFile(path, 'w') as zipped:
            for entry in entries:
                info = _zip_info(entry)
                if entry.size is not None:
                    with zipped.open(info, 'w', force_zip64=True) as out:
                        zeros = _Zeros(entry.size)
                        for chunk in iter(lambda: zeros.read(1 << 20), b''):
                            out.write(chunk)
                else:
                    zipped.writestr(info, entry.target.encode('utf-8') if entry.kind == 'symlink' else entry.data)
    else:
        with tarfile.open(path, _TAR_MODES[fmt], format=tarfile.GNU_FORMAT,
                          encoding='utf-8', errors='surrogateescape') as tar:
            for entry in entries:
                info, fileobj = _tar_info(entry)
                tar.addfile(info, fileobj)
    return path


def good_archive(folder, name, fmt='tar.gz', top=None, **kwargs):
    """A working plugin archive; ``top`` puts it in a single top folder."""
    entries = plugin_entries(name, **kwargs)
    if top:
        entries = under(top, entries)
    suffix = kwargs.get('version', '1')
    return write_archive(os.path.join(str(folder), '%s-%s%s.%s' % (name, suffix, '-top' if top else '', fmt)),
                         entries, fmt)


def bad_archives(folder, name, outside):
    """``[(label, archive path, reason the error must contain)]``.

    ``outside`` is a folder next to the providers root: hostile members aim
    at it, so an escape would be seen by the tree hashes of the tests.
    """
    folder = str(folder)
    base = plugin_entries(name)
    rel_outside = os.path.relpath(outside, '/')
    cases = []

    def add(label, entries, reason, fmt='tar.gz'):
        path = write_archive(os.path.join(folder, '%s.%s' % (label, fmt)), entries, fmt)
        cases.append((label, path, reason))

    add('tar-slip', base + [Entry('../../../../../../../../%s/slip' % rel_outside, data='x')], "path contains '..'")
    add('absolute', base + [Entry(os.path.join(outside, 'abs'), data='x')], 'absolute path')
    add('symlink-etc', base + [Entry('etc2', 'symlink', target='/etc')], 'leaves the plugin folder')
    add('symlink-then-file', base + [Entry('out', 'symlink', target='../' * 12 + rel_outside),
                                     Entry('out/planted', data='x')], 'leaves the plugin folder')
    add('symlink-inside-then-file', base + [Entry('lib', 'symlink', target='bin'),
                                            Entry('lib/planted', data='x')], "goes through symlink 'lib'")
    add('symlink-chain', base + [Entry('x', 'dir'), Entry('x/up', 'symlink', target='..'),
                                 Entry('esc', 'symlink', target='x/up/..')], 'goes through another symlink')
    add('hardlink', base + [Entry('passwd', 'hardlink', target='/etc/passwd')], "hard link (to '/etc/passwd')")
    add('chardev', base + [Entry('null', 'chr')], 'device file')
    add('fifo', base + [Entry('pipe', 'fifo')], 'FIFO')
    add('setuid', [e if e.name != 'bin/' + name else Entry(e.name, data=e.data, mode=0o4755) for e in base],
        'set-uid or set-gid bit (mode 4755)')
    add('setgid-zip', base + [Entry('tool', data='x', mode=0o2755)], 'set-uid or set-gid bit (mode 2755)', 'zip')
    add('many-members', base + [Entry('data/%05d' % i) for i in range(10000)], 'more than 1000 members')
    add('size-bomb', base + [Entry('zeros', size=65 * 1024 * 1024)], 'unpacks to more than 67108864 bytes')
    add('zip-bomb', base + [Entry('zeros', size=65 * 1024 * 1024)], 'unpacks to more than 67108864 bytes', 'zip')
    add('wrong-layout', under('a', under('b', base)), 'no bin/%s at its root or in a single top folder' % name)
    add('wrong-name', [Entry('bin/other', data=script_text(), mode=0o755)],
        'no bin/%s at its root or in a single top folder' % name)
    add('bin-is-link', [Entry('bin', 'dir'), Entry('bin/' + name, 'symlink', target='../fake.json'),
                        Entry('fake.json', data='{}')], 'bin/%s must be a regular file' % name)
    add('carries-tasks', base + [Entry('tasks', 'dir'), Entry('tasks/t1', data='')],
        'a plugin archive must not carry tasks/')
    add('zip-slip', base + [Entry('../../../../../../../../%s/zipslip' % rel_outside, data='x')],
        "path contains '..'", 'zip')
    add('zip-symlink', base + [Entry('etc2', 'symlink', target='/etc')], 'leaves the plugin folder', 'zip')
    add('zip-fifo', base + [Entry('pipe', 'fifo')], 'FIFO', 'zip')
    add('tar-non-utf8', base + [Entry('bad-\udcff-name', data='x')], 'name is not valid UTF-8')
    add('duplicate', base + [Entry('VERSION', data='2\n')], 'appears twice')
    add('bad-help', plugin_entries(name, help_reply={'__raw__': True, 'stdout': 'Usage: not JSON\n'}),
        'does not answer help with a valid reply')
    add('help-error', plugin_entries(name, help_reply={'error': 3, 'error_message': 'no licence'}),
        'does not answer help with a valid reply')
    # zip with a raw 0xff byte in a name and no UTF-8 flag
    path = write_archive(os.path.join(folder, 'zip-non-utf8.zip'), base + [Entry('bad-Q-name', data='x')], 'zip')
    with open(path, 'rb') as handle:
        data = handle.read()
    with open(path, 'wb') as handle:
        handle.write(data.replace(b'bad-Q-name', b'bad-\xff-name'))
    cases.append(('zip-non-utf8', path, 'name is not valid UTF-8'))
    # corrupt compressed data: a good archive cut and scrambled in the middle
    for fmt in ('tar.gz', 'tar.xz', 'zip'):
        path = good_archive(folder, name, fmt, version='corrupt')
        with open(path, 'rb') as handle:
            data = bytearray(handle.read())
        middle = len(data) // 2
        data[middle:middle + 64] = b'\xa5' * 64
        cut = os.path.join(folder, 'corrupt-' + os.path.basename(path))
        with open(cut, 'wb') as handle:
            handle.write(bytes(data[:len(data) * 3 // 4]))
        cases.append(('corrupt-' + fmt, cut, 'cannot '))
    with open(os.path.join(folder, 'not-gzip.tgz'), 'wb') as handle:
        handle.write(b'this is not a gzip file at all\n' * 10)
    cases.append(('not-gzip', os.path.join(folder, 'not-gzip.tgz'), 'cannot read it as gz tar'))
    return cases
