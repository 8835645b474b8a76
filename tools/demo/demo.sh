#!/usr/bin/env bash
# Copyright: bitrix.bxenv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# `make demo`: the whole bitrix.bxenv path on this one machine, for real.
# A sandbox appliance (providers folder, pool with its own SSH key) gets the
# netns_lab provider plugin (built from examples/providers/netns_lab and
# installed with the role bitrix.bxenv.provider); the playbook
# bitrix.bxenv.add_to_pool orders a server from it, waits for it, adds it
# to the pool and runs the pool's set-up playbook on it; the playbook
# bitrix.bxenv.pool then orders three more at once from a list, adds them and
# sets them up one at a time; the pool inventory then pings all of them with
# the pool key. The lab servers (network namespaces running sshd) are
# destroyed at the end, also when a step fails.
#
# Needs root: the lab servers are network namespaces with their own sshd.
# Installs what is missing: Debian packages (openssh-server for the lab
# servers' sshd, openssh-client, iproute2, util-linux, openssl, python3-venv)
# and the pinned venv that `make test` uses (.cache/venv-<main line of tests/cores.txt>).
#
# Environment: BXENV_DEMO_DIR (sandbox, default .cache/demo),
# BXENV_DEMO_CONFIG (configuration to order, default 2).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: this needs root, and nothing was done. The demo's servers are network namespaces" >&2
    echo "demo: (ip netns, veth pairs) each running its own sshd in a private mount namespace, and" >&2
    echo "demo: missing Debian packages (openssh-server, iproute2) are installed with apt-get." >&2
    echo "demo: Run it as root: sudo make demo" >&2
    exit 1
fi

# shellcheck source=tools/lib.sh
. "$(cd "$(dirname "$0")/../.." && pwd)/tools/lib.sh"

DEMO="${BXENV_DEMO_DIR:-$CACHE/demo}"
CONFIG_ID="${BXENV_DEMO_CONFIG:-2}"
PROVIDER=netns_lab
SANDBOX="$DEMO/appliance"
PLUGIN_BIN="$SANDBOX/providers/$PROVIDER/bin/$PROVIDER"

T0=$EPOCHREALTIME
N=0
STEPS=13
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%5.1fs", b - a }'; }
step() {
    N=$((N + 1))
    printf '\n==> [%s] step %d/%d: %s\n' "$(elapsed)" "$N" "$STEPS" "$*"
}
say() { printf '    %s\n' "$*"; }

