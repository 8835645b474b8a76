# -*- coding: utf-8 -*-
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to the bitrix.bxenv collection: no API promise.
"""The pool as a list (``bx_pool``): order what is missing at once, wait
together, add each server as soon as it is finished.

Each entry names an order by its label (``name``, the labels of
``_orders``), so a labelled order counts as present whatever its status:
in progress is waited for, finished is added, complete is left alone, a
failed one fails its entry (a new server needs a new name). Nothing is ever
deleted: labels the list no longer names are returned as ``unlisted``.

Orders run in parallel (``_orders.order_lock``: the provider lock shared,
one lock per label), per configuration in a slow start (one order first,
then growing batches once one was accepted). Status calls run in rounds
over the pending orders, each order on a capped backoff with jitter, under
one deadline for the whole run. Key copies run in parallel; only the pool
write runs under the pool lock (``_pool.add_host``). One entry's failure
never stops the others: each entry ends with a state and, when it failed,
the stage (``order``, ``wait``, ``pool add``) and the message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.bitrix.bxenv.plugins.module_utils import _messages, _orders, _pool, _queries, _ssh, _tasks
from ansible_collections.bitrix.bxenv.plugins.module_utils._errors import BxError
from ansible_collections.bitrix.bxenv.plugins.module_utils._ids import check_id, check_provider_name
from ansible_collections.bitrix.bxenv.plugins.module_utils._naming import check_hostname
from ansible_collections.bitrix.bxenv.plugins.module_utils._order_to_host import PoolTarget, add_finished, pool_key_file
from ansible_collections.bitrix.bxenv.plugins.module_utils._provider import ErrorReply

ORDER, WAIT, POOL_ADD = 'order', 'wait', 'pool add'
# How much the wait between two status calls of one order may grow: up to
# BACKOFF_CAP times poll_interval, each wait drawn within +-JITTER of it.
BACKOFF, BACKOFF_CAP, JITTER = 1.5, 2, 0.1
_MASKED_VARS = ('host_pass', 'host_id')
# An entry's states, in the order the summary line names them.
STATES = ('added', 'in_pool', 'would_add', 'not_ordered', 'pending', 'unknown_outcome', 'failed')


class Entry(object):
    """One server of the list and what this run did with it."""

    def __init__(self, spec):
        self.name = spec['name']
        self.provider = spec['provider']
        self.config_id = spec['config_id']
        self.given_task_id = spec.get('task_id')
        self.hostname = spec.get('hostname')
        self.task_id = None
        self.action = None  # ordered, adopted, existing, would_order
        self.state = None  # pending, in_pool, added, would_add, failed, unknown_outcome
        self.reply = None  # the last status reply
        self.host = None
        self.error = None
        self.uncertain = False
        self.elapsed = None
        self.polls = 0
        self.due = None
        self.forget = False
        self.refused = False

    def fail(self, stage, message, state='failed'):
        self.state = state
        self.error = {'stage': stage, 'message': message}

    def result(self):
        return {
            'name': self.name, 'provider': self.provider, 'config_id': self.config_id, 'task_id': self.task_id,
            'action': self.action, 'state': self.state, 'host': self.host, 'error': self.error,
            'uncertain': self.uncertain, 'elapsed': self.elapsed,
        }


def check_servers(servers, forget_pending=()):
    """The entries of ``servers`` (dicts), every value checked; raises BxError
    for a bad value, a name listed twice for one provider, or a
    ``forget_pending`` name the list does not hold."""
    entries, seen = [], set()
    for number, spec in enumerate(servers, 1):
        for key in ('name', 'provider', 'config_id'):
            if spec.get(key) in (None, ''):
                raise BxError('bxenv: servers entry %d has no %s' % (number, key))
        check_id(spec['name'], 'name')
        check_provider_name(spec['provider'])
        check_id(spec['config_id'], 'config_id')
        if spec.get('task_id') is not None:
            check_id(spec['task_id'], 'task_id')
        if spec.get('hostname') is not None:
            check_hostname(spec['hostname'])
        key = (spec['provider'], spec['name'])
        if key in seen:
            raise BxError('bxenv: servers lists name=%s of provider %s twice; a name is one order' % key[::-1])
        seen.add(key)
        entries.append(Entry(spec))
    unknown = sorted(set(forget_pending) - set(entry.name for entry in entries))
    if unknown:
        raise BxError('bxenv: forget_pending names %s, which servers does not list' % ', '.join(unknown))
    for entry in entries:
        entry.forget = entry.name in forget_pending
    return entries


# How a run adds servers: the pool folder, ``copy_key`` as
# ``_order_to_host.order_to_host`` takes it, the key pair (None: the pool's),
# the DNS resolver (None: the system's) and ``retry_failed``.
Adding = collections.namedtuple('Adding', 'pool_dir copy_key key_files resolver retry_failed')


class Run(object):
    """One ``bx_pool`` run over ``providers``, adding servers as ``adding``
    says, with ``workers`` provider calls at once; ``clock`` and ``rng`` are
    the real ones but in tests."""

    def __init__(self, providers, adding, workers, clock, rng):
        self.providers, self.adding, self.workers, self.clock = providers, adding, workers, clock
        self.rng = rng or random.Random()
        self.records = {}
        self.started = clock()
        self.warnings = []

    # ------------------------------------------------------------ the plan

    def probe(self, entries):
        """Probe each provider once; an entry whose provider cannot order fails."""
        names = sorted(set(entry.provider for entry in entries))

        def probe(name):
            try:
                return _queries.usable_record(self.providers, name, 'order', _messages.ORDER)
            except BxError as exc:
                return exc
        self.records = dict(zip(names, _queries.parallel_map(probe, names, self.workers)))
        for entry in entries:
            record = self.records[entry.provider]
            if isinstance(record, BxError):
                entry.fail(ORDER, record.message)

    def plan(self, entry, check_mode=False):
        """Decide, reading only (``help`` and ``order_status``), what ``entry`` needs.

        A marker of a run that died mid-order is only seen here in check
        mode: a real run meets it under the label's lock (``_orders.place``),
        where it cannot be a run that is still ordering.
        """
        if entry.state is not None:
            return
        record = self.records[entry.provider]
        holder = record['files']['holder']
        try:
            labelled = _orders.read_label(holder, entry.name)
        except BxError as exc:
            entry.fail(ORDER, exc.message)
            return
        if entry.given_task_id is not None and labelled not in (None, entry.given_task_id):
            entry.fail(ORDER, 'bxenv: name=%s already names task_id=%s of provider %s, not task_id=%s; rename '
                              'the entry to take that order over' % (entry.name, labelled, entry.provider,
                                                                     entry.given_task_id))
            return
        if labelled is not None:
            self._existing(entry, holder, labelled)
        elif entry.given_task_id is not None:
            if _tasks.read_task_file(holder, entry.given_task_id) is None:
                entry.fail(ORDER, _messages.TO_HOST_NOT_SAVED % entry.given_task_id)
                return
            entry.action, entry.task_id = 'adopted', entry.given_task_id
        elif check_mode and _orders.has_marker(holder, entry.name) and not (
                entry.forget or self.providers.offers(record, 'order_token')):
            entry.fail(ORDER, 'bxenv: a run ordering name=%s (config_id=%s) of provider %s stopped after calling '
                              'its order (or is ordering it now), so the provider may have placed that order: if it '
                              'did, take it over with task_id in this entry; if it did not, list the name in '
                              'forget_pending to order again' % (entry.name, entry.config_id, entry.provider),
                       state='unknown_outcome')
            entry.uncertain = True
            return
        else:
            entry.action = 'would_order'
            return
        self.status(entry)

    def _existing(self, entry, holder, task_id):
        entry.action, entry.task_id = 'existing', task_id
        ordered = _orders.read_label_config(holder, entry.name)
        if ordered is not None and ordered != entry.config_id:
            entry.fail(ORDER, 'bxenv: name=%s names task_id=%s of provider %s, ordered with config_id=%s, not '
                              '%s; nothing was ordered: rename the entry to order a server of config_id=%s'
                              % (entry.name, task_id, entry.provider, ordered, entry.config_id, entry.config_id))

    # ------------------------------------------------------------ status and add

    def status(self, entry):
        """One ``order_status`` of ``entry``'s order: ``pending``, ``finished``
        (to add), ``in_pool`` (its task file says it was added) or failed."""
        if entry.error is not None:
            return
        record = self.records[entry.provider]
        entry.polls += 1
        try:
            entry.reply = _queries.checked_status(self.providers, record, entry.task_id, _messages.ORDER_STATUS)
            content = _tasks.read_task_file(record['files']['holder'], entry.task_id)
        except BxError as exc:
            entry.fail(WAIT, exc.message)
            return
        status = entry.reply.get('status')
        text = status if isinstance(status, str) else str(status)
        if text == 'finished' and content is not None and _tasks.task_state(content) == 'complete':
            self.add(entry, check_mode=True)  # only to find the host: it is never added again
        elif text in _queries.FAILED_STATUSES:
            message = entry.reply.get('message') or entry.reply.get('error_message') or 'no message from the provider'
            entry.fail(WAIT, 'bxenv: order task_id=%s of provider %s %s: %s; a new server needs a new name'
                             % (entry.task_id, entry.provider, text, message))
        elif text == 'finished':
            entry.state = 'finished'
        elif text.isdigit():  # docs/protocol.md, difference 6: a number is no status
            entry.fail(WAIT, _messages.UNKNOWN_STATUS % (text, entry.provider))
        else:
            entry.state = 'pending'

    def add(self, entry, check_mode=False):
        """Add a finished order's server (``_order_to_host.add_finished``)."""
        adding = self.adding
        target = PoolTarget(adding.pool_dir, hostname=entry.hostname, key_files=adding.key_files,
                            resolver=adding.resolver)
        try:
            added = add_finished(self.providers, self.records[entry.provider], entry.task_id, entry.reply, target,
                                 adding.copy_key, retry_failed=adding.retry_failed, check_mode=check_mode)
        except BxError as exc:
            entry.fail(POOL_ADD, exc.message)
            return None
        done = 'would_add' if check_mode else 'added'
        entry.state = {'complete': 'in_pool', 'pending': 'pending'}.get(added.state, done)
        if added.host is not None:
            entry.host = {'name': added.host['name'], 'address': added.host['address']}
        entry.elapsed = round(self.clock() - self.started, 2)
        return added

    # ------------------------------------------------------------ ordering

    def order(self, entry):
        """Place ``entry``'s order (or find the one another run placed)."""
        record = self.records[entry.provider]
        try:
            if entry.action == 'adopted':
                self._adopt(entry, record)
                return True
            entry.action = None
            outcome = _orders.place(self.providers, entry.provider, entry.config_id, label=entry.name,
                                    warnings=self.warnings, forget=entry.forget, record=record)
        except _orders.UnknownOutcome as exc:
            entry.fail(ORDER, exc.message, state='unknown_outcome')
            entry.uncertain = True
            return False
        except BxError as exc:
            entry.fail(ORDER, exc.message)
            details = getattr(exc, 'details', {})
            entry.uncertain = bool(details.get('uncertain'))
            entry.task_id = details.get('task_id')
            # The provider refused, or may have ordered: slow start stops there.
            entry.refused = isinstance(exc, ErrorReply) or entry.uncertain
            return False
        entry.task_id = outcome.task_id
        if outcome.changed:
            entry.action, entry.state = 'ordered', 'pending'
        else:  # another run placed it meanwhile
            entry.action = 'existing'
            entry.reply = outcome.order_status
            self.status(entry)
        return True

    def _adopt(self, entry, record):
        """Label the order ``task_id`` names with ``entry``'s name (under the label's lock)."""
        holder = record['files']['holder']
        with _orders.order_lock(self.providers, record, entry.name):
            labelled = _orders.read_label(holder, entry.name)
            if labelled not in (None, entry.task_id):
                raise BxError('bxenv: name=%s was given to task_id=%s meanwhile' % (entry.name, labelled))
            _orders.write_label(holder, entry.name, entry.task_id, entry.config_id)
        self.status(entry)

    def order_all(self, entries, calls, slow_start, on_placed):
        """Order ``entries`` on the ``calls`` pool; per provider and
        configuration one first, then batches that double, when ``slow_start``."""
        groups = {}
        for entry in entries:
            groups.setdefault((entry.provider, entry.config_id), []).append(entry)

        def group(members):
            try:
                ordered(members)
            except Exception as exc:  # pylint: disable=broad-except
                # A bug must not leave entries without a state: each says what happened.
                for entry in members:
                    if entry.state is None and entry.error is None:
                        entry.fail(ORDER, 'bxenv: ordering stopped: %s: %s' % (type(exc).__name__, exc))
                        entry.uncertain = True

        def ordered(members):
            size = 1 if slow_start else len(members)
            while members:
                batch, members = members[:size], members[size:]
                accepted = list(calls.map(self.order, batch))
                for entry, ok in zip(batch, accepted):
                    if ok:
                        on_placed(entry)
                refused = [entry for entry in batch if entry.refused]
                if slow_start and refused and not any(accepted):
                    for entry in members:
                        entry.fail(ORDER, 'bxenv: not ordered: provider %s did not accept name=%s of config_id=%s '
                                          'just before: %s' % (entry.provider, refused[0].name, entry.config_id,
                                                               refused[0].error['message']))
                    return
                size *= 2
        threads = [threading.Thread(target=group, args=(members,)) for members in groups.values()]
        for thread in threads:
            thread.start()
        return threads


