#!/usr/bin/env python3
"""Compares two result files of benches/perf.rs: compare.py OLD.json NEW.json

Prints, per workload (and seed) and thread count, and per library, the training time, prediction
time, peak RSS and test metric of both runs and the change (new / old), then the target verdicts of
the new run that changed. Works on the files of every version of the benchmark: before issue #22 a
file held one thread count (settings.threads a number) and no `sylvan_no_eval` run; since, every
workload entry names its own `threads` and settings.threads is a list.
"""

import json
import sys

TOOLS = ("sylvan", "sylvan_no_eval", "xgboost", "lightgbm")


def threads_of(run):
    """The thread counts of a run's settings, as a list."""
    t = run["settings"].get("threads")
    return t if isinstance(t, list) else [t]


def entries(run):
    """{(name, threads): workload entry}; an old file's entries take the run's one thread count."""
    default = threads_of(run)[0]
    return {(w["name"], w.get("threads", default)): w for w in run["workloads"]}


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    old, new = (json.load(open(p)) for p in sys.argv[1:])
    for key in ("scale", "rounds", "mode"):
        a, b = old["settings"].get(key), new["settings"].get(key)
        if a != b:
            print(f"warning: {key} differs ({a} vs {b}): the runs are not comparable")
    if not set(threads_of(old)) & set(threads_of(new)):
        print(f"warning: no thread count in common ({threads_of(old)} vs {threads_of(new)})")
    print(f"old: {sys.argv[1]} ({old.get('started')}, commit {str(old.get('git_commit'))[:10]})")
    print(f"new: {sys.argv[2]} ({new.get('started')}, commit {str(new.get('git_commit'))[:10]})")
    old_w = entries(old)
    fields = (("train_seconds", "train s"), ("predict_seconds", "predict s"), ("peak_rss_mb", "RSS MB"),
              ("metric", None))
    fmt = lambda v: "-" if v is None else f"{v:.5g}"  # noqa: E731
    for (name, threads), w in entries(new).items():
        if "skipped" in w:
            print(f"\n{name}: skipped in the new run ({w['skipped']})")
            continue
        o = old_w.get((name, threads))
        if o is None or "skipped" in o:
            print(f"\n{name} at {threads} threads: not in the old run")
            continue
        print(f"\n{name} at {threads} threads ({w['train_rows']} x {w['features']}, metric {w['metric']})")
        print(f"{'tool':<15} {'value':<10} {'old':>12} {'new':>12} {'new/old':>8}")
        for tool in TOOLS:
            a, b = o["results"].get(tool, {}), w["results"].get(tool, {})
            for key, label in fields:
                x, y = a.get(key), b.get(key)
                if x is None and y is None:
                    continue
                ratio = f"{y / x:8.3f}" if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else "       -"
                print(f"{tool:<15} {label or w['metric']:<10} {fmt(x):>12} {fmt(y):>12} {ratio}")
    old_default, new_default = threads_of(old)[0], threads_of(new)[0]

    def key(t, default):
        return (t["workload"], t.get("threads", default), t["target"])

    def verdicts(run):
        """Every target verdict of a run, from its workload entries (the top-level "targets" of
        files before issue #22 holds printed lines, not objects)."""
        return [t for w in run["workloads"] for t in w.get("targets", []) if isinstance(t, dict)]

    old_t = {key(t, old_default): t["verdict"] for t in verdicts(old)}
    changed = [t for t in verdicts(new) if old_t.get(key(t, new_default)) not in (None, t["verdict"])]
    if changed:
        print("\ntargets whose verdict changed:")
        for t in changed:
            k = key(t, new_default)
            print(f"  {t['workload']:<20} {k[1]:>2}t {t['target']:<58} {old_t[k]} -> {t['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
