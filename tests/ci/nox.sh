#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# nox (noxfile.py, antsibull-nox.toml) from the pinned venv .cache/venv-nox,
# in the environment this machine needs. The one place for what is particular
# to an offline CI machine with pyenv Pythons; on a laptop with internet,
# `pip install -r tests/requirements-nox.txt && nox -s NAME` runs the same
# session without any of it:
#   - Pythons: a folder of pythonX.Y symlinks to the real binaries goes first
#     on PATH (pyenv shims break under ansible-test); nox and ansible-test
#     find every version there.
#   - shellcheck on PATH (unpacked from its .deb; sanity skips it silently
#     without it).
#   - ansible-test's pip bootstrap (downloaded from a host this machine cannot
#     reach): tests/ci/get_pip.py stands in for it, for the pip version of
#     each pinned ansible-core release.
#   - the sanity sessions' packages pinned (PIP_CONSTRAINT, UV_CONSTRAINT) to
#     tests/requirements-ansible-X.Y.txt.
#   - HOME under .cache/ (one per session): ansible-test's sanity venvs are
#     kept for the next run, sessions running side by side share nothing and
#     nothing is written to the real home. pip's and uv's caches are
#     .cache/pip and .cache/uv (lib.sh); no Python is downloaded.
# Usage: tests/ci/nox.sh [nox args]   e.g. tests/ci/nox.sh -s ansible-test-sanity-2.19
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

venv="$(ensure_nox_venv)"

session=all
args=("$@")
for i in "${!args[@]}"; do
    case "${args[$i]}" in
    -s | --session | --sessions | -e) session="${args[$((i + 1))]:-all}" && break ;;
    esac
done
home="$CACHE/home-nox/$session"
mkdir -p "$home"
# the pip version ansible-test asks for is read from the pinned venv of the
# same ansible-core release (tests/ci/setup.sh builds them)
case "$session" in
ansible-test-* | all)
    for core in "${!CORE_PYTHON[@]}"; do
        install_get_pip "$(ensure_venv "$core")" "$home"
    done
    ;;
esac
# antsibull-nox installs the newest ansible-core of a line: pin it, and what
# it brings, to the versions the other suites test
case "$session" in
ansible-test-sanity-*)
    export PIP_CONSTRAINT="$REPO/tests/requirements-ansible-${session#ansible-test-sanity-}.txt"
    export UV_CONSTRAINT="$PIP_CONSTRAINT"
    ;;
esac

export HOME="$home"
pybin="$(pybin_dir)"
scbin="$(shellcheck_dir)"
export PATH="$pybin:$scbin:$venv/bin:$PATH"
export NO_COLOR=1
cd "$REPO"
exec nox --envdir "$CACHE/nox" --download-python never "$@"