def _backoff(base, polls, rng):
    """The wait before status call ``polls + 1`` of one order."""
    return min(base * BACKOFF ** polls, base * BACKOFF_CAP) * rng.uniform(1 - JITTER, 1 + JITTER)


def converge(providers, servers, pool_dir, wait=True, wait_timeout=_orders.DEFAULT_WAIT_TIMEOUT,
             poll_interval=_orders.DEFAULT_POLL_INTERVAL, workers=8, slow_start=True, forget_pending=(),
             ssh=None, key_file=None, retry_failed=False, check_mode=False, copy_key=None, resolver=None,
             clock=time.monotonic, sleep=time.sleep, rng=None):
    """Bring the pool to the list ``servers``; returns the module's result (see ``result``).

    The key is copied with ``_ssh.key_copier`` (``ssh``: its options) unless
    ``copy_key`` is given; ``key_file`` is the private key to copy instead of
    the pool's. ``resolver``, ``clock``, ``sleep`` and ``rng`` are for tests.
    """
    entries = check_servers(servers, forget_pending)
    copy_key = copy_key or _ssh.key_copier(providers.run, pool_dir, **(ssh or {}))
    key_files = (key_file, key_file + '.pub') if key_file else None
    run = Run(providers, Adding(pool_dir, copy_key, key_files, resolver, retry_failed), workers, clock, rng)
    before = pool_files(pool_dir)
    run.probe(entries)
    _queries.parallel_map(lambda entry: run.plan(entry, check_mode), entries, workers)
    plan = [{'name': e.name, 'provider': e.provider, 'action': _planned(e)} for e in entries if _planned(e)]
    unlisted = _unlisted(run, entries)
    if check_mode:
        for entry in entries:
            if entry.state == 'finished':
                run.add(entry, check_mode=True)
            elif entry.action == 'would_order':
                entry.state = 'not_ordered'
        return result(run, entries, plan, unlisted, before, _predicted(before, entries), check_mode=True)
    deadline = run.started + wait_timeout
    with ThreadPoolExecutor(max_workers=workers) as calls, ThreadPoolExecutor(max_workers=workers) as adds:
        _settle(run, entries, calls, adds, wait, deadline, poll_interval, slow_start, clock, sleep)
    return result(run, entries, plan, unlisted, before, pool_files(pool_dir))


