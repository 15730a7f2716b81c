"""The index / search / classify commands, run in-process with a tiny saved model, and the query-file parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms
from musicsearch.cli import main
from musicsearch.cli.search import parse_query_lines
from tests.helpers.search import make_records


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A tiny saved model, a hand-made corpus folder and an index built by the CLI."""
    import torch

    from musicsearch.data.corpus import Corpus
    from musicsearch.models.model import MusicTextModel

    root = tmp_path_factory.mktemp("cli_search")
    torch.manual_seed(0)
    MusicTextModel("tiny").save_pretrained(root / "model")
    ms.save_corpus(Corpus(make_records(), "handmade"), root / "corpus")
    code = main(["index", "--model", str(root / "model"), "--corpus", str(root / "corpus"),
                 "--out", str(root / "index"), "--quiet"])
    assert code == 0
    return root


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_index_writes_a_loadable_index(workspace):
    index = ms.load_index(workspace / "index")
    assert len(index) == len(make_records())
    assert index.model_dir == str((workspace / "model").resolve())


def test_search_prints_a_table_and_json(workspace, capsys):
    code, out, _ = _run(capsys, "search", "a reel in D", "--index", workspace / "index", "-k", 3)
    assert code == 0 and len(out.strip().splitlines()) == 3 and out.split()[0] == "1"
    code, out, _ = _run(capsys, "search", "tunes by O'Carolan", "--index", workspace / "index", "-k", 4,
                        "--mode", "hybrid", "--json")
    payload = json.loads(out)
    assert payload["q"] == "tunes by O'Carolan" and len(payload["hits"]) == 4
    assert {"id", "source", "ref", "score", "title", "metadata"} <= set(payload["hits"][0])
    assert "abc" not in payload["hits"][0]
    assert payload["hits"][0]["metadata"]["composer"] == "Turlough O'Carolan"


