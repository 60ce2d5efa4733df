"""bench/summary.py: its rows say met or not from the figures, and --write replaces only its block."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# loaded from its file: bench/ is a folder of scripts, and tests/bench is the package named bench here
_spec = importlib.util.spec_from_file_location("bench_summary", ROOT / "bench" / "summary.py")
assert _spec is not None and _spec.loader is not None
summary = importlib.util.module_from_spec(_spec)
sys.modules["bench_summary"] = summary  # its dataclasses look their module up there
_spec.loader.exec_module(summary)


def test_the_readme_has_the_block_the_summary_replaces():
    body = (ROOT / "README.md").read_text()
    assert body.count(summary.BEGIN) == 1 and body.count(summary.END) == 1
    assert body.index(summary.BEGIN) < body.index(summary.END)


def test_write_replaces_the_block_and_keeps_the_rest(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"head\n{summary.BEGIN}\nold table\n{summary.END}\ntail\n")
    summary.write_readme("| new | table |", readme)
    assert readme.read_text() == f"head\n{summary.BEGIN}\n| new | table |\n{summary.END}\ntail\n"


def test_write_refuses_a_readme_without_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit):
        summary.write_readme("x", readme)


def _propagation(p99: float, delivered: int, rate: float) -> dict:
    return {
        "followers": 150,
        "p99_ms": p99,
        "p50_ms": p99 / 2,
        "deliveries": delivered,
        "expected_deliveries": 1_500_000,
        "push_rate_per_s": rate,
        "gateway_cpu_us_per_delivery": 11.8,
    }


@pytest.mark.parametrize(
    ("p99", "delivered", "rate", "met"),
    [
        (200.0, 1_500_000, 1000.0, True),
        (1115.0, 1_500_000, 1000.0, False),  # too slow
        (200.0, 1_499_999, 1000.0, False),  # one delivery lost
        (200.0, 1_500_000, 436.0, False),  # the offered rate not pushed
    ],
)
def test_propagation_is_met_only_with_every_delivery_at_the_offered_rate(p99, delivered, rate, met):
    (row,) = summary._propagation(_propagation(p99, delivered, rate))
    assert row[3] is met


def test_store_growth_compares_the_last_window_with_the_first_and_the_1m_one():
    curve = [
        {"stored": 10_000, "cpu_us": 50.0, "bytes_per_record": 1000.0},
        {"stored": 1_000_000, "cpu_us": 60.0, "bytes_per_record": 1500.0},
        {"stored": 10_000_000, "cpu_us": 66.0, "bytes_per_record": 2000.0},
    ]
    (row,) = summary._store({"keys": "realistic", "sqlite": {"curve": curve}})
    assert "1.32 ×" in row[2] and "1.10 × the 1 M window" in row[2] and "bytes 2.00 ×" in row[2]
    assert row[3] is False
    (flat,) = summary._store({"sqlite": {"curve": curve[:1] + [{**curve[2], "cpu_us": 59.0}]}})
    assert flat[3] is True


def test_a_store_run_short_of_10m_records_is_shown_but_never_met():
    curve = [
        {"stored": 10_000, "cpu_us": 50.0, "bytes_per_record": 1000.0},
        {"stored": 1_000_000, "cpu_us": 51.0, "bytes_per_record": 1000.0},
    ]
    (row,) = summary._store({"sqlite": {"curve": curve}})
    assert row[3] is None and "this run to 1,000,000" in row[0]


def test_the_table_is_made_again_from_a_raw_file(tmp_path, capsys):
    raw = tmp_path / "raw.json"
    result = _propagation(200.0, 1_500_000, 1000.0)
    argv = ["bench/propagation.py", "--followers", "150"]
    raw.write_text(json.dumps({"propagation": {"result": result, "argv": argv, "load": [1.0, 2.0]}}))
    assert summary.main(["--from-raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "| yes | 1.0 → 2.0 | `bench/propagation.py --followers 150` |" in out


def test_an_unreadable_raw_file_is_exit_status_2(tmp_path, capsys):
    assert summary.main(["--from-raw", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_a_raw_file_of_another_shape_is_exit_status_2_with_what_to_do(tmp_path, capsys):
    raw = tmp_path / "old.json"
    raw.write_text(json.dumps({"propagation": {"p99_ms": 900.0}}))  # a result without its command and load
    assert summary.main(["--from-raw", str(raw)]) == 2
    assert "run the benchmarks again with --raw" in capsys.readouterr().err


def test_from_raw_makes_only_the_rows_asked_for(tmp_path, capsys):
    raw = tmp_path / "raw.json"
    result = _propagation(200.0, 1_500_000, 1000.0)
    raw.write_text(
        json.dumps({"propagation": {"result": result, "argv": ["bench/propagation.py"], "load": [1.0, 2.0]}})
    )
    assert summary.main(["--from-raw", str(raw), "--only", "ingest"]) == 0
    assert "propagation" not in capsys.readouterr().out


def test_an_unknown_benchmark_name_is_exit_status_2(capsys):
    assert summary.main(["--only", "ingest,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err
