# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pool core: key lookup, inventory parsing, naming, refusals, writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import socket
import stat

import pytest
import yaml

from ansible_collections.bitrix.bxenv.plugins.module_utils import _naming, _pool
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError, shown
from ansible_collections.bitrix.bxenv.tests.unit.fakes import FakeTime
from ansible_collections.bitrix.bxenv.tests.unit.plugins.module_utils.pool_helpers import (
    HOSTS, HOST_VARS, FakeResolver, folder_digest, make_pool, seeded_rng)

NO_DNS = FakeResolver()
# time.time for the pool's backup names: fixed, so the names are known
CLOCK = FakeTime(now=1795831531.7).clock


def add(pool, server, **kwargs):
    kwargs.setdefault('resolver', NO_DNS)
    kwargs.setdefault('rng', seeded_rng())
    kwargs.setdefault('clock', CLOCK)
    return _pool.add_host(server, pool, **kwargs)


def read(path, mode='r'):
    with open(path, mode) as handle:
        return handle.read()


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


# ---------------------------------------------------------------- pool key

@pytest.fixture
def keydir(tmp_path):
    (tmp_path / 'id_rsa').write_text('PRIVATE')
    (tmp_path / 'id_rsa.pub').write_text('ssh-rsa AAAA pool')
    return tmp_path


def test_key_last_non_comment_line_wins(keydir):
    other = keydir / 'other'
    write(str(other), 'x')
    write(str(other) + '.pub', 'x')
    write(str(keydir / 'ansible.cfg'),
          '[defaults]\nprivate_key_file = %s\n  private_key_file=%s  \n'
          '# private_key_file = /nowhere/a\n; private_key_file = /nowhere/b\n'
          % (other, keydir / 'id_rsa'))
    assert _pool.pool_key(str(keydir)) == (str(keydir / 'id_rsa'), str(keydir / 'id_rsa.pub'))


def test_key_inline_comment_and_relative_path(keydir):
    write(str(keydir / 'ansible.cfg'), '[defaults]\nprivate_key_file = id_rsa ; the pool key\n')
    assert _pool.pool_key(str(keydir))[0] == str(keydir / 'id_rsa')


def test_key_cfg_missing(tmp_path):
    with pytest.raises(BxError) as info:
        _pool.pool_key(str(tmp_path))
    assert info.value.code == 1
    assert info.value.message == ('BX_KEY_VIEW: Cannot open main config %s/ansible.cfg: '
                                  'No such file or directory; %s' % (tmp_path, _pool.POOL_HINT))


def test_key_only_commented_out_line_is_not_found(keydir):
    write(str(keydir / 'ansible.cfg'), '[defaults]\n#private_key_file = %s\n' % (keydir / 'id_rsa'))
    with pytest.raises(BxError) as info:
        _pool.pool_key(str(keydir))
    assert info.value.code == 2
    assert info.value.message == ('BX_KEY_VIEW: Not found private_key_file derictive in config '
                                  '%s/ansible.cfg; add a line "private_key_file = <path of the pool\'s '
                                  'private key>" to it' % keydir)


@pytest.mark.parametrize('missing, which', [('id_rsa', 'private'), ('id_rsa.pub', 'public')])
def test_key_files_missing(keydir, missing, which):
    write(str(keydir / 'ansible.cfg'), 'private_key_file = %s\n' % (keydir / 'id_rsa'))
    os.unlink(str(keydir / missing))
    with pytest.raises(BxError) as info:
        _pool.pool_key(str(keydir))
    assert info.value.code == 3
    assert info.value.message == ('BX_KEY_VIEW: Record private_key_file found in the config, '
                                  'but %s key does not exist in FS: %s (private_key_file in %s)'
                                  % (which, keydir / missing, keydir / 'ansible.cfg'))


# ---------------------------------------------------------------- parsing

