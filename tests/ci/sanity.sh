#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# ansible-test sanity for one ansible-core line (2.16, 2.19, 2.21), with no
# ignore entries, on every Python 3.8-3.13 found, shellcheck included.
# Usage: tests/ci/sanity.sh CORE [extra ansible-test args]
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

core="${1:?usage: sanity.sh CORE}"
shift

found="$(find "$REPO/tests/sanity" -name 'ignore-*.txt' -size +0 2>/dev/null || true)"
[ -z "$found" ] || die "sanity ignore files with entries are not allowed: $found"

venv="$(ensure_venv "$core")"
copy="$(collection_copy "$core")"
# ansible-test keeps its sanity venvs under ~/.ansible/test: point HOME into
# the cache so they are reused by the next run and nothing leaks into /root.
home="$CACHE/home-$core"
install_get_pip "$venv" "$home"
pybin="$(pybin_dir)"
scbin="$(shellcheck_dir)"

log "ansible-core $core: Pythons found: $(find "$pybin" -mindepth 1 -printf "%f\n" | sort -V | tr "\n" " ")"
cd "$copy"
HOME="$home" PATH="$pybin:$scbin:$venv/bin:$PATH" \
    ansible-test sanity --venv --color no "$@"
