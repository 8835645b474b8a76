#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# pytest from the pinned venv of one ansible-core line, counted test by test.
# Usage: tests/ci/pytest.sh CORE PATH... [pytest args]
# Runs with -n 2 (pytest-xdist) unless the arguments say -n/-p no:xdist.
# Writes "PASSED FAILED SKIPPED" to $CI_COUNTS_FILE for tests/ci/run-all.sh.
# No test collected (pytest exit 5) is a failure, not a pass.
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

core="${1:?usage: pytest.sh CORE PATH... [pytest args]}"
shift
venv="$(ensure_venv "$core")"
junit="$(mktemp --suffix=.xml)"
trap 'rm -f "$junit"' EXIT

xdist=(-n 2)
case " $* " in *" -n "* | *" -n="* | *"no:xdist"*) xdist=() ;; esac

cd "$REPO"
rc=0
"$venv/bin/python" -m pytest -p no:cacheprovider "${xdist[@]}" -ra --junitxml="$junit" "$@" || rc=$?

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
if [ "$rc" -eq 5 ] || [ "$((passed + failed))" -eq 0 ]; then
    log "pytest ran no test: that is a failure"
    [ "$rc" -eq 0 ] && rc=5
fi
[ -n "${CI_COUNTS_FILE:-}" ] && echo "$passed $failed $skipped" >"$CI_COUNTS_FILE"
exit "$rc"
