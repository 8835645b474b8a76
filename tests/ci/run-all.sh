#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The whole test suite as a list of named steps (`make test` runs them all).
#
#   tests/ci/run-all.sh                 every step
#   tests/ci/run-all.sh units lint      steps in these groups (or with these names)
#   tests/ci/run-all.sh --list          show the steps
#   tests/ci/run-all.sh --clean         remove the caches (.cache/, the /tmp copies)
#
# Each step runs one nox session (see noxfile.py; tests/ci/nox.sh runs nox in
# this machine's environment). Adding a suite is a session in noxfile.py and
# one line in the STEPS section below:
#   step NAME GROUPS COMMAND [ARGS...]
# COMMAND runs from the repo root with stdin from /dev/null. It passes when it
# exits 0. It counts as one test, unless it writes "PASSED FAILED [SKIPPED]"
# into the file named by $CI_COUNTS_FILE (tests/ci/pytest.sh does that, so a
# pytest suite counts its tests; tests/ci/parallel.sh counts its commands).
# One session can also be run alone, with extra arguments after --, e.g.
# tests/ci/nox.sh -s ansible-test-sanity-2.19 -- --test pylint.
# The last line printed is
# "N passed, N failed"; the exit status is non-zero if anything failed.
set -uo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

STEP_NAMES=()
STEP_GROUPS=()
STEP_CMDS=()
STEP_BG=()
step() {
    local name="$1" groups="$2"
    shift 2
    STEP_NAMES+=("$name")
    STEP_GROUPS+=("$groups")
    STEP_CMDS+=("$(printf '%q ' "$@")")
    STEP_BG+=("${BG:-}")
}
# A background step starts when it is reached and runs beside the steps that
# follow; background steps run one after the other (a queue), and their
# output, result and time are shown at the end. On 2 cores this keeps both
# busy: most steps leave one partly idle (one ansible-playbook, or waiting on
# providers that answer after a silence).
bgstep() { BG=1 step "$@"; }

# ---- STEPS (group "always": runs whatever is selected) ---------------------
# Every check is a nox session (noxfile.py, antsibull-nox.toml; `nox -l`),
# run through tests/ci/nox.sh; setup builds the pinned venvs they share.
step setup                 always       tests/ci/setup.sh
# The ansible-core lines come from tests/cores.txt (tools/lib.sh: CORES, MAIN_CORE).
sanity_runs=()
for core in $CORES; do sanity_runs+=("tests/ci/nox.sh -s ansible-test-sanity-$core"); done
step sanity                sanity       tests/ci/parallel.sh "${sanity_runs[@]}"
# From here two lanes: the steps one after the other, the background queue
# beside them. molecule and integration each keep one core busy, so they run
# side by side; the rest of the queue fills the gaps beside units and e2e.
for core in $MAIN_CORE ${CORES//$MAIN_CORE/}; do   # the main line's first: it takes longest
    bgstep "integration-$core"  integration  tests/ci/nox.sh -s "integration-$core"
done
step molecule-provider     integration  tests/ci/nox.sh -s molecule
bgstep cli                 units        tests/ci/nox.sh -s cli
bgstep webui               units        tests/ci/nox.sh -s webui
bgstep eco-build-install   ecosystem    tests/ci/nox.sh -s eco-build-install
bgstep lint                lint         tests/ci/nox.sh -s lint
bgstep ansible-lint        lint         tests/ci/nox.sh -s ansible-lint
bgstep docs-check          lint         tests/ci/nox.sh -s docs-check
bgstep antsibull-changelog lint         tests/ci/nox.sh -s changelog
bgstep docs                docs         tests/ci/nox.sh -s docs
bgstep build-import-check  ecosystem    tests/ci/build_import_check.sh
bgstep eco-ee              ecosystem    tests/ci/nox.sh -s eco-ee
bgstep eco-runner          ecosystem    tests/ci/nox.sh -s eco-runner
# the real-timing tests (answers after silences) test the collection's own
# runner, the same on every ansible-core: they run once, on the main line,
# whose units run as an unprivileged user
step "units-$MAIN_CORE"    units        tests/ci/nox.sh -s units-unprivileged
for core in $CORES; do
    [ "$core" = "$MAIN_CORE" ] || step "units-$core" units tests/ci/nox.sh -s "units-$core" -- -m "not real_timing"
done
step e2e-lab-provider      e2e          tests/ci/nox.sh -s e2e-lab-provider
step e2e-add-to-pool       e2e          tests/ci/nox.sh -s e2e-add-to-pool
step e2e-pool              e2e          tests/ci/nox.sh -s e2e-pool
step e2e-demo              e2e          tests/ci/nox.sh -s e2e-demo
step e2e-lab-units         e2e          tests/ci/nox.sh -s e2e-lab-units
# ---------------------------------------------------------------------------

if [ "${1:-}" = "--clean" ]; then
    log "removing $CACHE and $TREES"
    rm -rf "$CACHE" "$TREES"
    exit 0
fi
if [ "${1:-}" = "--list" ]; then
    for i in "${!STEP_NAMES[@]}"; do
        printf '%-24s %-12s %-3s %s\n' "${STEP_NAMES[$i]}" "${STEP_GROUPS[$i]}" "${STEP_BG[$i]:+bg}" "${STEP_CMDS[$i]}"
    done
    exit 0
fi

selected() {
    local i="$1" want
    [ "${#WANT[@]}" -eq 0 ] && return 0
    [ "${STEP_GROUPS[$i]}" = always ] && return 0
    for want in "${WANT[@]}"; do
        [ "$want" = "${STEP_NAMES[$i]}" ] && return 0
        case " ${STEP_GROUPS[$i]} " in *" $want "*) return 0 ;; esac
    done
    return 1
}

