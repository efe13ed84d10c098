#!/usr/bin/env bash
# Runs every rvs test suite. Installs what the tests need when it is missing
# (Debian packages, a Python venv with os-ken and faucet): see
# scripts/install-test-deps.sh. Needs root (namespaces, taps, apt-get).
# Under CI=true, a test whose tool or privilege is missing fails instead of
# skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

export RUST_BACKTRACE=1
target="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== build"
cargo build --workspace --release --bins --quiet
export RVS_BIN="$target/release/rvs"

echo "== tests"
cargo test --workspace --release