def _settle(run, entries, calls, adds, wait, deadline, poll_interval, slow_start, clock, sleep):
    """Order, poll and add until every entry is settled or the deadline passed."""
    lock = threading.Lock()
    pending, adding = [], []

    def placed(entry):
        with lock:
            entry.due = clock() + (_backoff(poll_interval, 0, run.rng) if entry.state == 'pending' else 0)
            pending.append(entry)

    for entry in entries:
        if entry.action == 'existing' and entry.state in ('finished', 'pending'):
            placed(entry)
    to_order = [e for e in entries if e.action in ('would_order', 'adopted') and e.error is None]
    ordering = run.order_all(to_order, calls, slow_start, placed)
    while True:
        with lock:
            ready = [e for e in pending if e.state == 'finished']
            for entry in ready:
                pending.remove(entry)
                adding.append(adds.submit(run.add, entry))
            waiting = [e for e in pending if e.state == 'pending']
        orders_running = any(thread.is_alive() for thread in ordering)
        now = clock()
        if not waiting and not orders_running:
            break
        if not wait or now >= deadline:
            if not orders_running:
                break
            sleep(0.05)  # an order call in flight is always seen to its end
            continue
        due = [e for e in waiting if e.due <= now]
        if due:
            list(calls.map(run.status, due))
            for entry in due:
                entry.due = clock() + _backoff(poll_interval, entry.polls, run.rng)
            continue
        sleep(max(0.01, min([e.due for e in waiting] + [deadline]) - now) if not orders_running else 0.05)
    for thread in ordering:
        thread.join()
    for future in adding:
        future.result()
    for entry in pending:
        if entry.state == 'pending':
            entry.elapsed = round(clock() - run.started, 2)
            if wait:
                entry.fail(WAIT, 'bxenv: order task_id=%s of provider %s is still %s after %g s (wait_timeout): '
                                 'the order is not failed; run again to go on waiting (nothing is ordered again)'
                                 % (entry.task_id, entry.provider, (entry.reply or {}).get('status', 'in progress'),
                                    round(clock() - run.started, 2)), state='pending')


