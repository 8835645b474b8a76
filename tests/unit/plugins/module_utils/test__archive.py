# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plugin archives: every format and layout unpacks; hostile ones write nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import io
import os
import re
import stat
import tarfile

import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _archive, _files
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils import plugin_archives as pa

NAME = 'superprovider'


def tree_state(top):
    """Every path under ``top`` with its type, mode and content (links not followed)."""
    state = {}
    for current, dirnames, filenames in os.walk(top):
        for entry in dirnames + filenames:
            path = os.path.join(current, entry)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                with open(path, 'rb') as handle:
                    content = handle.read()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            else:
                content = None
            state[os.path.relpath(path, top)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), content)
    return state


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    sandbox = tmp_path_factory.mktemp('corpus')
    outside = sandbox / 'outside'
    outside.mkdir()
    (sandbox / 'archives').mkdir()
    return str(outside), pa.bad_archives(sandbox / 'archives', NAME, str(outside))


@pytest.mark.parametrize('fmt', pa.FORMATS)
@pytest.mark.parametrize('top', [None, NAME, 'superprovider-1.0'])
def test_good_archives_unpack(tmp_path, fmt, top):
    archive = pa.good_archive(tmp_path, NAME, fmt, top=top)
    dest = tmp_path / 'dest'
    dest.mkdir()
    files = _archive.extract(archive, NAME, str(dest))
    assert sorted(files) == ['VERSION', 'bin/' + NAME, 'etc/%s.conf' % NAME, 'fake.json']
    assert files['bin/' + NAME]['mode'] == '0755'
    assert files['fake.json']['mode'] == '0644'
    assert os.access(str(dest / 'bin' / NAME), os.X_OK)
    assert (dest / 'etc' / (NAME + '.conf')).read_text() == '# config from the archive\n'
    assert files == _archive.manifest(str(dest))
    assert stat.S_IMODE(os.stat(str(dest / 'bin')).st_mode) == 0o755


def test_bad_archives_are_refused_and_write_nothing(corpus, tmp_path):
    outside, cases = corpus
    labels = set()
    passwd_before = open('/etc/passwd', 'rb').read()
    for label, path, reason in cases:
        if label in ('bad-help', 'help-error'):
            continue  # valid archives; the help check belongs to the install (test__install)
        labels.add(label)
        dest = tmp_path / label
        dest.mkdir()
        before = tree_state(os.path.dirname(outside))
        with pytest.raises(_archive.ArchiveError) as caught:
            _archive.extract(path, NAME, str(dest))
        message = caught.value.message
        assert message.startswith('bxProvider: archive %s: ' % path), label
        assert reason in message, (label, message)
        assert caught.value.code == 1
        assert os.listdir(str(dest)) == [], label
        assert tree_state(os.path.dirname(outside)) == before, label
    assert os.listdir(outside) == []
    assert open('/etc/passwd', 'rb').read() == passwd_before
    assert {'tar-slip', 'absolute', 'symlink-etc', 'symlink-then-file', 'hardlink', 'chardev', 'fifo',
            'setuid', 'many-members', 'size-bomb', 'zip-bomb', 'corrupt-tar.gz', 'wrong-layout',
            'zip-slip', 'tar-non-utf8', 'zip-non-utf8'} <= labels


def test_member_names_in_messages(corpus):
    cases = dict((label, (path, reason)) for label, path, reason in corpus[1])
    path = cases['symlink-then-file'][0]
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(path, NAME)
    assert "member 'out': symlink to '" in caught.value.message
    assert 'leaves the plugin folder' in caught.value.message


def test_not_found_and_unsupported_suffix(tmp_path):
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(str(tmp_path / 'missing.tar.gz'), NAME)
    assert caught.value.message == 'bxProvider: not found %s' % (tmp_path / 'missing.tar.gz')
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(str(tmp_path), NAME)
    assert caught.value.message == 'bxProvider: not found %s' % tmp_path
    rar = tmp_path / 'plugin.rar'
    rar.write_bytes(b'x')
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(str(rar), NAME)
    assert caught.value.message == (
        'bxProvider: not supported archive (only support tar.gz, tgz, tar.bz2, tar.xz, zip)')


def test_limits_are_options(tmp_path):
    archive = pa.good_archive(tmp_path, NAME)
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME, max_members=3)
    assert 'more than 3 members' in caught.value.message
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME, max_size=100)
    assert 'unpacks to more than 100 bytes' in caught.value.message
    assert len(_archive.inspect(archive, NAME, max_members=8)) == 6


class Zeros(io.RawIOBase):
    """``size`` zero bytes, made as they are read."""

    def __init__(self, size):
        super(Zeros, self).__init__()
        self.left = size

    def readable(self):
        return True

    def readinto(self, buf):
        count = min(len(buf), self.left)
        buf[:count] = bytes(count)
        self.left -= count
        return count


