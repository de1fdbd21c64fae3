#!/usr/bin/env python3
"""Compares two result files of benches/perf.rs: compare.py OLD.json NEW.json

Prints, per workload and library, the training time, prediction time, peak RSS and test metric of
both runs and the change (new / old), then the target verdicts of the new run that changed.
"""

import json
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    old, new = (json.load(open(p)) for p in sys.argv[1:])
    for key in ("scale", "threads", "rounds", "mode"):
        a, b = old["settings"].get(key), new["settings"].get(key)
        if a != b:
            print(f"warning: {key} differs ({a} vs {b}): the runs are not comparable")
    print(f"old: {sys.argv[1]} ({old.get('started')}, commit {str(old.get('git_commit'))[:10]})")
    print(f"new: {sys.argv[2]} ({new.get('started')}, commit {str(new.get('git_commit'))[:10]})")
    old_w = {w["name"]: w for w in old["workloads"]}
    fields = (("train_seconds", "train s"), ("predict_seconds", "predict s"), ("peak_rss_mb", "RSS MB"),
              ("metric", None))
    for w in new["workloads"]:
        o = old_w.get(w["name"])
        if o is None:
            print(f"\n{w['name']}: not in the old run")
            continue
        print(f"\n{w['name']} ({w['train_rows']} x {w['features']}, metric {w['metric']})")
        print(f"{'tool':<9} {'value':<10} {'old':>12} {'new':>12} {'new/old':>8}")
        for tool in ("sylvan", "xgboost", "lightgbm"):
            a, b = o["results"].get(tool, {}), w["results"].get(tool, {})
            for key, label in fields:
                x, y = a.get(key), b.get(key)
                if x is None and y is None:
                    continue
                ratio = f"{y / x:8.3f}" if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else "       -"
                fmt = lambda v: "-" if v is None else f"{v:.5g}"  # noqa: E731
                print(f"{tool:<9} {label or w['metric']:<10} {fmt(x):>12} {fmt(y):>12} {ratio}")
    old_t = {(t["workload"], t["target"]): t["verdict"] for t in old.get("targets", [])}
    changed = [t for t in new.get("targets", []) if old_t.get((t["workload"], t["target"])) not in (None, t["verdict"])]
    if changed:
        print("\ntargets whose verdict changed:")
        for t in changed:
            print(f"  {t['workload']:<11} {t['target']:<50} {old_t[(t['workload'], t['target'])]} -> {t['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