PARSE_TEXT = (
    '# comment\n'
    '; another comment\n'
    '[bitrix-hosts]\n'
    '   web1 ansible_ssh_host=192.0.2.11   \n'
    '#server9 ansible_ssh_host=192.0.2.99\n'
    'db1 ansible_ssh_host="192.0.2.12" ansible_connection=local # trailing\n'
    'lonely ansible_ssh_host=192.0.2.13\n'
    'bare\n'
    '[bitrix-web]\n'
    'web1 ansible_ssh_host=192.0.2.11\n'
    '[bitrix-web:vars]\n'
    'notahost ansible_ssh_host=192.0.2.50\n'
    '[other]\n'
    'outsider ansible_ssh_host=192.0.2.60\n'
    '[bitrix-mysql]\n'
    'db1 ansible_ssh_host=192.0.2.12\n'
    'rolehost ansible_host=192.0.2.14\n'
)


def test_parse_hosts_sections_comments_and_options():
    hosts = _pool.parse_hosts(PARSE_TEXT)
    assert list(hosts) == ['web1', 'db1', 'lonely', 'bare', 'rolehost']
    assert hosts['web1']['groups'] == ['bitrix-hosts', 'bitrix-web']
    assert hosts['web1']['address'] == '192.0.2.11'
    assert hosts['web1']['connection'] == 'ssh'
    assert hosts['db1'] == {'name': 'db1', 'address': '192.0.2.12', 'addresses': ['192.0.2.12'],
                            'connection': 'local', 'groups': ['bitrix-hosts', 'bitrix-mysql']}
    # docs/protocol.md section 9: no ansible_ssh_host gives 127.0.0.1; no address of its own is recorded.
    assert hosts['bare']['address'] == '127.0.0.1'
    assert hosts['bare']['addresses'] == []
    assert hosts['rolehost']['addresses'] == ['192.0.2.14']


def test_pool_members_and_presence(tmp_path):
    pool_dir = make_pool(tmp_path, hosts=PARSE_TEXT, host_vars={'lonely': 'bx_hostname: lonely\n'})
    pool = _pool.read_pool(pool_dir)
    assert pool.members == ['web1', 'db1', 'lonely', 'bare']
    assert pool.exists()
    # A member without host_vars is still a member; only loadable ones count.
    os.unlink(os.path.join(pool_dir, 'host_vars', 'lonely'))
    write(os.path.join(pool_dir, 'host_vars', 'web1'), 'bx_hostname: [unclosed\n')
    write(os.path.join(pool_dir, 'host_vars', 'rolehost'), 'bx_hostname: rolehost\n')  # not a member
    pool = _pool.read_pool(pool_dir)
    assert 'lonely' in pool.members
    assert not pool.exists()


def test_flat_yaml_reader_without_pyyaml(monkeypatch, tmp_path):
    monkeypatch.setattr(_pool, 'HAS_YAML', False)
    path = str(tmp_path / 'v')
    write(path, HOST_VARS + '# note\nport: 22\nquoted: "a b"\n')
    loaded = _pool.load_yaml_file(path)
    assert loaded['bx_netaddr'] == '192.0.2.1' and loaded['port'] == 22 and loaded['quoted'] == 'a b'
    write(path, 'list:\n  - a\n')
    assert _pool.load_yaml_file(path) is None


def test_find_host(tmp_path):
    pool = _pool.read_pool(make_pool(tmp_path, hosts=PARSE_TEXT))
    assert _pool.find_host(pool, name='DB1')['name'] == 'db1'
    assert _pool.find_host(pool, address='192.0.2.13')['name'] == 'lonely'
    assert _pool.find_host(pool, address='web1')['name'] == 'web1'
    assert _pool.find_host(pool, address='192.0.2.60') is None  # outside bitrix sections
    assert _pool.find_host(pool, name='nobody', address='192.0.2.99') is None


def test_setup_playbook(tmp_path):
    pool_dir = make_pool(tmp_path)
    assert _pool.setup_playbook(pool_dir) == {
        'path': os.path.join(pool_dir, 'common.yml'), 'name': 'common.yml',
        'exists': False, 'monitoring': False}
    os.mkdir(os.path.join(pool_dir, 'group_vars'))
    write(os.path.join(pool_dir, 'group_vars', 'bitrix-hosts.yml'), '---\nmonitoring_status: enable\n')
    write(os.path.join(pool_dir, 'monitor.yml'), '---\n')
    assert _pool.setup_playbook(pool_dir) == {
        'path': os.path.join(pool_dir, 'monitor.yml'), 'name': 'monitor.yml',
        'exists': True, 'monitoring': True}
    write(os.path.join(pool_dir, 'group_vars', 'bitrix-hosts.yml'), 'monitoring_status: disable\n')
    assert _pool.setup_playbook(pool_dir)['name'] == 'common.yml'


