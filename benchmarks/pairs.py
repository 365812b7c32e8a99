"""The same work with and without one thing, in alternating pairs: the median ratio of the times.

    from pairs import alternating_pairs   # a benchmark script's own folder is on its path

``work(folder)`` runs with the thing on (given a fresh temporary folder to write into) and
``work(None)`` without it. Each pair runs both, in alternating order, so a machine that speeds up
or slows down during the benchmark weighs on both sides alike; the results of the two must be
equal (DataFrames, or lists of them), so the thing measured changed nothing but the time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pandas as pd


def _assert_same(a: Any, b: Any) -> None:
    if isinstance(a, list):
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x, y)
    else:
        pd.testing.assert_frame_equal(a, b)


def alternating_pairs(
    work: Callable[[str | None], Any], count: int, *, warm_up: bool = False
) -> tuple[float, float, float, list[float]]:
    """``(median ratio with/without, median seconds without, median seconds with, ratios)``
    of ``count`` pairs; ``warm_up``: run once without first, not counted (imports, caches)."""
    if warm_up:
        work(None)
    ratios, without, with_ = [], [], []
    for pair in range(count):
        times, results = {}, {}
        for on in (False, True) if pair % 2 == 0 else (True, False):
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                results[on] = work(folder if on else None)
                times[on] = time.perf_counter() - start
        _assert_same(results[False], results[True])
        ratios.append(times[True] / times[False])
        without.append(times[False])
        with_.append(times[True])
    return statistics.median(ratios), statistics.median(without), statistics.median(with_), ratios
