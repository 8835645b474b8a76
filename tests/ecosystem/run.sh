#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Ecosystem checks (build + install, execution environment, ansible-runner)
# under pytest from .cache/venv-eco, built from tests/requirements-ecosystem.txt
# (ansible-core 2.19 with ansible-builder and ansible-runner). The tests also
# use the pinned venvs of every ansible-core line (.cache/venv-<core>, made by
# tests/ci/setup.sh), and fail when one is missing.
# Usage: tests/ecosystem/run.sh [pytest paths and args]   (default: all)
# Writes "PASSED FAILED SKIPPED" to $CI_COUNTS_FILE for tests/ci/run-all.sh.
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/../ci/lib.sh"

ECO_PYTHON=3.11

# .cache/venv-eco, rebuilt only when the pins or the interpreter change.
ensure_eco_venv() {
    local req="$REPO/tests/requirements-ecosystem.txt" venv="$CACHE/venv-eco" py want
    py="$(find_python "$ECO_PYTHON")" || die "Python $ECO_PYTHON not found"
    want="$(sha256sum "$req" | cut -d' ' -f1) $py"
    if [ -f "$venv/.bxenv-stamp" ] && [ "$(cat "$venv/.bxenv-stamp")" = "$want" ]; then
        echo "$venv"
        return 0
    fi
    log "building $venv with $py (log: $venv.log)"
    rm -rf "$venv"
    if ! { "$py" -m venv "$venv" &&
        "$venv/bin/python" -m pip install -q -r "$req" &&
        "$venv/bin/python" -m pip check; } >"$venv.log" 2>&1; then
        grep -v "^WARNING: Location 'file:" "$venv.log" | tail -n 30 >&2
        die "building $venv failed"
    fi
    echo "$want" >"$venv/.bxenv-stamp"
    echo "$venv"
}

venv="$(ensure_eco_venv)"
[ "$#" -gt 0 ] || set -- tests/ecosystem
junit="$(mktemp --suffix=.xml)"
trap 'rm -f "$junit"' EXIT

cd "$REPO"
rc=0
BXENV_CI_CACHE="$CACHE" "$venv/bin/python" -m pytest -p no:cacheprovider -ra --durations=0 \
    --junitxml="$junit" "$@" || rc=$?

read -r passed failed skipped < <("$venv/bin/python" - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0, 0)
    sys.exit(0)
suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
tests = sum(int(s.get('tests', 0)) for s in suites)
failed = sum(int(s.get('failures', 0)) + int(s.get('errors', 0)) for s in suites)
skipped = sum(int(s.get('skipped', 0)) for s in suites)
print(tests - failed - skipped, failed, skipped)
PY
)
if [ "$((passed + failed))" -eq 0 ]; then
    log "pytest ran no test: that is a failure"
    [ "$rc" -eq 0 ] && rc=5
fi
[ -n "${CI_COUNTS_FILE:-}" ] && echo "$passed $failed $skipped" >"$CI_COUNTS_FILE"
exit "$rc"