def test_sizes_are_judged_at_the_header(tmp_path):
    # A big member followed by a hard link: the size limit is hit when the
    # big member's header is read, before tarfile decompresses its data to
    # reach the link (were it judged after the walk, the link would be named).
    archive = str(tmp_path / 'bomb.tar.gz')
    with tarfile.open(archive, 'w:gz', compresslevel=1) as tar:
        executable = tarfile.TarInfo('bin/' + NAME)
        tar.addfile(executable, io.BytesIO())
        big = tarfile.TarInfo('big')
        big.size = 20 * 1024 * 1024
        tar.addfile(big, Zeros(big.size))
        link = tarfile.TarInfo('passwd')
        link.type, link.linkname = tarfile.LNKTYPE, '/etc/passwd'
        tar.addfile(link)
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME, max_size=1000)
    assert caught.value.message == ('bxProvider: archive %s: unpacks to more than 1000 bytes (declared sizes)'
                                    % archive)
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME)
    assert "member 'passwd': hard link" in caught.value.message


@pytest.mark.parametrize('header', ['pax', 'gnu-long-name'])
def test_huge_extended_headers_are_refused_unread(tmp_path, header):
    # tarfile would read all of such a header's data into memory.
    archive = str(tmp_path / 'header.tar.gz')
    huge = 'a' * (_archive.MAX_HEADER_DATA + 1)
    if header == 'pax':
        tar = tarfile.open(archive, 'w:gz', format=tarfile.PAX_FORMAT)
        member = tarfile.TarInfo('bin/' + NAME)
        member.pax_headers = {'comment': huge}
    else:
        tar = tarfile.open(archive, 'w:gz', format=tarfile.GNU_FORMAT)
        member = tarfile.TarInfo(huge)
    with tar:
        tar.addfile(member, io.BytesIO())
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME)
    assert caught.value.message.startswith('bxProvider: archive %s: cannot read it as gz tar: ' % archive)
    declared = re.search(r': an extended header of (\d+) bytes \(at most (\d+)\)$', caught.value.message)
    assert declared and int(declared.group(2)) == _archive.MAX_HEADER_DATA < int(declared.group(1))


def _chained_headers_archive(path, kind, count):
    """``count`` extended headers in a row before one member, as raw tar blocks."""
    def blocks(data):
        return data + b'\0' * (-len(data) % tarfile.BLOCKSIZE)

    if kind == 'pax':
        record = b'path=bin/' + NAME.encode() + b'\n'
        record = str(len(record) + 3).encode() + b' ' + record
        header_type = tarfile.XHDTYPE
    else:
        record = b'bin/' + NAME.encode() + b'\0'
        header_type = tarfile.GNUTYPE_LONGNAME
    header = tarfile.TarInfo('././@LongLink')
    header.type, header.size = header_type, len(record)
    one = header.tobuf(format=tarfile.GNU_FORMAT) + blocks(record)
    member = tarfile.TarInfo('bin/' + NAME).tobuf(format=tarfile.GNU_FORMAT)
    with gzip.open(path, 'wb') as handle:
        handle.write(one * count + member + b'\0' * tarfile.BLOCKSIZE * 2)
    return path


@pytest.mark.parametrize('kind', ['pax', 'gnu-long-name'])
def test_chained_extended_headers_are_refused_not_a_crash(tmp_path, kind):
    # tarfile reads a chain by recursion: 5000 in a row was a RecursionError.
    archive = _chained_headers_archive(str(tmp_path / 'chain.tar.gz'), kind, 5000)
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.inspect(archive, NAME)
    assert caught.value.message == ('bxProvider: archive %s: cannot read it as gz tar: more than %d extended '
                                    'headers in a row' % (archive, _archive.MAX_HEADER_CHAIN))
    short = _chained_headers_archive(str(tmp_path / 'short.tar.gz'), kind, 2)
    assert [m.path for m in _archive.inspect(short, NAME)] == ['bin/' + NAME]


def test_extended_headers_of_normal_size_pass(tmp_path):
    archive = str(tmp_path / 'long.tar.gz')
    long_name = 'etc/' + 'd' * 200 + '/' + 'f' * 200
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        with tarfile.open(archive, 'w:gz', format=fmt) as tar:
            tar.addfile(tarfile.TarInfo('bin/' + NAME), io.BytesIO())
            tar.addfile(tarfile.TarInfo(long_name), io.BytesIO())
        assert [m.path for m in _archive.inspect(archive, NAME)] == ['bin/' + NAME, long_name]


