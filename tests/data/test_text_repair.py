"""Text misread from a DOS or Windows code page is repaired where it is read, and counted in the build report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import musicsearch as ms
from musicsearch.data import corpus_io
from musicsearch.data.text_repair import detect_codepage, has_mojibake, repair_text

C1 = re.compile("[\x80-\x9f]")


@pytest.mark.parametrize(("misread", "expected"), [
    ("N\x84chstenliebe", "Nächstenliebe"),  # cp437 0x84 = ä
    ("H\x94lzerklapper", "Hölzerklapper"),  # 0x94 = ö
    ("gef\x81hlvoll", "gefühlvoll"),  # 0x81 = ü
    ("Es stand ein Schloá in \x99sterreich", "Es stand ein Schloß in Österreich"),  # 0xE1 = ß, 0x99 = Ö
    ("Die Flucht nach \x8egypten", "Die Flucht nach Ägypten"),  # 0x8E = Ä
    ("K\x9aNTZIG", "KÜNTZIG"),  # 0x9A = Ü
    ("Stra\x9een", "Straßen"),  # 0x9E: ß in the Essen files (cp437 has the peseta sign there)
    ("Adieu du G\x82n\x82ral Bertrand", "Adieu du Général Bertrand"),  # 0x82 = é
    ("\x93Hello\x94 \x96 a Windows quote", "“Hello” – a Windows quote"),  # cp1252 punctuation at word edges
])
def test_misread_code_page_text_is_decoded(misread, expected):
    assert repair_text(misread) == expected
    assert not has_mojibake(repair_text(misread))


@pytest.mark.parametrize("correct", ["Nächstenliebe", "Tá mé 'mo shuí", "religiöse Lieder", "Général", "", "abc"])
def test_text_without_c1_characters_is_left_alone(correct):
    # "á" is real Irish here: with no C1 character there is no evidence it is a misread "ß".
    assert detect_codepage(correct) is None
    assert repair_text(correct) == correct


def test_latin1_letters_beside_dos_bytes_are_kept():
    # lot.abc mixes both: a real "ö" (U+00F6) would be "÷" in cp437, so only C1 characters and "á" change.
    assert repair_text("religiöse Lieder, sch\x94nes Schloá") == "religiöse Lieder, schönes Schloß"


def test_a_forced_code_page_reads_a_sharp_s_in_a_tune_with_no_c1_of_its_own():
    assert repair_text("Das Lied wird aufgefaát.", "cp437") == "Das Lied wird aufgefaßt."
    assert repair_text("Das Lied wird aufgefaát.") == "Das Lied wird aufgefaát."


def test_an_unknown_code_page_is_refused():
    with pytest.raises(ValueError, match="cp437"):
        repair_text("x", "utf-16")


def _dos_file(tmp_path):
    # Written the way music21's Essen files are: cp437 bytes converted to UTF-8 as if Latin-1.
    text = ("X:1\nT:N\x84chstenliebe\nO:Europa, Mitteleuropa, Deutschland, S\x81d\nM:4/4\nK:G\nGABc d2d2|\n\n"
            "X:2\nT:Das Schloá\nN:aufgefaát\nM:3/4\nK:D\nd2f2a2|\n\n"
            "X:3\nT:Plain title\nM:2/4\nK:C\nc2e2|\n")
    folder = tmp_path / "scores"
    folder.mkdir()
    (folder / "dos.abc").write_text(text, encoding="utf-8")
    return folder


def test_a_dos_file_is_repaired_in_titles_metadata_and_captions_and_counted(tmp_path):
    corpus = corpus_io.build_corpus(_dos_file(tmp_path), progress=False)
    first, second, third = corpus
    assert first.title == "Nächstenliebe" and first.metadata["origin"].endswith("Süd")
    assert any("Nächstenliebe" in caption for caption in first.captions)
    assert second.title == "Das Schloß" and second.metadata["notes"] == "aufgefaßt"  # the file's code page
    assert third.title == "Plain title"
    for record in corpus:
        assert not C1.search(json.dumps([record.metadata, record.captions, record.caption_parts], ensure_ascii=False))
    assert corpus.report.repaired == 2 and corpus.report.kept == 3
    assert "text repaired in 2" in corpus.report.summary()
    assert corpus.report.to_dict()["repaired"] == 2


def test_table_text_and_metadata_columns_are_repaired(tmp_path):
    table = tmp_path / "tunes.jsonl"
    rows = [{"abc": "X:1\nK:D\nd2fd|", "text": "ein Lied f\x81r Kinder", "place": "\x99sterreich"},
            {"abc": "X:1\nK:G\nGABc|", "text": "a reel"}]
    table.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    corpus = corpus_io.build_corpus(table, progress=False)
    assert corpus[0].metadata["place"] == "Österreich"
    assert any("ein Lied für Kinder" in caption for caption in corpus[0].captions)
    assert corpus.report.repaired == 1


def test_the_repair_module_is_part_of_the_corpus_cache_key(monkeypatch):
    # A change to the repair rules must rebuild cached corpora: the key hashes the module's bytes.
    read, original = [], Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    corpus_io._code_version()
    assert "text_repair.py" in read


@pytest.mark.slow
def test_no_record_of_the_real_corpus_holds_a_c1_control_character():
    corpus = ms.load_corpus("music21", include_scores=True, progress=False)
    bad = [record.id for record in corpus
           if C1.search(json.dumps([record.metadata, record.captions, record.caption_parts, record.title],
                                   ensure_ascii=False))]
    assert bad == []
    essen = [record for record in corpus if record.collection == "essenFolksong"]
    assert any(record.title and "ä" in record.title for record in essen)
