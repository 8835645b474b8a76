#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Shared helpers for the scripts in tests/ci/ (sourced, not run), on top of
# tools/lib.sh (caches, Pythons, venvs, Debian packages).
# Everything they build lives under $CACHE (the repo's gitignored .cache/),
# so a second run is warm and a fresh clone starts cold but works offline
# from PyPI and Debian only.

# shellcheck source=tools/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/lib.sh"

# Pythons that sanity's compile/import tests use when found (module_utils
# promise managed-node Python 3.8+).
TARGET_PYTHONS=(3.8 3.9 3.10 3.11 3.12 3.13)

# A folder of pythonX.Y symlinks to real binaries, to put first on PATH.
pybin_dir() {
    local dir="$CACHE/pybin" ver py
    mkdir -p "$dir"
    for ver in "${TARGET_PYTHONS[@]}"; do
        # written only when it changes: parallel sanity runs share the folder
        if py="$(find_python "$ver")"; then
            [ "$(readlink "$dir/python$ver")" = "$py" ] || ln -sfn "$py" "$dir/python$ver"
        else
            rm -f "$dir/python$ver"
        fi
    done
    echo "$dir"
}

# .cache/venv-nox from tests/requirements-nox.txt: nox, antsibull-nox, uv.
NOX_PYTHON=3.11
ensure_nox_venv() {
    local py
    py="$(find_python "$NOX_PYTHON")" || die "Python $NOX_PYTHON not found (needed for nox; see README.md, Quick start)"
    build_venv "$CACHE/venv-nox" "$REPO/tests/requirements-nox.txt" "$py"
}

# .cache/venv-<core> from tests/requirements-ansible-<core>.txt.
ensure_venv() {
    local core="$1" req py
    req="$REPO/tests/requirements-ansible-$core.txt"
    [ -f "$req" ] || die "no $req"
    py="$(find_python "${CORE_PYTHON[$core]}")" || die "Python ${CORE_PYTHON[$core]} not found (needed for ansible-core $core; expected as ~/.pyenv/versions/X.Y.*/bin/pythonX.Y or /usr/bin/pythonX.Y: see README.md, Quick start)"
    build_venv "$CACHE/venv-$core" "$req" "$py"
}

# "PASSED FAILED SKIPPED" of the junit files given, summed, with Python $1;
# a missing or broken file counts nothing.
junit_counts() {
    local python="$1"
    shift
    "$python" - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
tests = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    for suite in ([root] if root.tag == 'testsuite' else root.findall('testsuite')):
        tests += int(suite.get('tests', 0))
        failed += int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skipped += int(suite.get('skipped', 0))
print(tests - failed - skipped, failed, skipped)
PY
}

# pytest from a venv, from the repo root, counted test by test: writes
# "PASSED FAILED SKIPPED" to $CI_COUNTS_FILE for run-all.sh. No test
# collected is a failure, not a pass. Returns pytest's status.
run_pytest() {
    local venv="$1" junit rc=0 passed failed skipped
    shift
    junit="$(mktemp --suffix=.xml)"
    (cd "$REPO" && "$venv/bin/python" -m pytest -p no:cacheprovider -ra --junitxml="$junit" "$@") || rc=$?
    read -r passed failed skipped < <(junit_counts "$venv/bin/python" "$junit")
    rm -f "$junit"
    if [ "$rc" -eq 5 ] || [ "$((passed + failed))" -eq 0 ]; then
        log "pytest ran no test: that is a failure"
        [ "$rc" -eq 0 ] && rc=5
    fi
    [ -z "${CI_COUNTS_FILE:-}" ] || echo "$passed $failed $skipped" >"$CI_COUNTS_FILE"
    return "$rc"
}

# Physical copy of the working tree at <TREES>/tree-<name>/ansible_collections/bitrix/bxenv
# (collection_copy NAME), or under any folder (collection_copy_into DIR);
# prints its path. ansible-test refuses symlinks. Tracked and untracked-but-not-ignored files
# are copied, so uncommitted work is tested too. tests/output of the copy is
# kept between runs (ansible-test's own caches live there).
# The copy must live outside any git work tree (ansible-test would take the
# outer repo's file list, where .cache/ is ignored), so it goes under /tmp.
TREES="${BXENV_CI_TREES:-${TMPDIR:-/tmp}/bxenv-ci-$(id -u)-$(printf '%s' "$REPO" | sha256sum | cut -c1-8)}"
collection_copy() { collection_copy_into "$TREES/tree-$1"; }
collection_copy_into() {
    local dst="$1/ansible_collections/bitrix/bxenv"
    mkdir -p "$dst/tests"
    find "$dst" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
    find "$dst/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
    (
        cd "$REPO" || exit 1
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do
                # deleted but not yet committed files are not copied
                [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
            done |
            tar --null -T - -cf -
    ) | tar -xf - -C "$dst"
    echo "$dst"
}

# The shellcheck binary, unpacked from its .deb into the cache (no system
# change); prints its bin dir. Without it sanity skips that test silently.
shellcheck_dir() {
    local dir="$CACHE/shellcheck"
    if [ ! -x "$dir/usr/bin/shellcheck" ]; then
        if command -v shellcheck >/dev/null; then
            dirname "$(command -v shellcheck)"
            return 0
        fi
        rm -rf "$dir" && mkdir -p "$dir/deb"
        (cd "$dir/deb" && apt-get -o APT::Sandbox::User=root download shellcheck >&2) ||
            { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && (cd "$dir/deb" && apt-get -o APT::Sandbox::User=root download shellcheck >&2); } ||
            die "cannot download the shellcheck package"
        dpkg -x "$dir"/deb/shellcheck_*.deb "$dir"
    fi
    echo "$dir/usr/bin"
}

# Stand-in for ansible-test's pip bootstrap script (its download host is
# unreachable here): installed under <home>/.ansible/test/cache for the pip
# version this ansible-test asks for.
install_get_pip() {
    local venv="$1" home="$2" pyreq ver
    pyreq="$(echo "$venv"/lib/python3.*/site-packages/ansible_test/_internal/python_requirements.py)"
    ver="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$pyreq" | head -n1)"
    [ -n "$ver" ] || die "cannot read the pip version from $pyreq"
    mkdir -p "$home/.ansible/test/cache"
    cp "$REPO/tests/ci/get_pip.py" "$home/.ansible/test/cache/get_pip_${ver//./_}.py"
}