WANT=("$@")
known=" ${STEP_NAMES[*]} ${STEP_GROUPS[*]} "
for want in "${WANT[@]}"; do
    case "$known" in *" $want "*) ;; *) die "no step or group named '$want' (see --list)" ;; esac
done

LOGS="$CACHE/logs"
mkdir -p "$LOGS"
total_passed=0
total_failed=0
summary=()
start_all=$SECONDS

# Result of step $1 from its exit status $2 and time $3: adds to the totals,
# sets its summary line and prints it.
record() {
    local i="$1" rc="$2" secs="$3" name="${STEP_NAMES[$1]}" passed=0 failed=0 skipped=0 result counts
    counts="$LOGS/$name.counts"
    if [ -s "$counts" ]; then
        read -r passed failed skipped <"$counts"
        skipped="${skipped:-0}"
    elif [ "$rc" -eq 0 ]; then
        passed=1
    fi
    # a failing command fails its step even if it counted no failed test
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if [ "$rc" -ne 0 ]; then
        result=FAILED
    elif [ "$passed" -eq 0 ] && [ "$skipped" -gt 0 ]; then
        result=SKIPPED
    else
        result=ok
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary[i]="$(printf '%-24s %-8s %5ss  passed %s, failed %s, skipped %s' "$name" "$result" "$secs" "$passed" "$failed" "$skipped")"
    printf -- '--------------- %s\n' "${summary[$i]}"
}

# Step $1's command, from the repo root, told where to write its counts.
run_step() {
    cd "$REPO" || return 1
    CI_COUNTS_FILE="$LOGS/${STEP_NAMES[$1]}.counts"
    export CI_COUNTS_FILE
    eval "${STEP_CMDS[$1]}"
}

header() { printf '\n=============== %s: %s%s ===============\n' "${STEP_NAMES[$1]}" "${STEP_CMDS[$1]}" "${2:-}"; }

bg_steps=()
bg_last=""
for i in "${!STEP_NAMES[@]}"; do
    selected "$i" || continue
    name="${STEP_NAMES[$i]}"
    rm -f "$LOGS/$name.counts" "$LOGS/$name.rc" "$LOGS/$name.secs"
    if [ -n "${STEP_BG[$i]}" ]; then
        header "$i" " (in the background, shown at the end)"
        (
            # the queue: start when the background step before has ended
            while [ -n "$bg_last" ] && [ ! -e "$LOGS/$bg_last.rc" ]; do sleep 0.2; done
            t0=$SECONDS
            rc=0
            (run_step "$i") </dev/null >"$LOGS/$name.log" 2>&1 || rc=$?
            echo "$((SECONDS - t0))" >"$LOGS/$name.secs"
            echo "$rc" >"$LOGS/$name.rc"
        ) &
        bg_steps+=("$i")
        bg_last="$name"
        continue
    fi
    header "$i"
    t0=$SECONDS
    (run_step "$i") </dev/null 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    record "$i" "$rc" "$((SECONDS - t0))"
done

wait
for i in "${bg_steps[@]}"; do
    name="${STEP_NAMES[$i]}"
    header "$i"
    cat "$LOGS/$name.log"
    record "$i" "$(cat "$LOGS/$name.rc" 2>/dev/null || echo 1)" "$(cat "$LOGS/$name.secs" 2>/dev/null || echo 0)"
done

printf '\n=============== summary (%ss, logs in %s) ===============\n' "$((SECONDS - start_all))" "$LOGS"
printf '%s\n' "${summary[@]}"
printf '%s passed, %s failed\n' "$total_passed" "$total_failed"
[ "$total_failed" -eq 0 ]
