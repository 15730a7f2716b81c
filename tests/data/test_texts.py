"""Which text of a record is used for what: own texts (a table's text column) and free prose of metadata."""

from __future__ import annotations

from types import SimpleNamespace

from musicsearch.data.captions import describe
from musicsearch.data.texts import own_texts, prose_text, query_caption

ABC = "M:6/8\nL:1/8\nK:G\nGAG GBd|gdB GBd|"


def test_own_texts_are_the_users_descriptions_before_the_generated_captions():
    described = describe(ABC, {"title": "The Kesh", "rhythm": "jig"}, "mine", ["My favourite session tune"])
    assert own_texts(described["captions"], described["caption_parts"]) == ["My favourite session tune"]
    plain = describe(ABC, {"title": "The Kesh", "rhythm": "jig"}, "mine")
    assert own_texts(plain["captions"], plain["caption_parts"]) == []


def test_the_held_out_query_is_the_own_text_even_when_it_names_the_title():
    described = describe(ABC, {"title": "The Kesh"}, "mine", ["The Kesh, as my uncle played it"])
    record = SimpleNamespace(captions=described["captions"], caption_parts=described["caption_parts"])
    assert query_caption(record) == "The Kesh, as my uncle played it"


def test_prose_text_keeps_sentences_and_drops_catalogue_numbers_and_page_references():
    record = SimpleNamespace(metadata={"notes": "T0136; Merzig, Anton Koob (* 29.12.1843); B0472",
                                       "source": "PINCK, Louis: Verklingende Weisen Bd 4, Kassel 1939]",
                                       "history": "III, 448]", "title": "Not prose"})
    assert prose_text(record) == "Merzig, Anton Koob (* 29.12.1843); PINCK, Louis: Verklingende Weisen Bd 4, Kassel 1939"
    assert prose_text(SimpleNamespace(metadata={"notes": "Z0007"})) is None
    assert prose_text(SimpleNamespace(metadata={})) is None