def test_bytes_are_counted_when_the_declared_size_lies(tmp_path):
    # A reader that gives more than it declared: the copy stops at the budget.
    target = tmp_path / 'out'
    fd = os.open(str(target), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(_archive.ArchiveError) as caught:
            _archive.copy_limited(io.BytesIO(b'x' * 300000), fd, 100000, 'a.zip', 'zeros')
    finally:
        os.close(fd)
    assert caught.value.message == "bxProvider: archive a.zip: member 'zeros': unpacks to more than the size limit"
    assert target.stat().st_size <= 100000


def test_extraction_refuses_a_symlinked_folder_made_meanwhile(tmp_path):
    # Defence in depth: even if a link appeared in the staging folder,
    # O_NOFOLLOW stops extraction from writing through it.
    archive = pa.good_archive(tmp_path, NAME)
    dest = tmp_path / 'dest'
    dest.mkdir()
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    members = _archive.inspect(archive, NAME)
    root_fd = os.open(str(dest), os.O_RDONLY)
    try:
        os.symlink(str(outside), str(dest / 'bin'))
        with pytest.raises(_files.UnsafeFile, match='bin is a symbolic link, not a folder'):
            with _files.folder_at(root_fd, 'bin', create=True, mode=0o700):
                pass
    finally:
        os.close(root_fd)
    assert members and os.listdir(str(outside)) == []


def test_extract_needs_an_empty_folder(tmp_path):
    archive = pa.good_archive(tmp_path, NAME)
    dest = tmp_path / 'dest'
    dest.mkdir()
    (dest / 'x').write_text('')
    with pytest.raises(_archive.ArchiveError) as caught:
        _archive.extract(archive, NAME, str(dest))
    assert 'is not empty' in caught.value.message


def test_modes_are_tamed_and_inside_links_kept(tmp_path):
    entries = pa.plugin_entries(NAME) + [
        pa.Entry('share', 'dir', mode=0o777),
        pa.Entry('share/data', data='d', mode=0o666),
        pa.Entry('share/tool', data='t', mode=0o1777),
        pa.Entry('current', 'symlink', target='share/data'),
    ]
    archive = pa.write_archive(str(tmp_path / 'p.tar.gz'), entries)
    dest = tmp_path / 'dest'
    dest.mkdir()
    files = _archive.extract(archive, NAME, str(dest))
    assert files['share/data']['mode'] == '0644'
    assert files['share/tool']['mode'] == '0755'
    assert files['current'] == {'link': 'share/data'}
    assert stat.S_IMODE(os.stat(str(dest / 'share')).st_mode) == 0o755
    assert (dest / 'current').read_text() == 'd'


def test_manifest_diff():
    before = {'a': {'sha256': '1', 'size': 1, 'mode': '0644'}, 'b': {'link': 'a'}, 'c': {'sha256': '3', 'size': 1, 'mode': '0644'}}
    after = {'a': {'sha256': '2', 'size': 1, 'mode': '0644'}, 'b': {'link': 'a'}, 'd': {'sha256': '4', 'size': 1, 'mode': '0755'}}
    assert _archive.diff_manifests(before, after) == {'added': ['d'], 'changed': ['a'], 'removed': ['c']}
    assert _archive.manifest_text(after) == 'a mode=0644 size=1 sha256=2\nb -> a\nd mode=0755 size=1 sha256=4\n'


def test_sha256_of_the_archive(tmp_path):
    path = tmp_path / 'a'
    path.write_bytes(b'abc')
    assert _archive.sha256_file(str(path)) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'


@pytest.mark.parametrize('fmt', ['tar.gz', 'zip'])
def test_deep_members_are_refused_at_inspection(tmp_path, fmt):
    # depth counts the components of the name as in the archive
    at_limit = pa.write_archive(str(tmp_path / ('ok.' + fmt)),
                                pa.plugin_entries(NAME) + [pa.Entry('d/' * 63 + 'f', data='x')])
    assert any(m.path == 'd/' * 63 + 'f' for m in _archive.inspect(at_limit, NAME))
    for depth in (65, 1500):
        deep = pa.write_archive(str(tmp_path / ('deep%d.%s' % (depth, fmt))),
                                pa.plugin_entries(NAME) + [pa.Entry('d/' * (depth - 1) + 'f', data='x')])
        with pytest.raises(_archive.ArchiveError) as caught:
            _archive.inspect(deep, NAME)
        assert caught.value.message.startswith("bxProvider: archive %s: member 'd/d/" % deep)
        assert caught.value.message.endswith("': nested deeper than %d folders" % _archive.MAX_DEPTH)
    dest = tmp_path / 'dest'
    dest.mkdir()
    with pytest.raises(_archive.ArchiveError):
        _archive.extract(deep, NAME, str(dest))
    assert os.listdir(str(dest)) == []
