"""Every HTML string the package writes shows a hostile query or corpus text literally, never as markup.

Places: the result page (fragment and whole document), ``musicsearch serp --html``, the search box's hit
cards and its messages. (Plotly's hover text and labels are checked in ``tests/viz/test_maps.py``.)
"""

from __future__ import annotations

import re

import pytest

import musicsearch as ms
from musicsearch.llm.page_html import page_document
from musicsearch.search.hit import Hit
from musicsearch.ui.search_view import hit_card_html, message_html, notation_html
from tests.helpers.search import make_records

HOSTILE = "</title><script>alert(1)</script>"
TAG = re.compile(r"<\s*/?\s*(script|title|img)\b", re.I)


def _hostile_hits() -> list[Hit]:
    hits = []
    for rank, record in enumerate(make_records()[:5], 1):
        metadata = {**record.metadata, "title": f"{record.title} {HOSTILE}", "origin": f"<img src=x>{rank}"}
        hits.append(Hit(id=f"{record.id}{HOSTILE}", source=record.source, ref=f"1{HOSTILE}", score=1.0 - rank / 10,
                        title=metadata["title"], collection=f"c{HOSTILE}", metadata=metadata, abc=record.abc,
                        rank=rank))
    return hits


def _tags(html: str) -> list[str]:
    """The tags of ``html`` a hostile text could have added (the document's own <title> pair excepted)."""
    return TAG.findall(html.replace("<title>", "", 1).replace("</title>", "", 1))


def test_page_document_escapes_the_query_in_its_title_and_body():
    page = ms.build_search_page(f"a reel {HOSTILE}", _hostile_hits(), None, k=5, filters="off")
    document = page_document(page)
    assert document.count("<title>") == 1 and document.count("</title>") == 1
    title = re.search(r"<title>(.*)</title>", document).group(1)
    assert title == "a reel &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert _tags(document) == []
    assert "The Kesh &lt;/title&gt;" in document


def test_cli_serp_html_writes_an_escaped_title(tmp_path, monkeypatch, capsys):
    from musicsearch.cli import main
    from musicsearch.cli import serp as cli_serp

    monkeypatch.setattr(cli_serp, "_first_stage", lambda args: ms.KeywordSearch(make_records()))
    out = tmp_path / "p.html"
    assert main(["serp", HOSTILE, "--backend", "none", "--html", str(out)]) == 0
    written = out.read_text(encoding="utf-8")
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in written
    assert _tags(written) == []


def test_hit_cards_escape_titles_metadata_collections_and_ids():
    for hit in _hostile_hits():
        card = hit_card_html(hit, notation=False)
        assert TAG.findall(card) == [], card
        assert "&lt;script&gt;" in card and "&lt;img src=x&gt;" in card
    numbered = Hit(id="t1", source="s", ref=None, score=0.5, title=None, collection="c",
                   metadata={"title": 1812}, abc="", rank=1)
    assert "1812" in hit_card_html(numbered, notation=False)  # a number as title is shown, not a crash


@pytest.mark.parametrize("level", ["error", "info", '"><script>alert(1)</script>'])
def test_widget_messages_escape_their_text_and_level(level):
    shown = message_html(f"no index at /tmp/{HOSTILE}", level=level)
    assert TAG.findall(shown) == [] and "&lt;script&gt;" in shown


def test_notation_failure_message_is_escaped():
    shown = notation_html(f"T:{HOSTILE}\nK:D\n")  # no notes: the engraver refuses, the reason is shown
    assert TAG.findall(shown) == []
