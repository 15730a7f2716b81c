"""Category queries for the benchmark: the same constraints in five languages, answered by the data."""

from __future__ import annotations

from musicsearch.search.category_queries import make_category_queries, render
from musicsearch.search.fields import FieldIndex, record_facts, satisfies
from musicsearch.search.understanding import understand_query
from tests.helpers.search import make_records


def test_queries_are_deterministic_translated_and_answered():
    records = make_records()
    queries = make_category_queries(records, records, per_language=6, seed=0)
    assert queries == make_category_queries(records, records, per_language=6, seed=0)
    assert {q.language for q in queries} == {"en", "de", "fr", "it", "es"} and {q.kind for q in queries} == {"category"}
    fields = FieldIndex(records)
    for start in range(0, len(queries), 5):
        group = queries[start:start + 5]
        assert len({q.relevant for q in group}) == 1 and group[0].relevant  # the same answer in every language
        readings = [understand_query(q.text).constraints for q in group]
        assert all(reading == readings[0] for reading in readings), [q.text for q in group]
        expected = {records[row].id for row in fields.matches(readings[0]).all(axis=1).nonzero()[0]}
        assert expected == group[0].relevant
        for record in records:
            facts = record_facts(record.metadata, record.abc, record.collection)
            assert (record.id in group[0].relevant) == all(satisfies(readings[0], facts).values())


def test_rendering_with_and_without_function_words():
    constraints = {"tune_type": "lullaby", "origin": "Ireland", "mode": "minor"}
    assert render(constraints, "en") == "a lullaby from Ireland in a minor key"
    assert render(constraints, "de") == "ein Wiegenlied aus Irland in Moll"
    assert render(constraints, "fr") == "une berceuse d'Irlande en mode mineur"
    assert render(constraints, "it") == "una ninna nanna dall'Irlanda in minore"
    assert render(constraints, "es") == "una canción de cuna de Irlanda en modo menor"
    assert render(constraints, "de", plain=True) == "Wiegenlied Irland Moll"
    for language in ("en", "de", "fr", "it", "es"):
        for plain in (False, True):
            assert understand_query(render(constraints, language, plain=plain)).constraints == {
                "tune_type": "lullaby", "mode": "minor", "origin": "Ireland"}