# ---------------------------------------------------------------- naming

def test_ipv4_without_ptr_gets_next_server_number(tmp_path):
    hosts = HOSTS + '[bitrix-web]\nserver7 ansible_ssh_host=192.0.2.7\nserver12x ansible_ssh_host=192.0.2.8\n'
    pool_dir = make_pool(tmp_path, hosts=hosts)
    plan = _pool.plan_add('192.0.2.10', pool_dir, resolver=NO_DNS, rng=seeded_rng(), clock=CLOCK)
    assert (plan['name'], plan['connect'], plan['address']) == ('server8', 'ipv4', '192.0.2.10')


def test_ptr_with_a_listed_ending_and_matching_forward_is_used_whole(tmp_path):
    resolver = FakeResolver(ptr={'192.0.2.10': 'web5.example.com'}, a={'web5.example.com': ['192.0.2.10']})
    plan = _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=resolver)
    assert plan['name'] == 'web5.example.com'
    assert plan['host_vars']['bx_netname'] == 'web5.example.com'
    assert plan['connect'] == 'ipv4'


def test_ptr_whose_forward_differs_gives_the_short_name(tmp_path):
    resolver = FakeResolver(ptr={'192.0.2.10': 'web5.example.ru'}, a={'web5.example.ru': ['192.0.2.77']})
    assert _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=resolver)['name'] == 'web5'


def test_ptr_with_other_ending_is_not_used(tmp_path):
    resolver = FakeResolver(ptr={'192.0.2.10': 'static-10.provider.net'},
                            a={'static-10.provider.net': ['192.0.2.10']})
    assert _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=resolver)['name'] == 'server2'


def test_hostile_ptr_is_not_used(tmp_path):
    resolver = FakeResolver(ptr={'192.0.2.10': 'x ansible_connection=local.com'})
    assert _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=resolver)['name'] == 'server2'


def test_dns_name_resolves_forward(tmp_path):
    resolver = FakeResolver(a={'node.example.org': ['192.0.2.20', '192.0.2.21']})
    plan = _pool.plan_add('node.example.org', make_pool(tmp_path), resolver=resolver,
                          rng=seeded_rng(), clock=CLOCK)
    assert plan['hosts_line'] == 'node.example.org ansible_ssh_host=192.0.2.20'
    assert plan['host_vars']['bx_connect'] == 'fqdn'
    assert plan['host_vars']['bx_hostname'] == plan['host_vars']['bx_netname'] == 'node.example.org'
    assert resolver.asked == [('A', 'node.example.org')]


def test_dns_name_without_answer(tmp_path):
    with pytest.raises(BxError) as info:
        _pool.plan_add('gone.example.org', make_pool(tmp_path), resolver=NO_DNS)
    assert info.value.document() == {'error': 1,
                                     'message': 'Host::createHost: gone.example.org is not a valid DNS name'}


@pytest.mark.parametrize('server', ['1.2.3', '192.0.2.300', '010.0.0.1', 'a b', 'x\nserver9 a=b',
                                    'host/../x', '-oProxyCommand=x', '2001:db8::5', ''])
def test_values_that_are_neither_address_nor_name_are_refused_before_dns(tmp_path, server):
    resolver = FakeResolver()
    with pytest.raises(BxError) as info:
        _pool.check_addable(server, make_pool(tmp_path))
    assert info.value.message == 'Host::createHost: %s is not a valid DNS name' % shown(server)
    with pytest.raises(BxError):
        _pool.plan_add(server, make_pool(tmp_path), resolver=resolver)
    assert resolver.asked == []


def test_explicit_hostname(tmp_path):
    plan = _pool.plan_add('192.0.2.10', make_pool(tmp_path), hostname='front-1', resolver=NO_DNS)
    assert plan['name'] == 'front-1'
    assert plan['hosts_line'] == 'front-1 ansible_ssh_host=192.0.2.10'
    resolver = FakeResolver(a={'node.example.org': ['192.0.2.20']})
    plan = _pool.plan_add('node.example.org', make_pool(tmp_path), hostname='node', resolver=resolver)
    assert plan['host_vars']['bx_hostname'] == 'node'
    assert plan['host_vars']['bx_netname'] == 'node.example.org'


