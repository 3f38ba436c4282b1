"""The summary deploy/dev/fuzz.sh prints: one line per schemathesis run, from its JSON report.

    python tests/fuzz/summary.py REPORT...      (REPORT: <dir>/<service>-<identity>.json)

A run whose report is missing (schemathesis crashed, or was stopped for time) is shown as such.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = "{:<12} {:<10} {:<7} {:>6} {:>9} {:>7}  {}"


def line(report: Path) -> str:
    service, identity = report.stem.split("-", 1)
    if not report.exists():
        return COLUMNS.format(service, identity, "FAILED", "-", "-", "-", "no report: see the run's log")
    run = json.loads(report.read_text())
    cases, failures, errors = run["test_cases"], run["failures"], run["errors"]
    operations = sorted({name for failure in failures for name in failure["operations"]})
    result = "ok" if run["exit_code"] == 0 else "FAILED"
    notes = ", ".join(operations) + (f"; {len(errors)} error(s)" if errors else "")
    return COLUMNS.format(service, identity, result, cases["generated"], cases["unique_failures"],
                          f"{run['running_time']:.0f}", notes)


if __name__ == "__main__":
    print(COLUMNS.format("service", "identity", "result", "cases", "failures", "seconds", "failing operations"))
    for path in sys.argv[1:]:
        print(line(Path(path)))
