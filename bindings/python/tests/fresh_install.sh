#!/usr/bin/env bash
# Installs the `sylvan` Python package the two ways a user does, each into a fresh virtual
# environment that has only pip, and trains a model with it:
#   1. the wheel that `maturin build --release` made (argument 1; it must be one abi3 wheel for every
#      supported CPython), installed with `pip install WHEEL`;
#   2. `pip install ./bindings/python` from the repository (PEP 517, maturin as the build backend,
#      fetched by pip into an isolated build environment; builds with $CARGO_TARGET_DIR).
# NumPy and scikit-learn come from the package index as the package's dependencies.
# Usage: fresh_install.sh WHEEL PYTHON   (PYTHON: the interpreter to make the venvs with)
set -euo pipefail

wheel="$1"
python="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

case "$(basename "$wheel")" in
    sylvan-*-cp3*-abi3-*.whl) ;;
    *) echo "fresh_install.sh: $wheel is not an abi3 wheel" >&2; exit 1 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

smoke='
import pathlib, sys
import numpy as np, sylvan
assert pathlib.Path(sylvan.__file__).resolve().is_relative_to(pathlib.Path(sys.prefix).resolve()), sylvan.__file__
pkg = pathlib.Path(sylvan.__file__).parent
assert (pkg / "py.typed").exists() and (pkg / "_sylvan.pyi").exists(), "type information is missing"
rng = np.random.default_rng(0)
X = rng.random((400, 3), dtype=np.float32)
y = (X[:, 0] > 0.5).astype(np.float32)
d = sylvan.Dataset(X, label=y)
b = sylvan.train({"objective": "binary:logistic"}, d, 10, evals=[(d, "train")], verbose_eval=False)
p = b.predict(d)
assert ((p > 0.5) == (y > 0.5)).mean() > 0.95
clf = sylvan.SylvanClassifier(n_estimators=5).fit(X, y)
print("installed", sylvan.__file__, "accuracy", float(((p > 0.5) == (y > 0.5)).mean()), clf)
'

echo "== fresh venv: pip install $(basename "$wheel")"
"$python" -m venv "$tmp/wheel"
"$tmp/wheel/bin/python" -m pip install --disable-pip-version-check --quiet "$wheel"
(cd "$tmp" && "$tmp/wheel/bin/python" -c "$smoke")

echo "== fresh venv: pip install ./bindings/python (PEP 517, maturin backend)"
"$python" -m venv "$tmp/source"
"$tmp/source/bin/python" -m pip install --disable-pip-version-check --quiet "$here"
(cd "$tmp" && "$tmp/source/bin/python" -c "$smoke")