@pytest.mark.parametrize('hostname', ['a b', '../x', '.hidden', 'x/y', '-x', '2024', 'name=1', ''])
def test_unsafe_explicit_hostname(tmp_path, hostname):
    with pytest.raises(BxError) as info:
        _pool.check_addable('192.0.2.10', make_pool(tmp_path), hostname=hostname)
    assert info.value.message.startswith('bxenv: invalid hostname')


def test_ids_use_clock_and_random_source(tmp_path):
    plan = _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=NO_DNS, rng=seeded_rng(3),
                          clock=FakeTime(now=1795831531.9).clock)
    host_id, host_pass = plan['host_vars']['host_id'], plan['host_vars']['host_pass']
    assert host_id.startswith('1795831531_') and len(host_id) == len('1795831531_') + 10
    assert host_pass.startswith('192.0.2.10_') and len(host_pass) == len('192.0.2.10_') + 10
    assert set(host_id[11:] + host_pass[11:]) <= set(_naming.RANDOM_ALPHABET)
    again = _pool.plan_add('192.0.2.10', make_pool(tmp_path), resolver=NO_DNS, rng=seeded_rng(3),
                           clock=FakeTime(now=1795831531.9).clock)
    assert again['host_vars'] == plan['host_vars']


def test_random_alphabet_includes_nine():
    assert _naming.RANDOM_ALPHABET.endswith('9') and len(_naming.RANDOM_ALPHABET) == 62


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize('server', ['localhost', 'LOCALHOST', 'localhost.localdomain', '127.0.0.1',
                                    '127.1.2.3', '::1', '0:0:0:0:0:0:0:1'])
def test_loopback_refused_with_original_text(tmp_path, server):
    resolver = FakeResolver()
    with pytest.raises(BxError) as info:
        _pool.check_addable(server, make_pool(tmp_path))
    assert info.value.document() == {'error': 1, 'message': 'Host::createHost: cannot use %s for add' % server}
    with pytest.raises(BxError):
        add(make_pool(tmp_path), server, resolver=resolver)
    assert resolver.asked == []


def _inet_aton_form(draw, st, number):
    """``number`` written as inet_aton(3) reads it: 1 to 4 parts, each decimal, octal or hex."""
    count = draw(st.integers(1, 4))
    last_bits = 8 * (5 - count)
    values = [(number >> (24 - 8 * i)) & 0xFF for i in range(count - 1)] + [number & ((1 << last_bits) - 1)]
    texts = []
    for value in values:
        base = draw(st.sampled_from(['dec', 'oct', 'hex', 'HEX']))
        texts.append({'dec': '%d', 'oct': '0%o', 'hex': '0x%x', 'HEX': '0X%X'}[base] % value)
    return '.'.join(texts)


THIS_HOST_NETS = [ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('0.0.0.0/8')]


def test_every_numeric_form_of_this_host_is_refused_before_dns():
    """Property: every way inet_aton (so ssh) reads 127.0.0.0/8 or 0.0.0.0/8,
    also IPv4-mapped in IPv6, is refused as this host; any other address not
    written as a dotted quad is refused as no DNS name. Both before any DNS."""
    hypothesis = pytest.importorskip('hypothesis')
    st = hypothesis.strategies

    @st.composite
    def forms(draw):
        number = draw(st.integers(0, 2 ** 32 - 1))
        text = _inet_aton_form(draw, st, number)
        if draw(st.booleans()):
            mapped = draw(st.sampled_from(['::ffff:%s', '::FFFF:%s', '0:0:0:0:0:ffff:%s']))
            text = mapped % ipaddress.IPv4Address(number)
        return number, text

    @hypothesis.settings(max_examples=500, deadline=None)
    @hypothesis.given(forms())
    def check(form):
        number, text = form
        address = ipaddress.IPv4Address(number)
        if ':' not in text:
            # The reading agrees with the system's inet_aton, which the resolver uses.
            assert _naming.numeric_ipv4(text) == address
            assert socket.inet_aton(text) == address.packed
        this_host = any(address in net for net in THIS_HOST_NETS)
        assert _naming.is_this_host(text) is this_host
        assert not _naming.is_dns_name(text)
        resolver = FakeResolver()
        if this_host:
            with pytest.raises(BxError) as info:
                _pool.check_addable(text, '/nonexistent')
            assert info.value.message == 'Host::createHost: cannot use %s for add' % text
        elif text != str(address):
            with pytest.raises(BxError) as info:
                _pool.check_addable(text, '/nonexistent')
            assert info.value.message == 'Host::createHost: %s is not a valid DNS name' % text
        assert resolver.asked == []
    check()