def test_batch_answers_good_lines_and_reports_bad_ones(workspace, tmp_path, capsys, monkeypatch):
    import musicsearch.search.query_encoder as encoder_module

    calls = []
    real = encoder_module.load_query_encoder  # the ONNX export, or PyTorch: either way once per batch
    monkeypatch.setattr(encoder_module, "load_query_encoder", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    queries = tmp_path / "queries.jsonl"
    queries.write_bytes(b'{"q": "a jig"}\n\n   \nthe kesh\n{"q": 3}\n{"q": "a reel", "k": 2}\n{broken\n'
                        b'{"text": "x"}\n\xff\xfe\n{"q": "a waltz", "k": 0}\n')
    out_file = tmp_path / "hits.jsonl"
    code, _, err = _run(capsys, "search", "--queries", queries, "--index", workspace / "index", "-k", 3,
                        "--output", out_file)
    assert code == 1
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [line["line"] for line in lines] == [1, 4, 5, 6, 7, 8, 9, 10]
    answered = {line["line"]: len(line["hits"]) for line in lines if "hits" in line}
    assert answered == {1: 3, 4: 3, 6: 2}
    assert all("error" in line for line in lines if line["line"] not in answered)
    for number in (5, 7, 8, 9, 10):
        assert f"line {number}:" in err
    assert len(calls) == 1  # the model loads once for the whole batch


def test_batch_to_stdout_exits_zero_when_all_lines_are_good(workspace, tmp_path, capsys):
    queries = tmp_path / "queries.txt"
    queries.write_text("a jig\na slow air\n")
    code, out, err = _run(capsys, "search", "--queries", queries, "--index", workspace / "index", "-k", 2)
    assert code == 0 and err == ""
    assert [json.loads(line)["q"] for line in out.splitlines()] == ["a jig", "a slow air"]


def test_batch_output_into_a_missing_folder_is_created(workspace, tmp_path, capsys):
    queries = tmp_path / "queries.txt"
    queries.write_text("a jig\n")
    out_file = tmp_path / "new" / "deeper" / "hits.jsonl"
    code, _, err = _run(capsys, "search", "--queries", queries, "--index", workspace / "index", "-k", 2,
                        "--output", out_file)
    assert code == 0 and err == ""
    assert len(json.loads(out_file.read_text())["hits"]) == 2


def test_batch_output_that_is_a_folder_is_refused_before_any_work(workspace, tmp_path, capsys, monkeypatch):
    import musicsearch.cli.search as search_cli

    monkeypatch.setattr(search_cli, "_load_index", lambda args: pytest.fail("the index loaded before the check"))
    queries = tmp_path / "queries.txt"
    queries.write_text("a jig\n")
    code, _, err = _run(capsys, "search", "--queries", queries, "--index", workspace / "index", "--output", tmp_path)
    assert code == 2 and "is a folder" in err and "hits.jsonl" in err


def test_queries_from_dev_null_a_fifo_or_stdin(workspace, tmp_path, capsys, monkeypatch):
    import io
    import os
    import threading

    code, out, err = _run(capsys, "search", "--queries", "/dev/null", "--index", workspace / "index")
    assert code == 0 and out == "" and err == ""
    fifo = tmp_path / "queries.fifo"
    os.mkfifo(fifo)
    # The writer blocks until the command opens the pipe; a daemon thread never holds the test run open.
    threading.Thread(target=fifo.write_text, args=("a jig\na reel\n",), daemon=True).start()
    code, out, _ = _run(capsys, "search", "--queries", fifo, "--index", workspace / "index", "-k", 1)
    assert code == 0 and [json.loads(line)["q"] for line in out.splitlines()] == ["a jig", "a reel"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"q": "a waltz"}\n')))
    code, out, _ = _run(capsys, "search", "--queries", "-", "--index", workspace / "index", "-k", 1)
    assert code == 0 and json.loads(out)["q"] == "a waltz"
    code, _, err = _run(capsys, "search", "--queries", tmp_path, "--index", workspace / "index")
    assert code == 2 and "is a folder" in err


@pytest.mark.parametrize("argv, message", [
    (["search", "   "], "empty"),
    (["search", "a jig", "-k", "0"], "k must"),
    (["search", "a jig", "--queries", "q.txt"], "one of QUERY, --queries FILE or --like SCORE (got QUERY, --queries)"),
    (["search"], "one of QUERY, --queries FILE or --like SCORE."),
    (["search", "--like", "no-such-tune.abc"], "no such file"),
    (["search", "--queries", "does-not-exist.txt"], "does not exist"),
])
def test_bad_search_requests_exit_2_with_a_message(workspace, capsys, argv, message):
    code, _, err = _run(capsys, *argv, "--index", workspace / "index")
    assert code == 2 and message in err


def test_query_by_example_file(workspace, tmp_path, capsys):
    tune = make_records()[3]
    score = tmp_path / "mine.abc"
    score.write_text(f"X:1\nT:My copy\n{tune.abc}\n")
    code, out, _ = _run(capsys, "search", "--like", score, "--index", workspace / "index", "-k", 3, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["q"] == str(score) and len(payload["hits"]) == 3
    # the identical tune in the index is not a "similar" tune: search_music leaves the query itself out
    assert tune.id not in [hit["id"] for hit in payload["hits"]]


def test_a_query_is_read_as_the_search_box_reads_it(workspace, tmp_path, capsys):
    tune = make_records()[3]
    snippet = " ".join(tune.abc.splitlines())  # ABC typed on one line: fields, then the notes
    code, out, _ = _run(capsys, "search", snippet, "--index", workspace / "index", "-k", 3, "--json")
    by_abc = json.loads(out)
    assert code == 0 and by_abc["q"] == snippet and tune.id not in [hit["id"] for hit in by_abc["hits"]]
    score = tmp_path / "mine.abc"
    score.write_text(f"X:1\nT:My copy\n{tune.abc}\n")
    code, out, _ = _run(capsys, "search", score, "--index", workspace / "index", "-k", 3, "--json")
    assert code == 0 and json.loads(out)["hits"] == by_abc["hits"]  # the path of a score: query by example
    queries = tmp_path / "mixed.txt"
    queries.write_text(f"a jig\n{snippet}\nK:D\n")
    code, out, err = _run(capsys, "search", "--queries", queries, "--index", workspace / "index", "-k", 3)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [len(line.get("hits", [])) for line in lines] == [3, 3, 0]
    assert lines[1]["hits"] == by_abc["hits"] and "line 3:" in err and "no notes" in lines[2]["error"]


def test_missing_index_and_foreign_model(workspace, tmp_path, capsys):
    import torch

    from musicsearch.models.model import MusicTextModel

    code, _, err = _run(capsys, "search", "a jig", "--index", tmp_path / "nothing")
    assert code == 2 and "no index at" in err
    other = MusicTextModel("tiny")
    with torch.no_grad():
        other.music_proj.weight.add_(1.0)
    other.save_pretrained(tmp_path / "other")
    code, _, err = _run(capsys, "search", "a jig", "--index", workspace / "index", "--model", tmp_path / "other")
    assert code == 2 and "built with model" in err


def test_defaults_come_from_musicsearch_home(workspace, tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path))
    monkeypatch.setenv("MUSICSEARCH_MODEL", str(tmp_path / "mine"))
    code, _, err = _run(capsys, "search", "a jig")
    assert code == 2 and "no model at" in err and "MUSICSEARCH_MODEL" in err
    shutil.copytree(workspace / "model", tmp_path / "mine")
    assert _run(capsys, "index", "--corpus", workspace / "corpus", "--quiet")[0] == 0
    code, out, _ = _run(capsys, "search", "a jig", "-k", 2, "--json")
    assert code == 0 and len(json.loads(out)["hits"]) == 2


def test_classify_files_and_corpus(workspace, tmp_path, capsys):
    tunes = tmp_path / "tunes.abc"
    tunes.write_text("X:1\nT:One\nM:6/8\nL:1/8\nK:D\n|:dfa afd|gfe dcB|\n\nX:2\nT:Two\nM:4/4\nL:1/8\nK:G\n|:GABc dedB|\n")
    code, out, err = _run(capsys, "classify", tunes, tmp_path / "missing.abc", "--labels", "jig,reel,hornpipe",
                          "--model", workspace / "model", "--json")
    assert code == 0 and "missing.abc" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["title"] for row in rows] == ["One", "Two"]
    assert all(row["label"] in {"jig", "reel", "hornpipe"} for row in rows)
    assert all(sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-3) for row in rows)
    code, out, _ = _run(capsys, "classify", "--corpus", workspace / "corpus", "--labels", "jig, reel",
                        "--template", "a {} tune", "--template", "a {}", "--model", workspace / "model")
    assert code == 0 and len(out.strip().splitlines()) == len(make_records())


