#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# `ansible-test units --venv` as an unprivileged user, the way a contributor
# runs the unit tests: proof that they need no root (tests that do are in
# tests/e2e). The user (bxenv-units) is made when missing; the Python is the
# system's python3 (pyenv's live under /root, out of its reach), in a venv
# with the pinned ansible-core only: ansible-test installs the rest.
# Counts the tests from ansible-test's junit files for tests/ci/run-all.sh.
# Usage: tests/ci/units_unprivileged.sh CORE [ansible-test args]
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

core="${1:?usage: units_unprivileged.sh CORE}"
shift
user=bxenv-units
[ "$(id -u)" -eq 0 ] || die "run as root: it runs the tests as the user $user"
id "$user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$user"

# the system Python, which every user can run (not a venv or pyenv one)
python=/usr/bin/python3
[ -x "$python" ] || die "$python not found"
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
core_pin="$(grep -i '^ansible-core==' "$REPO/tests/requirements-ansible-$core.txt")"
work="${TMPDIR:-/tmp}/bxenv-units-$core"
home="$work/home"
mkdir -p "$home"
chown "$user:" "$work" "$home"

# the venv is kept between runs; it is rebuilt when the pin changes
if [ "$(cat "$home/venv/.pin" 2>/dev/null)" != "$core_pin $python" ]; then
    log "building $home/venv ($core_pin on $python)"
    rm -rf "$home/venv"
    runuser -u "$user" -- env HOME="$home" PIP_CACHE_DIR="$home/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
        sh -c "'$python' -m venv '$home/venv' && '$home/venv/bin/pip' install -q '$core_pin'"
    echo "$core_pin $python" >"$home/venv/.pin"
fi
pyreq="$(echo "$home"/venv/lib/python3.*/site-packages/ansible_test/_internal/python_requirements.py)"
pipver="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$pyreq" | head -n1)"
mkdir -p "$home/.ansible/test/cache"
cp "$REPO/tests/ci/get_pip.py" "$home/.ansible/test/cache/get_pip_${pipver//./_}.py"

# a fresh copy of the working tree, owned by the user (tests/output kept)
tree="$(collection_copy_into "$work/tree")"
rm -rf "$tree/tests/output/junit"
chown -R "$user:" "$work"

rc=0
(cd "$tree" && runuser -u "$user" -- env HOME="$home" PATH="$home/venv/bin:/usr/bin:/bin" \
    PIP_CACHE_DIR="$home/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ansible-test units --venv --python "$pyver" --color no "$@") || rc=$?

read -r passed failed skipped < <(junit_counts "$python" "$tree"/tests/output/junit/*.xml)
log "ansible-test units as $user: $passed passed, $failed failed, $skipped skipped"
[ -z "${CI_COUNTS_FILE:-}" ] || echo "$passed $failed $skipped" >"$CI_COUNTS_FILE"
if [ "$rc" -eq 0 ] && [ "$((passed + failed))" -eq 0 ]; then
    log "ansible-test units ran no test: that is a failure"
    rc=5
fi
exit "$rc"
