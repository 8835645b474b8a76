#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Shared helpers for the scripts in tests/ci/ (sourced, not run).
# Everything they build lives under $CACHE (the repo's gitignored .cache/),
# so a second run is warm and a fresh clone starts cold but works offline
# from PyPI and Debian only.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${BXENV_CI_CACHE:-$REPO/.cache}"
export REPO CACHE
# pip's own download cache, shared by our venvs and ansible-test's; uv's
# (it fills our venvs and nox's), which never downloads a Python.
export PIP_CACHE_DIR="$CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export UV_CACHE_DIR="$CACHE/uv" UV_PYTHON_DOWNLOADS=never

# ansible-core line -> controller Python.
declare -A CORE_PYTHON=([2.16]=3.10 [2.19]=3.11 [2.21]=3.13)
# Pythons that sanity's compile/import tests use when found (module_utils
# promise managed-node Python 3.8+).
TARGET_PYTHONS=(3.8 3.9 3.10 3.11 3.12 3.13)

# pyenv shims on PATH misbehave under ansible-test (it clears PYENV_VERSION)
# and would stand in for Pythons we do not test on: drop them.
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.pyenv/.*shims$' | paste -sd: -)"
export PATH

log() { printf '%s\n' "ci: $*" >&2; }
die() { printf '%s\n' "ci: ERROR: $*" >&2; exit 1; }

# Real binary of Python X.Y (pyenv shims break under ansible-test).
find_python() {
    local ver="$1" root cand best=""
    for root in "${PYENV_ROOT:-}" "${HOME:-/root}/.pyenv" /root/.pyenv; do
        [ -n "$root" ] || continue
        for cand in "$root"/versions/"$ver".*/bin/python"$ver"; do
            [ -x "$cand" ] && best="$cand"
        done
        [ -n "$best" ] && { echo "$best"; return 0; }
    done
    for cand in /usr/local/bin/python"$ver" /usr/bin/python"$ver"; do
        [ -x "$cand" ] && { echo "$cand"; return 0; }
    done
    return 1
}

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

# Build (or reuse) a venv from a pip requirements file with one Python.
# The stamp holds the requirements' hash and the interpreter, so a changed
# pin rebuilds the venv and an unchanged one costs nothing.
venv_stamp() { printf '%s %s\n' "$(sha256sum "$1" | cut -d' ' -f1)" "$2"; }
# True when VENV was built from REQ with PY and nothing changed since.
venv_current() { [ "$(cat "$1/.bxenv-stamp" 2>/dev/null)" = "$(venv_stamp "$2" "$3")" ]; }
# The packages are installed by uv from nox's venv when that exists (a
# fraction of pip's time; the same pinned versions), else by pip; pip stays
# in the venv either way.
build_venv() {
    local venv="$1" req="$2" py="$3" install
    if venv_current "$venv" "$req" "$py"; then
        echo "$venv"
        return 0
    fi
    log "building $venv with $py (log: $venv.log)"
    rm -rf "$venv"
    install=("$venv/bin/python" -m pip install -q -r "$req")
    if [ -x "$CACHE/venv-nox/bin/uv" ] && [ "$venv" != "$CACHE/venv-nox" ]; then
        install=("$CACHE/venv-nox/bin/uv" pip install -q --python "$venv/bin/python" -r "$req")
    fi
    if ! { "$py" -m venv "$venv" &&
        "${install[@]}" &&
        "$venv/bin/python" -m pip check; } >"$venv.log" 2>&1; then
        grep -v "^WARNING: Location 'file:" "$venv.log" | tail -n 30 >&2
        die "building $venv failed"
    fi
    venv_stamp "$req" "$py" >"$venv/.bxenv-stamp"
    echo "$venv"
}

# .cache/venv-nox from tests/requirements-nox.txt: nox, antsibull-nox, uv.
NOX_PYTHON=3.11
ensure_nox_venv() {
    local py
    py="$(find_python "$NOX_PYTHON")" || die "Python $NOX_PYTHON not found (needed for nox)"
    build_venv "$CACHE/venv-nox" "$REPO/tests/requirements-nox.txt" "$py"
}

# .cache/venv-<core> from tests/requirements-ansible-<core>.txt.
ensure_venv() {
    local core="$1" req py
    req="$REPO/tests/requirements-ansible-$core.txt"
    [ -f "$req" ] || die "no $req"
    py="$(find_python "${CORE_PYTHON[$core]}")" || die "Python ${CORE_PYTHON[$core]} not found (needed for ansible-core $core; expected under ~/.pyenv/versions)"
    build_venv "$CACHE/venv-$core" "$req" "$py"
}

# pytest from a venv, from the repo root, counted test by test: writes
# "PASSED FAILED SKIPPED" to $CI_COUNTS_FILE for run-all.sh. No test
# collected is a failure, not a pass. Returns pytest's status.
run_pytest() {
    local venv="$1" junit rc=0 passed failed skipped
    shift
    junit="$(mktemp --suffix=.xml)"
    (cd "$REPO" && "$venv/bin/python" -m pytest -p no:cacheprovider -ra --junitxml="$junit" "$@") || rc=$?
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
    rm -f "$junit"
    if [ "$rc" -eq 5 ] || [ "$((passed + failed))" -eq 0 ]; then
        log "pytest ran no test: that is a failure"
        [ "$rc" -eq 0 ] && rc=5
    fi
    [ -z "${CI_COUNTS_FILE:-}" ] || echo "$passed $failed $skipped" >"$CI_COUNTS_FILE"
    return "$rc"
}

# Physical copy of the working tree at <dir>/ansible_collections/bitrix/bxenv:
# ansible-test refuses symlinks. Tracked and untracked-but-not-ignored files
# are copied, so uncommitted work is tested too. tests/output of the copy is
# kept between runs (ansible-test's own caches live there).
# The copy must live outside any git work tree (ansible-test would take the
# outer repo's file list, where .cache/ is ignored), so it goes under /tmp.
TREES="${BXENV_CI_TREES:-${TMPDIR:-/tmp}/bxenv-ci-$(id -u)-$(printf '%s' "$REPO" | sha256sum | cut -c1-8)}"
collection_copy() {
    local name="$1" dst
    dst="$TREES/tree-$name/ansible_collections/bitrix/bxenv"
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

# A tree holding ansible_collections/bitrix/bxenv -> the repo itself
# (for ansible-lint, antsibull and playbooks run from the working tree).
collections_path() {
    local root="$CACHE/collections" link
    link="$root/ansible_collections/bitrix/bxenv"
    mkdir -p "$(dirname "$link")"
    [ -L "$link" ] || ln -sfn "$REPO" "$link"
    echo "$root"
}

# Debian packages the suites need; installed only when missing. php-cli runs
# the web-interface client of tests/webui.
APT_PACKAGES=(openssh-server openssh-client iproute2 util-linux procps openssl coreutils php-cli)
ensure_apt_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages ${missing[*]} and not root"
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
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
