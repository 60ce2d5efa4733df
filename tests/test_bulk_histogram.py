"""BulkHistogram: values observed many at a time expose exactly what prometheus_client's own
Histogram exposes for the same values one by one."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from creditx.ops.bulk_histogram import BulkHistogram
from creditx.ops.grpc_metrics import BUCKETS


def test_counted_observations_expose_as_the_same_values_observed_one_by_one():
    values = [0.0, 0.001, 0.0011, 0.3, 0.3, 0.3, 1.0, 7.5, 5000.0] + [0.02] * 40
    mine, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("x_delivery_seconds", "age", BUCKETS, mine)
    one = Histogram("x_delivery_seconds", "age", buckets=BUCKETS, registry=theirs)
    bulk.observe_counted(Counter(values[:20]))
    bulk.observe_counted(Counter(values[20:]))
    for v in values:
        one.observe(v)
    ours, want = (
        [line for line in generate_latest(r).decode().splitlines() if "_created" not in line] for r in (mine, theirs)
    )
    sums = [
        float(line.split()[1]) for lines in (ours, want) for line in lines if line.startswith("x_delivery_seconds_sum")
    ]
    assert len(sums) == 2 and abs(sums[0] - sums[1]) < 1e-9 * sums[1]  # added in another order
    assert [x for x in ours if "_sum" not in x] == [x for x in want if "_sum" not in x]
    assert 'x_delivery_seconds_bucket{le="0.001"} 2.0' in ours and "x_delivery_seconds_count 49.0" in ours
