#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Linters run on the working tree from the ansible-core 2.19 venv.
# Usage: tests/ci/lint.sh ansible-lint|antsibull-docs|antsibull-changelog
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

what="${1:?usage: lint.sh ansible-lint|antsibull-docs|antsibull-changelog}"
venv="$(ensure_venv 2.19)"
colls="$(collections_path)"
export PATH="$venv/bin:$PATH"
# The collection's own FQCNs resolve through this tree (offline, no Galaxy).
export ANSIBLE_COLLECTIONS_PATH="$colls"
export ANSIBLE_LOCAL_TEMP="$CACHE/ansible-tmp"
export NO_COLOR=1
cd "$REPO"

case "$what" in
ansible-lint)
    # settings (production profile, offline, excludes) are in .ansible-lint
    ansible-lint --version
    exec ansible-lint --profile production --offline --nocolor
    ;;
antsibull-docs)
    # run from the ansible_collections/ tree so ansible-doc finds the collection
    cd "$colls/ansible_collections/bitrix/bxenv"
    exec antsibull-docs lint-collection-docs --plugin-docs .
    ;;
antsibull-changelog)
    if [ ! -f changelogs/config.yaml ]; then
        log "no changelogs/config.yaml yet: step skipped"
        [ -n "${CI_COUNTS_FILE:-}" ] && echo "0 0 1" >"$CI_COUNTS_FILE"
        exit 0
    fi
    exec antsibull-changelog lint
    ;;
*)
    die "unknown linter $what"
    ;;
esac