@pytest.mark.parametrize('server', ['0.0.0.0', '0.9.9.9', '0', '0x0', '127.1', '2130706433', '0x7f000001',
                                    '0x7F.1', '0177.0.0.1', '017700000001', '::', '::ffff:127.0.0.1',
                                    '::ffff:0.0.0.0', '::127.0.0.1', '[::1]', '::1%lo', 'localhost.',
                                    'x.LOCALHOST', 'localhost4', 'localhost6.localdomain6', 'ip6-loopback'])
def test_this_host_in_other_forms_is_refused(tmp_path, server):
    resolver = FakeResolver()
    for call in (lambda: _pool.check_addable(server, make_pool(tmp_path)),
                 lambda: _pool.plan_add(server, make_pool(tmp_path), resolver=resolver),
                 lambda: add(make_pool(tmp_path), server, resolver=resolver)):
        with pytest.raises(BxError) as info:
            call()
        assert info.value.message == 'Host::createHost: cannot use %s for add' % server
    assert resolver.asked == []


@pytest.mark.parametrize('server', ['192.0.2.10', 'node.example.com', 'host-1', 'a.b.c.lan'])
def test_ordinary_servers_are_not_this_host(server):
    assert not _naming.is_this_host(server)
    assert _naming.server_kind(server) in ('ipv4', 'fqdn')


@pytest.mark.parametrize('addresses', [['0.0.0.0'], ['192.0.2.70', '127.0.0.2']])
def test_name_resolving_to_this_host_among_others_is_refused(tmp_path, addresses):
    pool_dir = make_pool(tmp_path)
    with pytest.raises(BxError) as info:
        _pool.plan_add('multi.example.com', pool_dir, resolver=FakeResolver(a={'multi.example.com': addresses}))
    assert info.value.message == 'Host::createHost: cannot use multi.example.com for add'


def test_group_names_of_the_hosts_file():
    text = ('[bitrix-hosts]\nserver1\n[web:children]\nbitrix-web\nfront ; c\n[db:vars]\nx=1\n'
            '# [commented]\n[ other ]\n')
    assert _pool.group_names(text) == ['bitrix-hosts', 'web', 'bitrix-web', 'front', 'db', 'other']


@pytest.mark.parametrize('name, groups, problem', [
    ('localhost', [], 'Ansible and the resolver take it for this host'),
    ('ALL', [], 'it is the name of a group'),
    ('ungrouped', [], 'it is the name of a group'),
    ('bitrix-transformer', [], 'it is the name of a group'),
    ('front', ['front'], 'it is the name of a group'),
    ('10.1', [], 'it is not a DNS name (an address, or other characters)'),
    ('0xc000020a', [], 'it is not a DNS name (an address, or other characters)'),
    ('web1', ['front'], None),
])
def test_inventory_name_problem(name, groups, problem):
    assert _naming.inventory_name_problem(name, groups) == problem


def test_next_server_name_skips_group_names(tmp_path):
    pool_dir = make_pool(tmp_path, hosts=HOSTS + '[server2]\n')
    assert add(pool_dir, '192.0.2.10')['name'] == 'server3'


def test_name_resolving_to_loopback_is_refused(tmp_path):
    pool_dir = make_pool(tmp_path)
    before = folder_digest(pool_dir)
    with pytest.raises(BxError) as info:
        add(pool_dir, 'sneaky.example.com', resolver=FakeResolver(a={'sneaky.example.com': ['127.0.0.5']}))
    assert info.value.message == 'Host::createHost: cannot use sneaky.example.com for add'
    assert folder_digest(pool_dir) == before


