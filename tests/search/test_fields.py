"""Record facts and constraint checks: one reader per fact, the same answer per record and per index."""

from __future__ import annotations

import numpy as np
import pytest

from musicsearch.search.fields import FieldIndex, record_facts, satisfies
from tests.helpers.search import make_records


@pytest.fixture(scope="module")
def records():
    return make_records()


def test_facts_read_type_meter_key_origin_composer():
    facts = record_facts({"rhythm": "reel", "meter": "C|", "key": "Ador", "composer": "Turlough O'Carolan"},
                         collection="oneills1850")
    assert facts["tune_type"] == "reel" and facts["meter"] == "2/2" and facts["key"] == "A dorian"
    assert facts["origin"] == "Ireland"  # O'Neill's Music of Ireland, from the collection
    assert satisfies({"composer": "O'Carolan", "origin": "Ireland", "mode": "dorian", "meter": "2/2"}, facts) == {
        "composer": True, "origin": True, "mode": True, "meter": True}
    assert satisfies({"tune_type": "jig", "region": "Bavaria", "colour": "red"}, facts) == {
        "tune_type": False, "region": False, "colour": False}


def test_a_key_without_a_mode_is_read_from_the_notes():
    minor = "M:3/4\nL:1/4\nK:C\nA B c|c B A|e d c|B A2|A c e|A3|"  # ends on A, minor thirds: A minor
    assert record_facts({}, minor)["mode"] == "minor" and record_facts({}, minor)["key"] == "A minor"
    assert record_facts({"key": "Am"})["key"] == "A minor"  # no notes: the K: field alone


def test_the_index_table_agrees_with_each_record(records):
    fields = FieldIndex(records)
    for constraints in ({"tune_type": "jig"}, {"origin": "Germany", "meter": "3/4"}, {"key": "E minor"},
                        {"mode": "minor", "origin": "Ireland"}, {"composer": "O'Carolan"}, {"meter": "4/4"}):
        table = fields.matches(constraints)
        for row, record in enumerate(records):
            expected = satisfies(constraints, record_facts(record.metadata, record.abc, record.collection))
            assert table[row].tolist() == list(expected.values()), (constraints, record.id)
    assert fields.matches({"tune_type": "tango"}).sum() == 0
    assert "jig" in fields.values("tune_type") and np.all(np.diff(fields.rows("tune_type", "jig")) > 0)