@pytest.mark.parametrize("argv, message", [
    (["classify", "x.abc", "--labels", "jig"], "at least two"),
    (["classify", "--labels", "jig,reel"], "FILEs or --corpus"),
    (["classify", "x.abc", "--labels", "jig,reel", "--template", "no placeholder"], "exactly once"),
])
def test_bad_classify_requests(workspace, tmp_path, capsys, argv, message):
    (tmp_path / "x.abc").write_text("X:1\nM:6/8\nK:D\ndfa afd|\n")
    code, _, err = _run(capsys, *[tmp_path / a if a == "x.abc" else a for a in argv], "--model", workspace / "model")
    assert code == 2 and message in err


# ---------------------------------------------------------------- query-file parsing (property-based)
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_parser_never_raises_and_accounts_for_every_line(data):
    entries = parse_query_lines(data)
    numbers = [entry.line for entry in entries]
    assert numbers == sorted(set(numbers))
    assert all(1 <= n <= data.count(b"\n") + 1 for n in numbers)
    for entry in entries:
        assert (entry.error is not None) or (entry.q is not None and entry.q.strip())


_query_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40).filter(
    lambda text: text.strip() != "")


@settings(max_examples=100, deadline=None)
@given(st.lists(_query_text, min_size=1, max_size=8))
def test_jsonl_queries_come_back_unchanged(queries):
    data = "\n".join(json.dumps({"q": q}) for q in queries)
    entries = parse_query_lines(data.encode())
    assert [entry.q for entry in entries] == queries and all(entry.error is None for entry in entries)


@settings(max_examples=100, deadline=None)
@given(st.lists(_query_text.filter(lambda t: not t.strip().startswith("{")), min_size=1, max_size=8))
def test_plain_lines_are_queries(queries):
    entries = parse_query_lines("\r\n".join(queries).encode())
    assert [entry.q for entry in entries] == [q.strip() for q in queries]


def test_like_a_fragment_in_melody_mode_reports_the_matched_bars(tmp_path, capsys):
    from tests.helpers.melody_records import fragment, make_melody_records
    from tests.helpers.search import FakeModel

    folder = ms.SearchIndex.build(FakeModel(), make_melody_records(), progress=False).save(tmp_path / "index")
    bars = tmp_path / "bars.abc"
    bars.write_text("X:1\nT:Remembered\n" + fragment(8, 1, bars=3) + "\n")
    # melody mode needs no model: the index's fake model is never loaded
    code, out, _ = _run(capsys, "search", "--like", bars, "--index", folder, "--mode", "melody", "-k", 2, "--json")
    hit = json.loads(out)["hits"][0]
    assert code == 0 and hit["id"] == "melodies/tune08.abc#1" and hit["bar_span"] == [1, 3]
    code, out, _ = _run(capsys, "search", "--like", bars, "--index", folder, "--mode", "melody", "-k", 1)
    assert code == 0 and "bars 2-4" in out  # the table counts bars from 1
    code, _, err = _run(capsys, "search", "a jig", "--index", folder, "--mode", "melody")
    assert code == 2 and "searches by notes" in err


def test_like_in_hybrid_mode_is_the_default_for_music(workspace, tmp_path, capsys):
    tune = make_records()[5]
    score = tmp_path / "bars.abc"
    score.write_text(f"X:1\n{tune.abc}\n")
    code, out, _ = _run(capsys, "search", "--like", score, "--index", workspace / "index", "-k", 3, "--json")
    default = json.loads(out)["hits"]
    code_hybrid, out, _ = _run(capsys, "search", "--like", score, "--index", workspace / "index", "-k", 3,
                               "--json", "--mode", "hybrid")
    assert code == code_hybrid == 0 and json.loads(out)["hits"] == default
    assert any("bar_span" in hit for hit in default)  # melody matches carry the bars they matched


def test_a_search_process_imports_neither_torch_nor_transformers(workspace, musicsearch_home):
    """`musicsearch index` exported the query encoders to ONNX; a search process then runs without torch."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom musicsearch.cli import main\n"
            f"code = main(['search', 'a reel in D', '-k', '3', '--json', '--index', {str(workspace / 'index')!r}])\n"
            "print(sorted(m for m in ('torch', 'transformers', 'umap') if m in sys.modules), file=sys.stderr)\n"
            "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "MUSICSEARCH_HOME": str(musicsearch_home)})
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["hits"]) == 3
    assert result.stderr.strip().splitlines()[-1] == "[]"
