"""Summaries of samples: percentiles as numpy's default (linear interpolation), no numpy."""

import math


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    position = (len(sorted_values) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summary(values: list[float]) -> dict:
    """p50, p90, p99, min, max, mean (ms, rounded to µs) and the count."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    result = {
        "n": len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "min": ordered[0],
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }
    return {key: value if key == "n" else round(value, 3) for key, value in result.items()}


def minus(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]
