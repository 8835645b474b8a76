#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# What the repository's scripts share (sourced, not run): where things are
# built (the gitignored .cache/), Pythons, pinned venvs, Debian packages.
# tools/demo/demo.sh and tests/ci/lib.sh build on it.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BXENV_CI_CACHE:-$REPO/.cache}"
export REPO CACHE
# pip's own download cache, shared by our venvs and ansible-test's; uv's
# (it fills our venvs and nox's), which never downloads a Python.
export PIP_CACHE_DIR="$CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export UV_CACHE_DIR="$CACHE/uv" UV_PYTHON_DOWNLOADS=never

# pyenv shims on PATH misbehave (ansible-test clears PYENV_VERSION; ansible's
# interpreter discovery finds shims of versions not selected): drop them.
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.pyenv/.*shims$' | paste -sd: -)"
export PATH

# ansible-core line -> controller Python, and the main line, from the one
# list tests/cores.txt (used by the scripts sourcing this).
declare -A CORE_PYTHON=()
MAIN_CORE=""
# shellcheck disable=SC2034  # MAIN_CORE: for the scripts sourcing this
while read -r _core _python _main; do
    case "$_core" in '' | '#'*) continue ;; esac
    CORE_PYTHON[$_core]="$_python"
    [ "$_main" = main ] && MAIN_CORE="$_core"
done <"$REPO/tests/cores.txt"
unset _core _python _main
# sorted, for the scripts that loop over them
# shellcheck disable=SC2034
CORES="$(printf '%s\n' "${!CORE_PYTHON[@]}" | sort -V | tr '\n' ' ')"

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
    mkdir -p "$(dirname "$venv")"
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

# A tree holding ansible_collections/bitrix/bxenv -> the repo itself
# (for ansible-lint, antsibull and playbooks run from the working tree).
collections_path() {
    local root="$CACHE/collections" link
    link="$root/ansible_collections/bitrix/bxenv"
    mkdir -p "$(dirname "$link")"
    [ -L "$link" ] || ln -sfn "$REPO" "$link"
    echo "$root"
}