@pytest.mark.parametrize('hosts, host_vars', [
    (None, {}),                                   # no hosts file at all
    (HOSTS, {}),                                  # members, none with host_vars
    (HOSTS, {'server1': 'a: [broken\n'}),         # host_vars not loadable
    ('[bitrix-web]\nserver1 ansible_ssh_host=192.0.2.1\n', None),  # no [bitrix-hosts] members
])
def test_missing_pool(tmp_path, hosts, host_vars):
    pool_dir = make_pool(tmp_path, hosts=hosts or '', host_vars=host_vars)
    if hosts is None:
        os.unlink(os.path.join(pool_dir, 'hosts'))
        problem = 'cannot read %s/hosts: No such file or directory' % pool_dir
    else:
        problem = ('no host under [bitrix-hosts] of %s/hosts has a readable host_vars file in %s/host_vars'
                   % (pool_dir, pool_dir))
    before = folder_digest(pool_dir)
    for call in (lambda: _pool.check_addable('192.0.2.10', pool_dir), lambda: add(pool_dir, '192.0.2.10')):
        with pytest.raises(BxError) as info:
            call()
        # The original's text first, then what is wrong, where, and what a pool holds.
        expected = 'pool_not_created: %s; %s' % (problem, _pool.POOL_HINT)
        assert info.value.document() == {'error': 1, 'message': expected}
    assert folder_digest(pool_dir) == before


@pytest.mark.parametrize('pool_dir', ['', 'missing'])
def test_empty_or_missing_pool_dir(tmp_path, monkeypatch, pool_dir):
    # An empty pool_dir must not read ./hosts of the current folder.
    make_pool(tmp_path)
    monkeypatch.chdir(str(tmp_path))
    path = os.path.join(str(tmp_path), pool_dir) if pool_dir else ''
    with pytest.raises(BxError) as info:
        _pool.check_addable('192.0.2.10', path)
    problem = 'pool_dir is empty' if not pool_dir else (
        'cannot read %s/hosts: No such file or directory' % path)
    assert info.value.message == 'pool_not_created: %s; %s' % (problem, _pool.POOL_HINT)
    assert 'hosts' in _pool.POOL_HINT and 'private_key_file' in _pool.POOL_HINT


@pytest.mark.parametrize('server, existing', [('192.0.2.1', 'server1'), ('server1', 'server1')])
def test_server_already_in_pool(tmp_path, server, existing):
    pool_dir = make_pool(tmp_path)
    with pytest.raises(BxError) as info:
        _pool.check_addable(server, pool_dir)
    assert info.value.message == 'Host::createHost: %s is already in the pool as %s' % (server, existing)


def test_dns_name_of_an_address_already_in_pool(tmp_path):
    pool_dir = make_pool(tmp_path)
    with pytest.raises(BxError) as info:
        add(pool_dir, 'alias.example.com', resolver=FakeResolver(a={'alias.example.com': ['192.0.2.1']}))
    assert info.value.message == 'Host::createHost: alias.example.com is already in the pool as server1'


def test_name_taken_by_another_address(tmp_path):
    pool_dir = make_pool(tmp_path)
    before = folder_digest(pool_dir)
    resolver = FakeResolver(ptr={'192.0.2.10': 'server1.example.lan'})  # short name server1
    with pytest.raises(BxError) as info:
        add(pool_dir, '192.0.2.10', resolver=resolver)
    assert info.value.message == ('Host::createHost: name server1 for 192.0.2.10 is already used '
                                  'in the pool by 192.0.2.1')
    with pytest.raises(BxError):
        _pool.check_addable('192.0.2.10', pool_dir, hostname='SERVER1')
    assert folder_digest(pool_dir) == before


# ---------------------------------------------------------------- writing

ODD_HOSTS = (
    '# keep   my   spacing\t\n'
    '\n'
    '[bitrix-hosts]\n'
    '   server1    ansible_ssh_host=192.0.2.1   \n'
    '\t\n'
    '[bitrix-web]   \n'
    'server1 ansible_ssh_host=192.0.2.1\r\n'
    '; caf\xc3\xa9 \xff raw bytes\n'
    '[custom]\n'
    'x\n'
    'no newline at end'
)


