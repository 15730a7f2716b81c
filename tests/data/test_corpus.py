import json

import pytest

import musicsearch as ms

GOOD = "X:1\nT:One\nR:reel\nM:4/4\nK:D\nd2fd A2FA|\n\nX:2\nT:Two\nR:jig\nM:6/8\nK:G\nGAG GAB|\n"


def test_small_real_corpus_has_provenance_and_no_labels_in_abc(small_corpus):
    assert len(small_corpus) == 300
    assert small_corpus.report.seen == small_corpus.report.kept + len(small_corpus.report.skipped)
    record = small_corpus[0]
    assert record.id.startswith(record.source)
    assert record.collection in {"ryansMammoth", "essenFolksong"}
    for record in small_corpus:
        assert not any(line.startswith(("T:", "R:", "O:", "C:", "N:", "Z:", "B:")) for line in record.abc.split("\n"))
        assert record.captions and record.caption_parts
    essen = [r for r in small_corpus if r.collection == "essenFolksong"]
    assert essen and all(r.ref for r in essen)
    assert len(set(small_corpus.ids)) == len(small_corpus)


def test_cache_round_trip_is_identical(small_corpus):
    first = ms.load_corpus("music21", collections=["ryansMammoth"], limit=150, include_scores=False, progress=False)
    again = ms.load_corpus("music21", collections=["ryansMammoth"], limit=150, include_scores=False, progress=False)
    assert again.ids == first.ids == small_corpus.ids[:len(first)]
    assert again[5].to_dict() == first[5].to_dict()


def test_split_is_deterministic_stratified_and_disjoint(small_corpus):
    train, held = small_corpus.split(0.2, seed=3)
    again_train, again_held = small_corpus.split(0.2, seed=3)
    assert held.ids == again_held.ids and train.ids == again_train.ids
    assert not set(train.ids) & set(held.ids)
    assert len(train) + len(held) == len(small_corpus)
    assert {r.collection for r in held} == {"ryansMammoth", "essenFolksong"}
    assert small_corpus.split(0.2, seed=4)[1].ids != held.ids


def test_bad_files_are_skipped_with_reasons_and_counts_add_up(tmp_path):
    (tmp_path / "good.abc").write_text(GOOD)
    (tmp_path / "empty.abc").write_text("")
    (tmp_path / "junk.abc").write_bytes(b"\x00\x01\x02\xff" * 50)
    (tmp_path / "latin1.abc").write_bytes("X:1\nT:Gr\xfc\xdfe\nK:G\nGAB|\n".encode("latin-1"))
    (tmp_path / "nomusic.abc").write_text("X:1\nT:Only a title\nK:G\n")
    (tmp_path / "broken.xml").write_text("<score-partwise><part>not closed")
    (tmp_path / "notes.txt").write_text("ignored: not a score file")
    corpus = ms.build_corpus(tmp_path, progress=False)
    report = corpus.report
    assert report.kept == 2 and len(corpus) == 2
    assert report.seen == report.kept + len(report.skipped) == 7
    reasons = " ".join(reason for _, reason in report.skipped)
    for expected in ("empty", "binary", "not UTF-8", "no notes", "MusicXML"):
        assert expected in reasons
    assert {item for item, _ in report.skipped} >= {"empty.abc", "junk.abc", "latin1.abc", "broken.xml"}


def test_oversized_file_is_skipped(tmp_path, monkeypatch):
    from musicsearch.data import formats as convert
    (tmp_path / "big.abc").write_text(GOOD * 10)
    (tmp_path / "small.abc").write_text("K:G\nGAB|")
    monkeypatch.setattr(convert, "MAX_FILE_BYTES", 100)
    corpus = ms.build_corpus(tmp_path, progress=False)
    assert corpus.ids == ["small.abc"]
    assert corpus.report.skipped[0][0] == "big.abc" and "limit" in corpus.report.skipped[0][1]


def test_table_with_detected_fields_duplicates_and_bad_rows(tmp_path):
    score = tmp_path / "tune.abc"
    score.write_text("X:1\nT:From a file\nK:A\nABc|\n")
    rows = [
        {"id": "a", "abc": "X:1\nT:Alpha\nK:D\ndfa|", "caption": "a bright dance tune", "region": "Kerry"},
        {"id": "b", "path": "tune.abc", "text": "read from a path"},
        {"id": "a", "abc": "K:G\nGAB|"},
        {"id": "c", "caption": "no music at all"},
    ]
    table = tmp_path / "tunes.jsonl"
    table.write_text("\n".join(json.dumps(row) for row in rows) + "\n{not json\n")
    corpus = ms.build_corpus(table, progress=False)
    assert corpus.ids == ["a", "b"]
    assert corpus.by_id("a").captions[0] == "a bright dance tune"
    assert corpus.by_id("a").metadata["region"] == "Kerry"
    assert corpus.by_id("b").metadata["title"] == "From a file"
    report = corpus.report
    assert report.seen == 5 and report.kept == 2
    reasons = " ".join(reason for _, reason in report.skipped)
    assert "duplicate id 'a'" in reasons and "no music" in reasons and "line 5" in reasons


