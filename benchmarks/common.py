"""What every benchmark shares: timing side by side, and one row format.

A row is {"figure", "ours", "baseline", "unit", "ratio", "goal"}; each benchmark
prints its rows as a table and writes them as JSON for benchmarks/run_all.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def median_time(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def side_by_side(ours, baseline, repeat: int) -> tuple[float, float]:
    """Median seconds of two functions run alternately, so load affects both alike."""
    ours_samples, baseline_samples = [], []
    for _ in range(repeat):
        for function, samples in ((baseline, baseline_samples), (ours, ours_samples)):
            started = time.perf_counter()
            function()
            samples.append(time.perf_counter() - started)
    return statistics.median(ours_samples), statistics.median(baseline_samples)


def row(figure: str, ours: float, baseline: float | None, unit: str, goal: str) -> dict:
    ratio = ours / baseline if baseline else None
    return {"figure": figure, "ours": ours, "baseline": baseline, "unit": unit, "ratio": ratio, "goal": goal}


def report(rows: list[dict], json_path: str | None) -> None:
    print(f"{'figure':<58} {'ours':>10} {'baseline':>10} {'ratio':>7}  goal")
    for item in rows:
        baseline = "-" if item["baseline"] is None else f"{item['baseline']:.4g}"
        ratio = "-" if item["ratio"] is None else f"{item['ratio']:.3f}"
        print(f"{item['figure']:<58} {item['ours']:>10.4g} {baseline:>10} {ratio:>7}  {item['goal']} ({item['unit']})")
    if json_path:
        with open(json_path, "w") as stream:
            json.dump(rows, stream, indent=1)


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", help="write the rows as JSON here")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of each side-by-side measurement")
    return parser.parse_args()