def test_add_keeps_every_other_byte_and_the_mode(tmp_path):
    raw = ODD_HOSTS.encode('latin-1')
    pool_dir = make_pool(tmp_path, mode=0o640)
    hosts = os.path.join(pool_dir, 'hosts')
    with open(hosts, 'wb') as handle:
        handle.write(raw)
    result = add(pool_dir, '192.0.2.10')
    after = read(hosts, 'rb')
    header = b'[bitrix-hosts]\n'
    cut = raw.index(header) + len(header)
    assert after == raw[:cut] + b'server2 ansible_ssh_host=192.0.2.10\n' + raw[cut:]
    assert stat.S_IMODE(os.stat(hosts).st_mode) == 0o640
    assert result['hosts_before'].encode('utf-8', 'surrogateescape') == raw
    assert result['hosts_after'].encode('utf-8', 'surrogateescape') == after
    assert [n for n in os.listdir(pool_dir) if n not in ('hosts', 'host_vars', _pool.LOCK_NAME)] == []


def test_add_keeps_owner_and_group(tmp_path):
    pool_dir = make_pool(tmp_path)
    hosts = os.path.join(pool_dir, 'hosts')
    # As root, give it away to prove the new file gets the old owner back;
    # otherwise it is ours before and after.
    want = (4242, 4343) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(hosts, *want)
    add(pool_dir, '192.0.2.10')
    info = os.stat(hosts)
    assert (info.st_uid, info.st_gid) == want


def test_symlinked_hosts_file_stays_a_link(tmp_path):
    pool_dir = make_pool(tmp_path)
    real = tmp_path / 'real-hosts'
    os.rename(os.path.join(pool_dir, 'hosts'), str(real))
    os.symlink(str(real), os.path.join(pool_dir, 'hosts'))
    add(pool_dir, '192.0.2.10')
    assert os.path.islink(os.path.join(pool_dir, 'hosts'))
    assert 'server2 ansible_ssh_host=192.0.2.10\n' in real.read_text()


def test_host_vars_exact_content_and_mode(tmp_path):
    pool_dir = make_pool(tmp_path)
    result = add(pool_dir, '192.0.2.10', rng=seeded_rng(1), clock=FakeTime(now=1795831531.2).clock)
    path = os.path.join(pool_dir, 'host_vars', 'server2')
    assert result['host_vars_file'] == path
    rand_id = result['host_vars']['host_id'].split('_', 1)[1]
    rand_pass = result['host_vars']['host_pass'].split('_', 1)[1]
    assert read(path) == (
        '---\n'
        'bx_connect: ipv4\n'
        'bx_hostname: server2\n'
        'bx_netaddr: 192.0.2.10\n'
        'bx_netname: server2\n'
        'host_id: 1795831531_%s\n'
        'host_pass: 192.0.2.10_%s\n' % (rand_id, rand_pass))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert yaml.safe_load(read(path)) == result['host_vars']
    assert result['groups'] == ['bitrix-hosts'] and result['changed'] is True
    pool = _pool.read_pool(pool_dir)
    assert pool.members == ['server2', 'server1']
    assert _pool.find_host(pool, address='192.0.2.10')['name'] == 'server2'


def test_host_vars_symlink_is_replaced_not_followed(tmp_path):
    pool_dir = make_pool(tmp_path)
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    os.symlink(str(victim), os.path.join(pool_dir, 'host_vars', 'server2'))
    add(pool_dir, '192.0.2.10')
    assert victim.read_text() == 'precious\n'
    assert not os.path.islink(os.path.join(pool_dir, 'host_vars', 'server2'))


@pytest.mark.parametrize('value, text', [
    ('192.0.2.10', '192.0.2.10'), ('server2', 'server2'), ('12', '12'), (7, '7'),
    ('1795831531_0123456789', "'1795831531_0123456789'"), ('yes', "'yes'"), ('0755', "'0755'"),
    ('1.5', "'1.5'"), ('null', "'null'"), ('2024-01-02', "'2024-01-02'"), ("it's", "'it''s'"),
    ('a: b', "'a: b'"), ('1e3', "'1e3'"), ('-x', "'-x'"),
])
def test_yaml_scalar_reads_back(value, text):
    assert _pool.yaml_scalar(value) == text
    loaded = yaml.safe_load('k: %s\n' % text)['k']
    assert loaded == (int(value) if isinstance(value, str) and value.isdigit() and text == value else value)


