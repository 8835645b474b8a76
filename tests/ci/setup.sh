#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Everything the suites need, idempotent and quick when already there:
# Debian packages (sshd for the lab hosts, iproute2 for network namespaces,
# php-cli for the web-interface client), nox's venv, then the three pinned
# controller venvs (in parallel), shellcheck.
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

ensure_apt_packages
shellcheck_dir >/dev/null

# nox's venv first: it brings uv, which then fills the others (build_venv);
# built here once, as the sanity step starts three nox runs at the same time
ensure_nox_venv >/dev/null
pids=()
for core in "${!CORE_PYTHON[@]}"; do
    ensure_venv "$core" >/dev/null &
    pids+=("$!")
done
rc=0
for pid in "${pids[@]}"; do
    wait "$pid" || rc=1
done
[ "$rc" -eq 0 ] || die "a venv could not be built"

for core in $(printf '%s\n' "${!CORE_PYTHON[@]}" | sort -V); do
    log "venv-$core: $("$CACHE/venv-$core/bin/python" --version), $("$CACHE/venv-$core/bin/ansible" --version | sed -n 1p)"
done
log "Pythons for sanity: $(find "$(pybin_dir)" -mindepth 1 -printf '%f\n' | sort -V | tr '\n' ' ')"
