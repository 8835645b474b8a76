#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Run several commands at once, then print each one's output in turn.
# Usage: tests/ci/parallel.sh "CMD ARGS" "CMD ARGS" ...   (each is split on spaces)
# Cold sanity runs spend most of their time waiting on pip, so running the
# ansible-core lines side by side roughly halves the wall time on 2 cores.
# Writes "PASSED FAILED" (commands, not tests) to $CI_COUNTS_FILE.
set -uo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "usage: parallel.sh 'CMD ARGS' ..."
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

pids=()
for i in $(seq 1 "$#"); do
    # word splitting of the command string is intended
    # shellcheck disable=SC2086
    (set -- ${!i}; exec "$@") </dev/null >"$dir/$i.log" 2>&1 &
    pids+=("$!")
done

passed=0 failed=0 summary=()
for i in $(seq 1 "$#"); do
    rc=0
    wait "${pids[$((i - 1))]}" || rc=$?
    printf '\n----- %s (exit %s) -----\n' "${!i}" "$rc"
    cat "$dir/$i.log"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1)) summary+=("ok      ${!i}")
    else
        failed=$((failed + 1)) summary+=("FAILED  ${!i}")
    fi
done
printf '\n'
printf '%s\n' "${summary[@]}"
[ -n "${CI_COUNTS_FILE:-}" ] && echo "$passed $failed" >"$CI_COUNTS_FILE"
[ "$failed" -eq 0 ]
