# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netns_lab provider plugin, installed from its built archive (needs root).

Its replies are checked against the protocol's JSON Schemas directly and
through the collection's own provider client (``Providers.probe``/``call``);
its servers are real sshd hosts that accept the root password it returns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess
import sys
import time

import jsonschema
import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _schemas
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import ErrorReply, Providers
from ansible_collections.bitrix.bxenv.tests.e2e import helpers
from ansible_collections.bitrix.bxenv.tests.unit.fakes import RecordingRunner as Runner

NAME = helpers.PROVIDER


@pytest.fixture
def installed(archive, tmp_path):
    """The plugin unpacked from its archive into a providers folder of its own."""
    if os.geteuid() != 0:
        pytest.fail('the netns_lab provider needs root (network namespaces)')
    root = str(tmp_path / 'providers')
    holder = helpers.extract(archive, root)
    try:
        yield {'root': root, 'holder': holder, 'providers': Providers(root, Runner(), timeout=30)}
    finally:
        helpers.destroy_all(holder)


def valid(action, reply):
    jsonschema.Draft7Validator(_schemas.REPLY_SCHEMAS[action]).validate(reply)
    assert 'error' not in reply
    return reply


def ssh_as_root(address, password, command, known_hosts):
    """Password login with OpenSSH alone (askpass), as the pool key copy does."""
    askpass = os.path.join(os.path.dirname(known_hosts), 'askpass')
    with open(askpass, 'w') as handle:
        handle.write('#!%s\nimport os\nprint(os.environ["E2E_PASSWORD"])\n' % sys.executable)
    os.chmod(askpass, 0o700)
    env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE='force', E2E_PASSWORD=password)
    return subprocess.run(['setsid', '-w', 'ssh', '-F', '/dev/null', '-n', '-T',
                           '-o', 'UserKnownHostsFile=' + known_hosts, '-o', 'StrictHostKeyChecking=accept-new',
                           '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
                           '-o', 'ConnectTimeout=10', '-l', 'root', address, command],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=60, check=False)


def test_archive_is_reproducible_and_self_contained(archive, tmp_path):
    again = helpers.build_archive(tmp_path / 'again.tar.gz')
    with open(archive, 'rb') as one, open(again, 'rb') as two:
        assert one.read() == two.read()
    holder = helpers.extract(archive, tmp_path / 'x')
    assert sorted(os.listdir(holder)) == ['README.md', 'bin', 'etc', 'lib']
    assert sorted(os.listdir(os.path.join(holder, 'lib'))) == ['lab.py', 'netns_lab_provider.py']
    assert os.access(os.path.join(holder, 'bin', NAME), os.X_OK)


def test_help_and_configs_follow_the_protocol(installed):
    holder = installed['holder']
    rc, reply = helpers.plugin(holder, 'help')
    assert rc == 0
    assert valid('help', reply)['options'] == ['help', 'configs', 'order', 'order_status']
    assert reply['status'] == 'enabled'
    rc, reply = helpers.plugin(holder, 'configs')
    assert rc == 0
    configurations = valid('configs', reply)['configurations']
    assert [c['id'] for c in configurations] == ['1', '2', '3']
    assert all(c['descr'] for c in configurations)

    providers = installed['providers']
    record = providers.probe(NAME)
    assert record['status'] == 'enabled'
    assert record['config'] == 'exists'
    assert record['options'] == {'help': 1, 'init': 0, 'configs': 1, 'order': 1, 'order_status': 1}
    assert providers.call(record, 'configs') == reply
    assert [NAME] == providers.names()


