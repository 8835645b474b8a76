#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# `molecule test` of one scenario under extensions/molecule/, from the working
# tree, with the venv of the main ansible-core line (tests/cores.txt). Molecule's prerun is off in the
# scenarios (it would install the collection into ~/.ansible); the
# collection's FQCNs resolve through .cache/collections instead.
# Usage: tests/ci/molecule.sh SCENARIO
set -euo pipefail
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/lib.sh"

scenario="${1:?usage: molecule.sh SCENARIO}"
venv="$(ensure_venv "$MAIN_CORE")"
colls="$(collections_path)"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$colls"
export NO_COLOR=1
# Molecule's working folder (the scenarios' sandboxes) inside this checkout.
export MOLECULE_EPHEMERAL_DIRECTORY="$CACHE/molecule/$scenario"
# The sandbox appliance's Python: the oldest one the collection supports.
BXENV_APPLIANCE_PYTHON="$(find_python 3.8)" || die "Python 3.8 not found (expected under ~/.pyenv/versions)"
export BXENV_APPLIANCE_PYTHON
cd "$REPO"
molecule --version
exec molecule test -s "$scenario"