def _planned(entry):
    """The change the plan holds for ``entry`` (None: none)."""
    if entry.action in ('would_order', 'adopted'):
        return 'order' if entry.action == 'would_order' else 'adopt'
    if entry.state == 'finished':
        return 'add'
    return None


def _unlisted(run, entries):
    """Labelled orders of the listed providers that the list does not name."""
    listed = set((e.provider, e.name) for e in entries)
    found = []
    for name, record in sorted(run.records.items()):
        if isinstance(record, BxError):
            continue
        for label, task_id in sorted(_orders.labels(record['files']['holder']).items()):
            if (name, label) not in listed:
                found.append({'provider': name, 'name': label, 'task_id': task_id})
    return found


def pool_files(pool_dir):
    """``{'hosts': text, 'host_vars': {name: text}}`` of the pool (secrets masked), for the diff."""
    try:
        pool = _pool.read_pool(pool_dir)
    except BxError:
        return {'hosts': '', 'host_vars': {}}
    host_vars = {}
    for name in pool.hosts:
        values = _pool.load_yaml_file(pool.host_vars_file(name)) or {}
        host_vars[name] = _masked_vars(values)
    return {'hosts': pool.text, 'host_vars': host_vars}


def _masked_vars(values):
    masked = dict((key, '********' if key in _MASKED_VARS else value) for key, value in values.items())
    return _pool.render_host_vars(masked)


