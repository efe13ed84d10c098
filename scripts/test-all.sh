#!/usr/bin/env bash
# Runs every rvs test suite. Installs what the tests need when it is missing.
# Needs root (namespaces, taps, apt-get). Under CI=true, a test whose tool or
# privilege is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v ovs-ofctl >/dev/null || need_pkgs+=(openvswitch-common)
command -v ovs-vswitchd >/dev/null || need_pkgs+=(openvswitch-switch)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v ethtool >/dev/null || need_pkgs+=(ethtool)
command -v ping >/dev/null || need_pkgs+=(iputils-ping)
command -v nc >/dev/null || need_pkgs+=(netcat-openbsd)
command -v tcpdump >/dev/null || need_pkgs+=(tcpdump)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}"
  else
    echo "missing packages ${need_pkgs[*]} and not root: cannot install them" >&2
  fi
fi

export RUST_BACKTRACE=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --release --quiet
cargo test --workspace --release