def test_order_gives_a_real_ssh_server(installed, tmp_path):
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 0)
    record = providers.probe(NAME)
    order = providers.call(record, 'order', '3')
    valid('order', order)
    task_id = order['task_id']
    assert task_id.isdigit()

    reply = helpers.wait_finished(lambda t: providers.call(record, 'order_status', t), task_id)
    valid('order_status', reply)
    assert reply['status'] == 'finished', reply
    address, password = reply['server'], reply['server_password']
    assert address.startswith('10.214.') and address.endswith('.2')
    namespaces = helpers.our_namespaces(holder)
    assert len(namespaces) == 1 and namespaces <= helpers.netns_names()

    # The password it returned logs in as root, on a host with its own /root.
    login = ssh_as_root(address, password, 'id -u; touch /root/e2e-mark; ls /root', str(tmp_path / 'known_hosts'))
    assert login.returncode == 0, login.stderr
    assert login.stdout.split()[0] == '0' and 'e2e-mark' in login.stdout.split()
    assert not os.path.exists('/root/e2e-mark')
    wrong = ssh_as_root(address, password + 'x', 'true', str(tmp_path / 'known_hosts'))
    assert wrong.returncode != 0

    # The password is kept readable by root only.
    order_file = os.path.join(holder, 'var', 'orders', task_id + '.json')
    assert stat.S_IMODE(os.stat(order_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(holder, 'var')).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(holder, 'var', 'orders')).st_mode) == 0o700

    # The same status again, then destroy: the namespace goes, the order ends.
    assert providers.call(record, 'order_status', task_id) == reply
    rc, destroyed = helpers.plugin(holder, 'destroy', task_id)
    assert (rc, destroyed['status'], destroyed['changed']) == (0, 'destroyed', True)
    assert not namespaces & helpers.netns_names()
    after = valid('order_status', providers.call(record, 'order_status', task_id))
    assert after['status'] == 'failed' and 'destroyed' in after['message']
    rc, again = helpers.plugin(holder, 'destroy', task_id)
    assert (rc, again['changed']) == (0, False)


def test_in_progress_while_booting_and_destroyed_before_boot(installed):
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 600)  # it stays booting for the whole test
    record = providers.probe(NAME)
    before = helpers.netns_names()
    task_id = providers.call(record, 'order', '1')['task_id']
    reply = valid('order_status', providers.call(record, 'order_status', task_id))
    assert reply['status'] == 'in_progress'
    assert 'server_password' not in reply and 'server' not in reply
    unused, listed = helpers.plugin(holder, 'list')
    assert [(o['task_id'], o['state']) for o in listed['orders']] == [(task_id, 'provisioning')]

    provisioner = order_file(holder, task_id)['provisioner']
    assert started_at(provisioner['pid']) == provisioner['start']
    rc, unused = helpers.plugin(holder, 'destroy', task_id)
    assert rc == 0
    # The sleeping provisioner was stopped and never started a host.
    deadline = time.time() + 30
    while started_at(provisioner['pid']) == provisioner['start'] and time.time() < deadline:
        time.sleep(0.1)
    assert started_at(provisioner['pid']) != provisioner['start']
    assert helpers.netns_names() - before == set()
    assert valid('order_status', providers.call(record, 'order_status', task_id))['status'] == 'failed'


def order_file(holder, task_id):
    with open(os.path.join(holder, 'var', 'orders', task_id + '.json')) as handle:
        return json.load(handle)


def started_at(pid):
    """Start time of a live (not zombie) process, else None."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except IOError:
        return None
    return None if fields[0] in ('Z', 'X') else int(fields[19])


def test_two_orders_two_hosts_and_destroy_all(installed):
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 0)
    record = providers.probe(NAME)
    ids = [providers.call(record, 'order', config)['task_id'] for config in ('1', '3')]
    assert len(set(ids)) == 2
    replies = [helpers.wait_finished(lambda t: providers.call(record, 'order_status', t), t) for t in ids]
    assert [r['status'] for r in replies] == ['finished', 'finished']
    assert len(set(r['server'] for r in replies)) == 2
    assert len(set(r['server_password'] for r in replies)) == 2
    namespaces = helpers.our_namespaces(holder)
    assert len(namespaces) == 2 and namespaces <= helpers.netns_names()
    rc, reply = helpers.plugin(holder, 'destroy-all')
    assert rc == 0 and sorted(reply['destroyed']) == sorted(ids) and reply['namespaces'] == []
    assert not namespaces & helpers.netns_names()


def test_errors_are_protocol_error_replies(installed):
    holder, providers = installed['holder'], installed['providers']
    record = providers.probe(NAME)
    for action, argument, text in (('order', '9', 'no configuration with id=9'),
                                   ('order_status', '4242', 'no order task_id=4242'),
                                   ('order_status', '../x', 'no order task_id=../x')):
        with pytest.raises(ErrorReply) as caught:
            providers.call(record, action, argument)
        assert text in caught.value.message
        rc, reply = helpers.plugin(holder, action, argument)
        assert rc == 1
        jsonschema.Draft7Validator(_schemas.ERROR_REPLY).validate(reply)
    rc, reply = helpers.plugin(holder, 'reboot')
    assert rc == 1 and 'unknown action' in reply['error_message']
    rc, reply = helpers.plugin(holder, 'order')
    assert rc == 1 and 'takes 1 argument' in reply['error_message']