def test_check_mode_plan_writes_nothing(tmp_path):
    pool_dir = make_pool(tmp_path)
    before = folder_digest(pool_dir)
    plan = _pool.plan_add('192.0.2.10', pool_dir, resolver=NO_DNS, rng=seeded_rng(), clock=CLOCK)
    assert folder_digest(pool_dir) == before
    assert plan['hosts_before'] == HOSTS
    assert plan['hosts_after'] == HOSTS.replace('[bitrix-hosts]\n',
                                                '[bitrix-hosts]\nserver2 ansible_ssh_host=192.0.2.10\n')
    assert plan['host_vars_text'].startswith('---\nbx_connect: ipv4\n')
    # The real add with the same inputs writes exactly what was planned.
    result = add(pool_dir, '192.0.2.10')
    for key in ('name', 'hosts_after', 'host_vars_text'):
        assert result[key] == plan[key]


def test_no_hosts_group_line(tmp_path):
    with pytest.raises(BxError) as info:
        _pool.insert_host_line('[bitrix-web]\nserver1 ansible_ssh_host=192.0.2.1\n', 'x ansible_ssh_host=y')
    assert info.value.document() == {'error': 1, 'message': 'Host::add_to_group: Cannot update group hosts'}


def test_header_on_last_line_and_crlf():
    assert _pool.insert_host_line('[bitrix-hosts]', 'n a=b') == '[bitrix-hosts]\nn a=b\n'
    assert _pool.insert_host_line('a\r\n  [bitrix-hosts]  \r\nz\r\n', 'n a=b') == \
        'a\r\n  [bitrix-hosts]  \r\nn a=b\r\nz\r\n'


def test_second_add_of_the_same_server_is_refused(tmp_path):
    pool_dir = make_pool(tmp_path)
    add(pool_dir, '192.0.2.10')
    after_first = folder_digest(pool_dir)
    with pytest.raises(BxError) as info:
        add(pool_dir, '192.0.2.10')
    assert info.value.message == 'Host::createHost: 192.0.2.10 is already in the pool as server2'
    assert folder_digest(pool_dir) == after_first


def test_failed_host_vars_write_leaves_hosts_untouched(tmp_path):
    pool_dir = make_pool(tmp_path)
    # A folder where host_vars/server2 goes: the rename over it fails.
    os.makedirs(os.path.join(pool_dir, 'host_vars', 'server2', 'inside'))
    with pytest.raises(BxError) as info:
        add(pool_dir, '192.0.2.10')
    assert info.value.code == 2
    assert info.value.message.startswith('Host::add_to_group: Cannot open %s' % pool_dir)
    assert read(os.path.join(pool_dir, 'hosts')) == HOSTS
    assert sorted(os.listdir(os.path.join(pool_dir, 'host_vars'))) == ['server1', 'server2']


def test_only_newline_ends_a_host_line():
    # A form feed or U+2028 inside a line must not start a new host line.
    hosts = _pool.parse_hosts('[bitrix-hosts]\nweb1 ansible_ssh_host=192.0.2.11\x0cnotahost x=1\u2028y\n')
    assert list(hosts) == ['web1']


def test_rerun_after_an_add_cut_before_the_hosts_line(tmp_path):
    # An add killed between its two writes leaves only host_vars/server2;
    # the hosts line is the commit point, so the host is not in the pool yet
    # and the next add takes the same name and finishes the job.
    pool_dir = make_pool(tmp_path)
    write(os.path.join(pool_dir, 'host_vars', 'server2'), '---\nbx_hostname: server2\nhost_id: stale\n')
    assert _pool.find_host(_pool.read_pool(pool_dir), address='192.0.2.10') is None
    result = add(pool_dir, '192.0.2.10')
    assert result['name'] == 'server2'
    assert read(result['host_vars_file']) == result['host_vars_text']
    assert _pool.find_host(_pool.read_pool(pool_dir), address='192.0.2.10')['name'] == 'server2'
