"""A run's light records kept compressed: the same records back, grouped and chosen by key without parsing, a
fraction of the memory, and the same summaries as from a list."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from evals.schema.light_records import LightRecords, by_policy
from evals.schema.records import of_the_run, read_results
from evals.stats.metrics import summarize
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "ab_shipping_first_vs_lean" / "arm_a"


def example_records():
    return read_results(EXAMPLE, light=True)


def test_the_records_come_back_equal_in_order_by_index_and_by_slice():
    records = example_records()
    kept = LightRecords(records)
    assert len(kept) == len(records) and list(kept) == records
    assert kept[3] == records[3] and kept[-1] == records[-1]
    assert list(kept[2:5]) == records[2:5] and isinstance(kept[2:5], LightRecords)
    assert kept == records and kept.keys == [r.key for r in records]


def test_full_records_are_kept_light(tmp_path: Path):
    full = read_results(EXAMPLE)[0]
    assert full.transcript
    [kept] = LightRecords([full])
    assert kept == full.light() and not kept.transcript and not kept.trace


def test_of_the_run_and_by_policy_choose_by_key_as_the_list_path_does():
    records = example_records()
    doubled = LightRecords([*records, records[0]])
    keys = {r.key for r in records[:-1]}
    kept, left_out = of_the_run(doubled, keys)
    listed, listed_left = of_the_run([*records, records[0]], keys)
    assert isinstance(kept, LightRecords) and list(kept) == listed and left_out == listed_left
    assert left_out == [records[-1].key, records[0].key]
    assert {stem: list(group) for stem, group in by_policy(doubled).items()} == {
        stem: list(group) for stem, group in by_policy([*records, records[0]]).items()
    }


def test_summaries_from_compressed_records_equal_those_from_a_list():
    records = example_records()
    weights = {records[0].persona: 3.0}
    assert summarize(LightRecords(records), weights) == summarize(records, weights)


def test_compressed_records_take_a_small_fraction_of_the_memory_of_objects():
    records = example_records()
    tracemalloc.start()
    objects = [r.model_copy(deep=True) for r in records]
    as_objects, _ = tracemalloc.get_traced_memory()
    del objects
    tracemalloc.stop()
    tracemalloc.start()
    kept = LightRecords(records)
    compressed, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(kept) == len(records) and compressed * 5 < as_objects, (compressed, as_objects)