# Close the sandbox's ssh connection masters (their folder is in the layout
# sandbox.py printed), then destroy every lab server of the sandbox's provider.
destroy_lab() {
    local sock control
    control="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control_dir"])' \
        "$DEMO/layout.json" 2>/dev/null || true)"
    if [ -n "$control" ] && [ -d "$control" ]; then
        for sock in "$control"/*; do
            if [ -S "$sock" ]; then
                ssh -F /dev/null -o ControlPath="$sock" -O exit demo >/dev/null 2>&1 || true
            fi
        done
        case "$control" in "$SANDBOX"/*) ;; *) rm -rf "$control" ;; esac
    fi
    [ -x "$PLUGIN_BIN" ] && "$PLUGIN_BIN" destroy-all
}
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -x "$PLUGIN_BIN" ]; then
        printf '\n==> [%s] the demo failed (rc=%d): destroying its lab servers\n' "$(elapsed)" "$rc"
        destroy_lab || true
    fi
}
trap on_exit EXIT

step "Debian packages: openssh-server (the lab servers' sshd), openssh-client, iproute2, util-linux, openssl, python3-venv"
APT_PACKAGES+=(python3-venv)
ensure_apt_packages
say "all installed"

step "Python venv with ansible-core"
mkdir -p "$CACHE"
REQ="$REPO/tests/requirements-ansible-$MAIN_CORE.txt"
if PY_CI="$(find_python "${CORE_PYTHON[$MAIN_CORE]}")" && venv_current "$CACHE/venv-$MAIN_CORE" "$REQ" "$PY_CI"; then
    VENV="$CACHE/venv-$MAIN_CORE"
    say "using make test's venv $VENV"
else
    # Only what the demo needs, at make test's pinned versions (the full
    # test venv, with the linters, takes much longer to build).
    VENV="$CACHE/venv-demo"
    if [ ! -x "$VENV/bin/ansible-playbook" ]; then
        PY="$(find_python "${CORE_PYTHON[$MAIN_CORE]}" || command -v python3)"
        say "building $VENV with $("$PY" --version): ansible-core, jsonschema, PyYAML from PyPI (log: $VENV.log)"
        rm -rf "$VENV"
        "$PY" -m venv "$VENV" >"$VENV.log" 2>&1
        if ! "$VENV/bin/python" -m pip install -q -c "$REQ" ansible-core jsonschema PyYAML >>"$VENV.log" 2>&1; then
            say "the pinned versions do not install with this Python: taking ansible-core<2.20"
            "$VENV/bin/python" -m pip install -q 'ansible-core>=2.16,<2.20' jsonschema PyYAML >>"$VENV.log" 2>&1 ||
                { tail -n 20 "$VENV.log" >&2; die "cannot build $VENV"; }
        fi
    fi
fi
[ -x "$VENV/bin/ansible-playbook" ] || die "no ansible-playbook in $VENV"
export PATH="$VENV/bin:$PATH"
say "$(ansible --version 2>/dev/null | sed -n 1p), $(python --version)"

step "Sandbox appliance in $SANDBOX (providers folder, pool with its own SSH key)"
if [ -x "$PLUGIN_BIN" ]; then
    say "a previous demo left $SANDBOX: destroying its lab servers first"
    destroy_lab >/dev/null
fi
rm -rf "$SANDBOX"
mkdir -p "$DEMO"
python3 "$REPO/tools/demo/sandbox.py" "$SANDBOX" >"$DEMO/layout.json"
POOL="$SANDBOX/pool"
PROVIDERS="$SANDBOX/providers"
# The key copy logs here, not in the appliance's /opt/webdir/logs.
SSH_LOG="$SANDBOX/logs/ssh_keycopy.log"
export ANSIBLE_CONFIG="$POOL/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH="$(collections_path)"
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCAL_TEMP="$DEMO/ansible-tmp"
say "pool: $POOL (key id_pool, ansible.cfg, hosts with the master server1, common.yml)"
say "providers: $PROVIDERS"
say "key copy log: $SSH_LOG"

step "Build the $PROVIDER provider plugin archive from examples/providers/$PROVIDER"
ARCHIVE="$(python3 "$REPO/tools/demo/build_lab_provider.py" --output "$DEMO/$PROVIDER.tar.gz")"
say "$ARCHIVE ($(tar -tzf "$ARCHIVE" | grep -vc '/$') files)"

step "Install the plugin with the role bitrix.bxenv.provider"
ansible-playbook "$REPO/tools/demo/install_provider.yml" \
    -e bx_provider_archive="$ARCHIVE" -e bx_providers_dir="$PROVIDERS"

step "What the provider sells (bin/$PROVIDER configs)"
"$PLUGIN_BIN" configs | python3 -c '
import json, sys
for c in json.load(sys.stdin)["configurations"]:
    print("    config_id=%s  %s" % (c["id"], c["descr"]))'

step "Order config_id=$CONFIG_ID and add the server to the pool: ansible-playbook bitrix.bxenv.add_to_pool"
ansible-playbook bitrix.bxenv.add_to_pool \
    -e bx_provider="$PROVIDER" -e bx_config_id="$CONFIG_ID" -e bx_order_name=demo-web \
    -e bx_providers_dir="$PROVIDERS" -e bx_pool_dir="$POOL" -e bx_poll_interval=1 -e bx_wait_timeout=120 \
    -e bx_ssh_log_file="$SSH_LOG" |
    tee "$DEMO/add_to_pool.log"

step "Run it again: nothing to change"
ansible-playbook bitrix.bxenv.add_to_pool \
    -e bx_provider="$PROVIDER" -e bx_config_id="$CONFIG_ID" -e bx_order_name=demo-web \
    -e bx_providers_dir="$PROVIDERS" -e bx_pool_dir="$POOL" -e bx_poll_interval=1 \
    -e bx_ssh_log_file="$SSH_LOG" >"$DEMO/add_to_pool.again.log"
sed -n '/^PLAY RECAP/,$p' "$DEMO/add_to_pool.again.log" | sed 's/^/    /'
if grep -E '^[^ ].* : ok=' "$DEMO/add_to_pool.again.log" | grep -qv ' changed=0 '; then
    echo "demo: the second run changed something" >&2
    exit 1
fi
say "changed=0 on every host"

step "Order three servers at once from a list and set them up one at a time: ansible-playbook bitrix.bxenv.pool"
printf 'bx_pool_servers:\n' >"$DEMO/pool_servers.yml"
for n in 1 2 3; do
    printf '  - {name: demo-pool-%s, provider: %s, config_id: "%s"}\n' "$n" "$PROVIDER" "$CONFIG_ID" >>"$DEMO/pool_servers.yml"
done
sed 's/^/    /' "$DEMO/pool_servers.yml"
ansible-playbook bitrix.bxenv.pool -e @"$DEMO/pool_servers.yml" \
    -e bx_providers_dir="$PROVIDERS" -e bx_pool_dir="$POOL" -e bx_poll_interval=1 -e bx_wait_timeout=180 \
    -e bx_ssh_log_file="$SSH_LOG" |
    tee "$DEMO/pool.log"

step "The pool inventory $POOL/hosts"
sed 's/^/    /' "$POOL/hosts"

step "Ping every pool member through the pool inventory, with the pool key"
ansible -i "$POOL/hosts" bitrix-hosts -m ansible.builtin.ping

step "The order's status (bitrix.bxenv.bx_provider_info query=orders_list)"
ansible localhost -m bitrix.bxenv.bx_provider_info -a "query=orders_list provider=$PROVIDER providers_dir=$PROVIDERS" |
    python3 -c '
import json, sys
text = sys.stdin.read()
result = json.loads(text[text.index("{"):])
for provider, orders in sorted(result["params"]["provider_order_list"].items()):
    for task_id, order in sorted((orders or {}).items()):
        print("    %s order %s: %s" % (provider, task_id, order["status"]))'

step "Destroy the lab servers ($PROVIDER destroy-all)"
NAMESPACES="$("$PLUGIN_BIN" list | python3 -c '
import json, sys
print(" ".join(sorted(set(o["namespace"] for o in json.load(sys.stdin)["orders"] if o["namespace"]))))')"
destroy_lab | sed 's/^/    /'
left=""
for ns in $NAMESPACES; do
    ip netns list | grep -qw "$ns" && left="$left $ns"
done
if [ -n "$left" ]; then
    echo "demo: namespaces still there after destroy-all:$left" >&2
    exit 1
fi
say "ip netns list: none of the demo's namespaces (${NAMESPACES:-none}) is left"

printf '\n==> [%s] demo finished: one ordered server, then three at once, were added to the pool, set up and pinged, then destroyed\n' "$(elapsed)"
