#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# antsibull-nox's build-import-check, failing on galaxy-importer's non-fatal
# errors too: antsibull-nox only warns about them, but Galaxy shows them on
# the collection's page (a crashed ansible-lint inside the importer is one).
# Usage: tests/ci/build_import_check.sh [nox args]
set -euo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$(dirname "$0")/nox.sh" -s build-import-check "$@" 2>&1 | tee "$log"
if grep -q 'Galaxy importer emitted' "$log"; then
    echo "ci: galaxy-importer reported errors (see above)" >&2
    exit 1
fi
