#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# ansible-test integration --local on one ansible-core line, every target
# under tests/integration/targets. Destructive targets are allowed (this
# runs as root on a CI machine); a run where ansible-test skipped or
# excluded targets fails instead of passing quietly.
# Usage: tests/ci/integration.sh CORE [targets or extra ansible-test args]
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

core="${1:?usage: integration.sh CORE [args]}"
shift

venv="$(ensure_venv "$core")"
copy="$(collection_copy "$core")"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

cd "$copy"
rc=0
PATH="$venv/bin:$PATH" ansible-test integration --local --allow-destructive --color no "$@" 2>&1 |
    tee "$out" || rc=$?

if grep -q 'All targets skipped' "$out"; then
    log "ansible-test skipped every target: nothing was tested"
    rc=1
fi
if grep -E 'Excluding .*tests marked "(disabled|unsupported|destructive|unstable|needs/root)"' "$out" >&2; then
    log "targets above were excluded: run them, or move them out of tests/integration/targets"
    rc=1
fi
ran="$(grep -cE '^Running .* integration test (role|script)$' "$out" || true)"
log "ansible-core $core: $ran integration target(s) ran"
if [ "$ran" -eq 0 ]; then
    log "no integration target ran"
    rc=1
fi
exit "$rc"
