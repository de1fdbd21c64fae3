"""pytest configuration of the sylvan package's tests: with ``SYLVAN_REQUIRE_REFERENCE=1`` (CI sets it)
a skipped test is a failed test.

A test that cannot run here (no xgboost, lightgbm, onnxruntime, pandas, polars or pyarrow, no
``SYLVAN_CLI``) normally skips, through ``pytest.importorskip``, a ``skipif`` marker or
``pytest.skip``. In CI that would hide a suite that silently stopped checking anything, so with
``SYLVAN_REQUIRE_REFERENCE=1``:

- every skipped test report (setup, call or teardown) becomes a failure that says why it skipped;
- a test module that skips at collection time (a module-level ``importorskip``) becomes an error;
- ``xfail`` keeps working (an expected failure is not a skip), and a test may still skip when it is
  marked ``@pytest.mark.allowed_skip(reason=...)``: the reason says why that skip is acceptable.
"""

import os

import pytest

REQUIRE_REFERENCE = os.environ.get("SYLVAN_REQUIRE_REFERENCE", "") not in ("", "0")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "allowed_skip(reason): this test may skip even with SYLVAN_REQUIRE_REFERENCE=1 (say why)",
    )


def pytest_report_header(config):
    mode = "skips are failures" if REQUIRE_REFERENCE else "skips allowed"
    return f"sylvan: SYLVAN_REQUIRE_REFERENCE={os.environ.get('SYLVAN_REQUIRE_REFERENCE', '')!r} ({mode})"


def _skip_reason(longrepr):
    """The message of a skip report (``longrepr`` is ``(file, line, message)`` for skips)."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"{longrepr[2]} ({longrepr[0]}:{longrepr[1]})"
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not REQUIRE_REFERENCE or not report.skipped:
        return
    if hasattr(report, "wasxfail"):  # an expected failure, reported as skipped: keep it
        return
    if item.get_closest_marker("allowed_skip") is not None:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"SYLVAN_REQUIRE_REFERENCE=1 forbids skipping, but this test skipped: {_skip_reason(report.longrepr)}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_REFERENCE and report.skipped:
        report.outcome = "failed"
        report.longrepr = (
            "SYLVAN_REQUIRE_REFERENCE=1 forbids skipping, but this module skipped at collection: "
            f"{_skip_reason(report.longrepr)}"
        )
