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

py="$(find_python "$ECO_PYTHON")" || die "Python $ECO_PYTHON not found"
venv="$(build_venv "$CACHE/venv-eco" "$REPO/tests/requirements-ecosystem.txt" "$py")"
[ "$#" -gt 0 ] || set -- tests/ecosystem
BXENV_CI_CACHE="$CACHE" run_pytest "$venv" --durations=0 "$@"
