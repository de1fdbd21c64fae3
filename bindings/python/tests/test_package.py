"""The installed package: type information that matches the extension (issue #23)."""

import ast
import inspect
import pathlib
import re

import sylvan
from sylvan import _sylvan

PACKAGE = pathlib.Path(sylvan.__file__).parent


def stub_members():
    """``{name: set of member names}`` of the classes in ``_sylvan.pyi``, and the module's names."""
    tree = ast.parse((PACKAGE / "_sylvan.pyi").read_text())
    classes, names = {}, set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            classes[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return classes, names


def test_the_package_is_typed_and_its_stubs_match_the_extension():
    assert (PACKAGE / "py.typed").exists()
    classes, names = stub_members()
    runtime = {n for n in dir(_sylvan) if not n.startswith("__")}
    assert names == runtime
    for cls, members in classes.items():
        if cls == "SylvanError":
            continue
        have = {n for n, _ in inspect.getmembers(getattr(_sylvan, cls)) if not n.startswith("__")}
        init = {"__init__"} if "__init__" in members else set()
        assert members - init == have, cls


def documented(obj):
    """``{parameter: its line}`` of a numpydoc Parameters section (``a, b : type, default x``)."""
    out = {}
    for line in inspect.getdoc(obj).splitlines():
        m = re.match(r"^(\w+(?:, \w+)*) : (.*)$", line)
        if m:
            for name in m.group(1).split(", "):
                out[name] = m.group(2)
    return out


def test_public_functions_and_estimators_document_every_parameter_with_its_default():
    for obj in (sylvan.train, sylvan.cv, sylvan.Dataset, sylvan.SylvanRegressor, sylvan.SylvanClassifier,
                sylvan.SylvanRanker, sylvan.callback.EarlyStopping):
        doc = documented(obj)
        for name, p in inspect.signature(obj).parameters.items():
            assert name in doc, f"{obj.__name__}'s docstring lacks `{name}`"
            if p.default is not inspect.Parameter.empty and p.default not in ((), None):
                assert f"default {p.default}" in doc[name], f"{obj.__name__}.{name}: {doc[name]}"


def test_a_booster_says_what_it_is():
    import numpy as np

    X = np.random.default_rng(0).random((100, 3), dtype=np.float32)
    b = sylvan.train({"objective": "multi:softprob", "num_class": 3}, sylvan.Dataset(X, label=(X[:, 0] * 3).astype(int)),
                     4, verbose_eval=False)
    assert repr(b) == "<sylvan.Booster multi:softprob, 4 rounds, 12 trees, 3 features>"
    assert b.num_trees() == 12
