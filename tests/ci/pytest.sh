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

xdist=(-n 2)
case " $* " in *" -n "* | *" -n="* | *"no:xdist"*) xdist=() ;; esac

run_pytest "$venv" "${xdist[@]}" "$@"