def test_jsonl_strings_may_hold_unicode_line_separators(tmp_path):
    rows = [{"id": "a", "abc": "K:D\ndfa|", "caption": "first\u2028line"}, {"id": "b", "abc": "K:G\nGAB|"}]
    table = tmp_path / "tunes.jsonl"
    table.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    corpus = ms.build_corpus(table, progress=False)
    assert corpus.ids == ["a", "b"] and corpus.report.skipped == []
    assert corpus.by_id("a").captions[0] == "first\u2028line"


def test_csv_table_with_explicit_fields(tmp_path):
    table = tmp_path / "mine.csv"
    table.write_text('notation,desc,tune_type\n"K:D\nd2fd|",a reel for the fiddle,reel\n')
    corpus = ms.build_corpus(table, fields={"abc": "notation", "text": "desc"}, progress=False)
    assert len(corpus) == 1
    assert corpus[0].captions[0] == "a reel for the fiddle" and corpus[0].metadata["tune_type"] == "reel"


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(ms.CorpusError, match="neither 'music21', a folder"):
        ms.load_corpus(tmp_path / "nothing-here")


def test_musicxml_score_is_converted_to_abc(tmp_path):
    from musicsearch.data import sources
    chorale = next(sources.music21_root().glob("bach/bwv66.6.mxl"))
    abc = ms.to_abc(chorale)
    clean = ms.clean_abc(abc)
    assert "V:1" in clean and "K:" in clean and "w:" not in clean
    assert len(ms.abc_to_patches(clean)) > 10


def test_corpus_export_cli_writes_one_record_per_line(tmp_path, small_corpus):
    from musicsearch.cli import main

    out = tmp_path / "out.jsonl"
    assert main(["corpus", "export", "--collections", "ryansMammoth", "--limit", "150",
                 "--no-scores", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert len(lines) == 150
    first = json.loads(lines[0])
    assert set(first) == {"id", "source", "ref", "collection", "abc", "metadata", "captions"}


def test_stats_count_collections_and_types(small_corpus):
    stats = ms.corpus_stats(small_corpus)
    assert stats["records"] == len(small_corpus)
    assert sum(stats["collections"].values()) == len(small_corpus)
    assert stats["tune_types"] and stats["modes"]


def _handmade_corpus(count: int, name: str):
    from tests.helpers.search import make_many_records

    records = make_many_records(count)
    return ms.Corpus(records, name, ms.BuildReport(name, count, count, []))


def test_saved_corpus_is_one_version_and_a_folder_from_before_versions_still_loads(tmp_path):
    import shutil

    from musicsearch import artifacts

    first, second = _handmade_corpus(30, "first"), _handmade_corpus(40, "second")
    folder = ms.save_corpus(first, tmp_path / "corpus")
    version = artifacts.current_version(folder, "corpus")
    assert sorted(p.name for p in version.iterdir()) == [".readers", "records.parquet", "report.json"]
    # The layout written before versions: both files directly in the folder.
    for name in ("records.parquet", "report.json"):
        (version / name).rename(folder / name)
    for entry in list(folder.iterdir()):
        if entry.name.startswith("v-") or entry.name == "CURRENT":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert len(ms.load_corpus(folder)) == 30 and ms.read_corpus(folder).fingerprint == first.fingerprint
    ms.save_corpus(second, folder)
    loaded = ms.load_corpus(folder)
    assert (len(loaded), loaded.name, loaded.fingerprint) == (40, "second", second.fingerprint)


def test_damaged_corpus_report_is_named_and_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    from musicsearch import artifacts

    folder = ms.save_corpus(_handmade_corpus(10, "mine"), tmp_path / "corpus")
    report = artifacts.current_version(folder, "corpus") / "report.json"
    payload = json.loads(report.read_text())
    report.write_text(json.dumps({**payload, "seen": "10"}))
    with pytest.raises(ms.ArtifactError, match=r"report.json: field 'seen' is '10' \(a string\)"):
        ms.read_corpus(folder)
    report.write_text(json.dumps({**payload, "kept": 3}))
    with pytest.raises(ms.ArtifactError, match="field 'seen'.*kept \\+ skipped"):
        ms.read_corpus(folder)
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    (tmp_path / "tunes.jsonl").write_text(json.dumps({"abc": GOOD, "text": "a reel"}) + "\n")
    built = ms.load_corpus(tmp_path / "tunes.jsonl", progress=False)
    cache = tmp_path / "home" / "corpora" / built.fingerprint
    (artifacts.current_version(cache, "corpus") / "records.parquet").write_bytes(b"garbage")
    again = ms.load_corpus(tmp_path / "tunes.jsonl", progress=False)  # rebuilt, not an error
    assert [r.id for r in again] == [r.id for r in built]
    assert [r.id for r in ms.read_corpus(cache)] == [r.id for r in built]
