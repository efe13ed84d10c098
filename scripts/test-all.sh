#!/usr/bin/env bash
# Runs every rvs test suite. Installs what the tests need when it is missing
# (Debian packages, a Python venv with os-ken and faucet): see
# scripts/install-test-deps.sh. Needs root (namespaces, taps, apt-get).
# Under CI=true, a test whose tool or privilege is missing fails instead of
# skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
# Where install-test-deps.sh put os-ken and its simple_switch_13 app; the
# controller tests must find them (and fail, not skip, if they cannot).
venv="${RVS_TEST_VENV:-/opt/rvs-test-venv}"
export OSKEN_MANAGER="$venv/bin/osken-manager"
export SIMPLE_SWITCH_13="$venv/apps/simple_switch_13.py"
export RVS_CONTROLLER_TESTS=1

export RUST_BACKTRACE=1
target="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== build"
cargo build --workspace --profile ci --bins --quiet
export RVS_BIN="$target/ci/rvs"

echo "== tests"
cargo test --workspace --profile ci