def _predicted(before, entries):
    """The pool files after the adds check mode found, for its diff."""
    hosts = before['hosts']
    host_vars = dict(before['host_vars'])
    for entry in entries:
        if entry.state == 'would_add' and entry.host:
            with contextlib.suppress(BxError):
                hosts = _pool.insert_host_line(hosts, _pool.host_line(entry.host['name'], entry.host['address']))
            host_vars[entry.host['name']] = '(new host_vars/%s)\n' % entry.host['name']
    return {'hosts': hosts, 'host_vars': host_vars}


def _diff(before, after):
    """Ansible's list of diffs: the hosts file, then each host_vars file that changed."""
    diffs = [{'before_header': 'hosts', 'after_header': 'hosts', 'before': before['hosts'], 'after': after['hosts']}]
    for name in sorted(set(before['host_vars']) | set(after['host_vars'])):
        old, new = before['host_vars'].get(name, ''), after['host_vars'].get(name, '')
        if old != new:
            diffs.append({'before_header': 'host_vars/' + name, 'after_header': 'host_vars/' + name,
                          'before': old, 'after': new})
    return diffs


def result(run, entries, plan, unlisted, before, after, check_mode=False):
    """The module's result: ``servers``, ``plan``, ``unlisted``, ``summary``,
    ``failed_names``, ``changed``, ``diff``, ``warnings``, and the pool's
    ``pool_dir``, ``setup_playbook``, ``known_hosts_file``, ``pool_key_file``."""
    for entry in entries:
        if entry.elapsed is None:
            entry.elapsed = round(run.clock() - run.started, 2)
    servers = [entry.result() for entry in entries]
    summary = {}
    for key in ('state', 'action'):
        for entry in servers:
            if entry[key]:
                summary[entry[key]] = summary.get(entry[key], 0) + 1
    summary['total'] = len(servers)
    failed = [e for e in entries if e.error is not None]
    if check_mode:
        changed = bool(plan)
    else:
        changed = any(e.action in ('ordered', 'adopted') or e.state == 'added' for e in entries)
    counts = ', '.join('%d %s' % (summary[state], state) for state in STATES if summary.get(state))
    if failed:
        msg = '%d of %d servers failed: %s' % (len(failed), len(entries), '; '.join(
            '%s (%s): %s' % (e.name, e.error['stage'], e.error['message']) for e in failed))
    else:
        msg = '%d servers: %s' % (len(entries), counts or 'none listed')
    adding = run.adding
    return {
        'changed': changed, 'failed': bool(failed), 'msg': msg, 'servers': servers, 'plan': plan,
        'unlisted': unlisted, 'summary': summary, 'failed_names': [e.name for e in failed],
        'diff': _diff(before, after), 'warnings': list(run.warnings),
        # what the next step (the pool's set-up playbook for the new hosts) needs
        'pool_dir': adding.pool_dir, 'setup_playbook': _pool.setup_playbook(adding.pool_dir),
        'known_hosts_file': _ssh.known_hosts_path(adding.pool_dir),
        'pool_key_file': pool_key_file(PoolTarget(adding.pool_dir, key_files=adding.key_files)),
    }
