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
import threading
import time

import jsonschema
import pytest

from ansible_collections.bitrix.bxenv.plugins.module_utils import _orders, _schemas, _tasks
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
    assert valid('help', reply)['options'] == ['help', 'configs', 'order', 'order_status', 'order_token']
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
    assert providers.offers(record, 'order_token')
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


# ---------------------------------------------------------------- order_token
# Orders of a plan that boots for 600 s: no lab host is started, the
# fixture's destroy-all stops the provisioners.

def order_with(providers, record, config_id, token):
    return providers.call(record, 'order', config_id, environ={_orders.TOKEN_VARIABLE: token})


def test_same_token_same_order_new_token_new_order(installed):
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 600)
    record = providers.probe(NAME)
    one, two = _orders.order_token(installed['root'], NAME, 'web-1'), _orders.order_token(installed['root'], NAME, 'web-1')
    assert one != two   # a label ordered again gets a new token
    first = valid('order', order_with(providers, record, '1', one))
    again = valid('order', order_with(providers, record, '1', one))
    assert again['task_id'] == first['task_id'] and again['repeated'] is True
    other = order_with(providers, record, '1', two)['task_id']
    plain = providers.call(record, 'order', '1')['task_id']   # no token: always a new order
    assert len(set([first['task_id'], other, plain])) == 3
    unused, listed = helpers.plugin(holder, 'list')
    assert sorted(o['task_id'] for o in listed['orders']) == sorted([first['task_id'], other, plain])
    assert order_file(holder, first['task_id'])['token'] == one

    # A token that is not 40 lowercase hex characters orders nothing.
    for bad in ('', one.upper(), one[:39], one + '0', '../' + one[3:]):
        with pytest.raises(ErrorReply) as caught:
            order_with(providers, record, '1', bad)
        assert 'BX_ORDER_TOKEN must be 40 lowercase hexadecimal characters' in caught.value.message
    assert len(helpers.plugin(holder, 'list')[1]['orders']) == 3


def test_one_token_at_once_from_many_callers_is_one_order(installed):
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 600)
    record = providers.probe(NAME)
    token = _orders.order_token(installed['root'], NAME, 'web-2')
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(order_with(providers, record, '2', token)))
               for unused in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 6 and len(set(r['task_id'] for r in replies)) == 1
    assert len(helpers.plugin(holder, 'list')[1]['orders']) == 1


def test_a_run_that_died_mid_order_is_ordered_again_with_its_token(installed):
    """What a run killed after the provider stored its order leaves: the
    provider's order placed with the token, the label's marker holding that
    token, no label, no task file. The next run records that order."""
    holder, providers = installed['holder'], installed['providers']
    helpers.set_boot_delay(holder, 600)
    record = providers.probe(NAME)
    token = _orders.order_token(installed['root'], NAME, 'web-3')
    placed = order_with(providers, record, '1', token)['task_id']
    marker = _orders.ordering_path(holder, 'web-3')
    os.makedirs(os.path.dirname(marker))
    with open(marker, 'w') as handle:
        handle.write(token)

    outcome = _orders.place(providers, NAME, '1', label='web-3')
    assert (outcome.changed, outcome.task_id) == (True, placed)
    sent = [env for argv, env in zip(providers.runner.argvs, providers.runner.environs) if argv[1:] == ['order', '1']]
    assert sent[-1] == {_orders.TOKEN_VARIABLE: token}   # the dead run's token, asked again
    assert _orders.read_label(holder, 'web-3') == placed
    assert _orders.read_label_config(holder, 'web-3') == '1'
    assert _tasks.read_task_file(holder, placed) == ''
    assert not os.path.exists(marker)
    assert [o['task_id'] for o in helpers.plugin(holder, 'list')[1]['orders']] == [placed]
    # The label now names it: a third run neither orders nor calls order.
    assert _orders.place(providers, NAME, '1', label='web-3').task_id == placed
    assert len(helpers.plugin(holder, 'list')[1]['orders']) == 1
