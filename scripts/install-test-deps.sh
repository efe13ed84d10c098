#!/usr/bin/env bash
# Installs what rvs's end-to-end interop tests need, skipping whatever is
# already there (safe to run again and again):
#   - Debian packages: Open vSwitch (reference switch, ovs-ofctl,
#     ovs-testcontroller), traffic and capture tools, python3-venv;
#   - a Python venv at $RVS_TEST_VENV (default /opt/rvs-test-venv) with
#     os-ken 3.1.x (osken-manager) and faucet 1.10.x;
#   - simple_switch_13.py taken from the os-ken 1.4.1 wheel (os-ken >= 2.0
#     no longer ships that app) into $RVS_TEST_VENV/apps/.
# Needs root for apt-get. The tests find the venv through RVS_TEST_VENV (or
# the default path).
set -euo pipefail

VENV="${RVS_TEST_VENV:-/opt/rvs-test-venv}"
PY="${RVS_TEST_PYTHON:-/usr/bin/python3}"

pkgs=(openvswitch-switch openvswitch-common openvswitch-testcontroller iperf3
      tcpdump ethtool netcat-openbsd iputils-ping iproute2 python3-venv
      # conntrack scenarios (tests/tests/ct_traffic_*.rs): packet crafting,
      # HTTP/FTP/TFTP clients and servers, the kernel conntrack tool
      python3-scapy python3-pyftpdlib wget curl lftp tftpd-hpa conntrack net-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: missing ${missing[*]} and not root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian package starts the system OVS; the tests run private instances
# and do not need it (left as it is).

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
have() { "$VENV/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
need_pip=()
case "$(have os-ken)" in 3.1.*) ;; *) need_pip+=("os-ken==3.1.*") ;; esac
case "$(have faucet)" in 1.10.*) ;; *) need_pip+=("faucet==1.10.*") ;; esac
if [ "${#need_pip[@]}" -gt 0 ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${need_pip[@]}"
fi

APP="$VENV/apps/simple_switch_13.py"
if [ ! -s "$APP" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check \
    --no-deps --only-binary=:all: -d "$tmp" "os-ken==1.4.1"
  mkdir -p "$VENV/apps"
  "$VENV/bin/python" - "$tmp" "$APP" <<'EOF'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/os_ken-1.4.1-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    data = z.read("os_ken/app/simple_switch_13.py")
with open(sys.argv[2], "wb") as f:
    f.write(data)
EOF
fi

"$VENV/bin/osken-manager" --version >/dev/null 2>&1 || {
  echo "install-test-deps: osken-manager does not run" >&2; exit 1; }
"$VENV/bin/faucet" --version >/dev/null 2>&1 || {
  echo "install-test-deps: faucet does not run" >&2; exit 1; }
echo "install-test-deps: ok (venv $VENV)"
