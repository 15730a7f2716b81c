"""The search page's rule rewrite is the shared query parser: five languages, same filters as hybrid search."""

from __future__ import annotations

import pytest

from musicsearch.llm.rewrite import FILTER_FIELDS, match_filters, rule_rewrite
from musicsearch.search.fields import record_facts, satisfies
from musicsearch.search.understanding import understand_query
from tests.helpers.search import make_records


@pytest.mark.parametrize("query", ["ein irisches Wiegenlied in Moll", "une berceuse irlandaise en mode mineur",
                                   "una ninna nanna irlandese in minore", "una canción de cuna irlandesa en menor",
                                   "an Irish lullaby in a minor key"])
def test_rule_rewrite_reads_the_five_languages_alike(query):
    assert rule_rewrite(query).filters == {"tune_type": "lullaby", "mode": "minor", "origin": "Ireland"}


def test_rule_rewrite_is_the_shared_reading_limited_to_its_fields():
    query = "tunes by O'Carolan from O'Neill's in 3/4"
    reading = understand_query(query)
    assert "composer" in reading.constraints and "collection" in reading.constraints
    assert rule_rewrite(query).filters == {k: v for k, v in reading.constraints.items() if k in FILTER_FIELDS}


def test_match_filters_is_the_check_hybrid_search_ranks_by():
    for record in make_records():
        filters = {"tune_type": "jig", "origin": "Ireland", "mode": "major", "meter": "6/8"}
        facts = record_facts(record.metadata, record.abc, record.collection)
        assert match_filters(filters, record) == satisfies(filters, facts)
