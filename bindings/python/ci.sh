#!/usr/bin/env bash
# Builds the `sylvan` Python package (maturin, release; one abi3 wheel) into the virtual environment
# $SYLVAN_VENV (default /var/tmp/sylvan-venv), installs it as a user does into fresh venvs
# (tests/fresh_install.sh: the wheel, and `pip install ./bindings/python`), builds the `sylvan`
# CLI for the CLI-agreement tests (unless $SYLVAN_CLI already names a binary), and runs the
# package's pytest suite. Honours
# $CARGO_TARGET_DIR (default: the workspace's target/). Exits non-zero on any failure.
# SYLVAN_REQUIRE_REFERENCE=1 in the environment (CI sets it) reaches pytest unchanged, and
# tests/conftest.py then turns every skipped test into a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SYLVAN_VENV:-/var/tmp/sylvan-venv}"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
    echo "ci.sh: no Python at $py (set SYLVAN_VENV to a venv with maturin, numpy, scikit-learn, pytest)" >&2
    exit 2
fi
if [ -x "$venv/bin/maturin" ]; then
    maturin=("$venv/bin/maturin")
else
    maturin=("$py" -m maturin)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT

echo "== building the wheel (maturin, release)"
"${maturin[@]}" build --release --quiet --manifest-path "$here/Cargo.toml" --interpreter "$py" --out "$wheels"
"$py" -m pip install --quiet --force-reinstall --no-deps "$wheels"/sylvan-*.whl

echo "== installing as a user does: the wheel, and pip install ./bindings/python, into fresh venvs"
bash "$here/tests/fresh_install.sh" "$(ls "$wheels"/sylvan-*.whl)" "$py"

if [ -z "${SYLVAN_CLI:-}" ]; then
    echo "== building the sylvan CLI (for the CLI-agreement tests)"
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p sylvan --bin sylvan
    export SYLVAN_CLI="$CARGO_TARGET_DIR/release/sylvan"
fi

echo "== pytest (SYLVAN_REQUIRE_REFERENCE=${SYLVAN_REQUIRE_REFERENCE:-unset})"
cd "$here"
"$py" -m pytest -q -p no:cacheprovider tests "$@"
