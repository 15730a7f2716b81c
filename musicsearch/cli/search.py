"""``musicsearch index``, ``musicsearch search`` and ``musicsearch classify``: thin layers over the package.

Examples::

    musicsearch index --model ~/.cache/musicsearch/models/default --out /tmp/idx --kind hnsw
    musicsearch search "a slow air in a minor key" -k 5
    musicsearch search "tunes by O'Carolan" --json
    musicsearch search "a slow air" --mode content      # the music embeddings alone
    musicsearch search --queries queries.jsonl --output hits.jsonl
    musicsearch search --like my_tune.abc -k 5          # query by example
    musicsearch search "K:D |:dfa afd|gfe dcB|" -k 5    # query by example, typed as ABC
    musicsearch search --like bars.xml --mode melody    # which tune are these bars from? (any key)
    musicsearch classify tunes.abc --labels "jig,reel,hornpipe"

A query is read as the search box reads it (:func:`musicsearch.search.queries.parse_query`): the path of
a score file or an ABC snippet (``"K:D |:dfa afd|"``) is a query by example, anything else is text.

A query file holds one query per line, as plain text or as a JSON object ``{"q": "...", "k": 5}``
(JSONL); both may be mixed. Blank lines are skipped. Each other line gives one output line, in order:
``{"line": N, "q": ..., "hits": [...]}`` or, for a line that cannot be answered, ``{"line": N,
"error": ...}`` (also reported on stderr); the rest are still answered and the exit code is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ABCError, CorpusError, QueryError

BATCH = 64  # queries encoded per forward pass in batch mode


@dataclass
class QueryLine:
    """One non-blank line of a query file: a query to answer, or why it cannot be."""

    line: int  # 1-based line number in the file
    q: str | None = None
    k: int | None = None  # per-query k from a JSON line, else the command's -k
    error: str | None = None


def parse_query_lines(data: bytes | str) -> list[QueryLine]:
    """Parse a query file's content; never raises: bad lines come back with ``error`` set.

    Example:
        >>> [(e.line, e.q, e.error) for e in parse_query_lines('a jig\\n\\n{"q": "a reel"}\\n{"q": ""}\\n')]
        [(1, 'a jig', None), (3, 'a reel', None), (4, None, 'empty query')]
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    entries = []
    for number, chunk in enumerate(raw.split(b"\n"), 1):
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]  # a byte-order mark some editors write
        try:
            text = chunk.decode("utf-8").strip()
        except UnicodeDecodeError:
            entries.append(QueryLine(number, error="not UTF-8 text"))
            continue
        if text:
            entries.append(_parse_line(number, text))
    return entries


def _parse_line(number: int, text: str) -> QueryLine:
    if not text.startswith("{"):
        return QueryLine(number, q=text)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        return QueryLine(number, error=f"invalid JSON ({error.msg} at column {error.colno})")
    if not isinstance(payload, dict) or "q" not in payload:
        return QueryLine(number, error='a JSON line needs a "q" field with the query text')
    query, k = payload["q"], payload.get("k")
    if not isinstance(query, str):
        return QueryLine(number, error=f'"q" must be a string, got {type(query).__name__}')
    if not query.strip():
        return QueryLine(number, error="empty query")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        return QueryLine(number, q=query, error=f'"k" must be a whole number >= 1, got {k!r}')
    return QueryLine(number, q=query, k=k)


def read_query_file(path: str | Path) -> list[QueryLine]:
    """Parse a query file (see :func:`parse_query_lines`); ``-`` reads standard input.

    Anything that can be read is a query file: a regular file, ``/dev/null``, a named pipe or a shell's
    ``<(...)``; only a missing path or a folder is refused.

    Raises:
        QueryError: the path does not exist, is a folder, or cannot be read.

    Example:
        >>> read_query_file("/dev/null")
        []
    """
    if str(path) == "-":
        return parse_query_lines(sys.stdin.buffer.read())
    path = Path(path)
    if not path.exists():
        raise QueryError(f"query file {path} does not exist; give a text or JSONL file with one query per line.")
    if path.is_dir():
        raise QueryError(f"query file {path} is a folder; give a text or JSONL file with one query per line.")
    try:
        with open(path, "rb") as stream:  # not read_bytes on a size: pipes and devices have none
            return parse_query_lines(stream.read())
    except OSError as error:
        raise QueryError(f"query file {path} could not be read ({error.strerror or error}).") from error


def _output_path(path: Path | None) -> Path | None:
    """Check ``--output`` before any work: a folder is refused, a missing parent folder is created."""
    if path is None:
        return None
    if path.is_dir():
        raise QueryError(f"--output {path} is a folder; give a file path such as {path / 'hits.jsonl'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise QueryError(f"--output {path}: its folder could not be created ({error.strerror or error}).") from error
    return path


def register(subparsers: Any) -> None:
    """Add the ``index``, ``search`` and ``classify`` commands."""
    from ..search.ann import KINDS

    index = subparsers.add_parser("index", help="encode a corpus with a model and build a search index")
    index.add_argument("--model", type=Path, default=None, help="model folder (default: the default model)")
    index.add_argument("--corpus", default="music21", help="corpus: a folder, a table, or 'music21' (default)")
    index.add_argument("--out", type=Path, default=None, help="index folder to write (default: the default index)")
    index.add_argument("--kind", choices=KINDS, default="flat", help="flat = exact (default); ivf, hnsw = approximate")
    index.add_argument("--quiet", action="store_true", help="no progress bars")
    index.set_defaults(handler=_index)

    search = subparsers.add_parser("search", help="find tunes for a text query (or a file of queries)")
    search.add_argument("query", nargs="?", help="the query text, e.g. 'a slow air in a minor key'")
    search.add_argument("--queries", help="file of queries, one per line (text or JSONL with a 'q' field); - = stdin")
    search.add_argument("--like", type=Path, default=None, metavar="SCORE",
                        help="query by example: tunes similar to this score file (.abc, .xml, .mxl, .krn, .mid)")
    search.add_argument("--index", type=Path, default=None, help="index folder (default: the default index)")
    search.add_argument("--model", type=Path, default=None, help="model folder (default: the index's model)")
    search.add_argument("-k", "--k", type=int, default=10, help="number of hits (default 10)")
    search.add_argument("--mode", choices=("hybrid", "content", "melody"), default="hybrid",
                        help="hybrid (default): for text, music embeddings fused with titles, composers, types "
                             "and tags; for music (--like, ABC), melody matches fused with the embedding. "
                             "content: music embeddings only. melody: the melodic matcher only (music queries)")
    search.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    search.add_argument("--abc", action="store_true", help="include each hit's ABC in JSON output")
    search.add_argument("--output", type=Path, default=None,
                        help="write JSONL results to this file (batch mode; its folder is created if missing)")
    search.set_defaults(handler=_search)

    classify = subparsers.add_parser("classify", help="sort tunes into labels you name, with no training")
    classify.add_argument("files", nargs="*", type=Path, help="score files (.abc, .xml, .mxl, .mid, .krn)")
    classify.add_argument("--corpus", default=None, help="classify a corpus (folder, table or 'music21') instead")
    classify.add_argument("--labels", required=True, help='comma-separated labels, e.g. "jig,reel,hornpipe"')
    classify.add_argument("--template", action="append", default=None,
                          help="prompt template with {} for the label (repeat to ensemble); default: generic ones")
    classify.add_argument("--model", type=Path, default=None, help="model folder (default: the default model)")
    classify.add_argument("--json", action="store_true", help="print one JSON line per tune")
    classify.set_defaults(handler=_classify)


def _index(args: argparse.Namespace) -> int:
    from ..data.corpus_io import load_corpus
    from ..models.loading import load_model
    from ..paths import default_index_dir, default_model_dir
    from ..search.index import SearchIndex
    from ..search.query_encoder import prepare_query_encoder

    model_dir = args.model or default_model_dir()
    model = load_model(model_dir)
    corpus = load_corpus(args.corpus, progress=not args.quiet)
    index = SearchIndex.build(model, corpus, kind=args.kind, progress=not args.quiet)
    index.model_dir = str(Path(model_dir).resolve())
    out = index.save(args.out or default_index_dir())
    print(f"indexed {len(index)} tunes ({args.kind}, dim {index.dim}, model {index.fingerprint}) -> {out}")
    prepare_query_encoder(model, model_dir)  # the ONNX export: searches then start without torch
    return 0


def _load_index(args: argparse.Namespace) -> Any:
    from ..search.default_index import load_index

    index = load_index(args.index)
    if args.model is not None:
        from ..search.query_encoder import load_query_encoder

        index.model = load_query_encoder(args.model)  # ONNX when exported (no torch), else PyTorch
    return index


def _search(args: argparse.Namespace) -> int:
    given = [name for name, value in (("QUERY", args.query), ("--queries", args.queries), ("--like", args.like))
             if value is not None]
    if len(given) != 1:
        raise QueryError("give one of QUERY, --queries FILE or --like SCORE" + (f" (got {', '.join(given)})." if given
                                                                                else "."))
    if args.like is not None and not args.like.is_file():
        raise QueryError(f"--like {args.like}: no such file; give an ABC, MusicXML, kern or MIDI file.")
    if args.queries is None:
        from ..search.queries import Query, parse_query, search_query

        query = Query("file", str(args.like)) if args.like is not None else parse_query(args.query)
        index = _load_index(args)
        hits = search_query(index, query, args.k, mode=args.mode)
        shown = str(args.like) if args.like is not None else args.query
        # How a hybrid text query was read (understood, ignored, contradictions): JSON "understood", or a line.
        reading = index.explain(query.value) if query.kind == "text" and args.mode == "hybrid" else None
        if args.json:
            payload = {"q": shown, "hits": [hit.to_dict(abc=args.abc) for hit in hits]}
            if reading is not None:
                payload["understood"] = {"constraints": reading.constraints, "free_words": reading.free_words,
                                         "summary": reading.summary()}
            print(json.dumps(payload, ensure_ascii=False))
        else:
            if reading is not None:  # on stderr: stdout stays one row per hit
                print(reading.summary(), file=sys.stderr)
            _print_table(hits)
        return 0
    entries = read_query_file(args.queries)
    output = _output_path(args.output)
    index = _load_index(args)  # loaded once, after the file is known to be readable
    try:
        stream = open(output, "w", encoding="utf-8") if output else sys.stdout
    except OSError as error:
        raise QueryError(f"--output {output} could not be written ({error.strerror or error}).") from error
    failures = 0
    try:
        for start in range(0, len(entries), BATCH):
            for entry, payload in zip(entries[start:start + BATCH], _answer(index, entries[start:start + BATCH], args)):
                if "error" in payload:
                    failures += 1
                    print(f"musicsearch search: {args.queries} line {entry.line}: {payload['error']}", file=sys.stderr)
                stream.write(json.dumps(payload, ensure_ascii=False) + "\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
    return 1 if failures else 0


def _answer(index: Any, entries: list[QueryLine], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Results for a chunk of query lines, encoding the text ones in one batch (ABC and files one by one)."""
    from ..search.ann import check_k
    from ..search.queries import parse_query, search_query

    payloads: list[dict[str, Any]] = []
    good: list[tuple[int, str, int]] = []
    for entry in entries:
        payload: dict[str, Any] = {"line": entry.line, "q": entry.q}
        try:
            if entry.error:
                raise QueryError(entry.error)
            query, k = parse_query(entry.q), check_k(entry.k or args.k, len(index))
            if query.kind == "text" and args.mode == "melody":
                raise QueryError("mode 'melody' needs music (ABC or a score file), not text")
            if query.kind == "text":
                good.append((len(payloads), query.value, k))
            else:
                payload["hits"] = [hit.to_dict(abc=args.abc)
                                   for hit in search_query(index, query, k, mode=args.mode)]
        except (QueryError, ABCError, CorpusError) as error:  # a bad line, never a missing model or index
            payload["error"] = str(error)
        payloads.append(payload)
    if good:
        largest = max(k for _, _, k in good)
        results = index.search_batch([text for _, text, _ in good], largest, mode=args.mode)
        for (position, _, k), hits in zip(good, results):
            payloads[position]["hits"] = [hit.to_dict(abc=args.abc) for hit in hits[:k]]
    return payloads


def _print_table(hits: list[Any]) -> None:
    from ..search.hit import format_hits

    print(format_hits(hits))


def _classify(args: argparse.Namespace) -> int:
    from ..models.loading import load_model
    from ..zeroshot.classifier import ZeroShotClassifier

    if bool(args.files) == bool(args.corpus):
        raise QueryError("give score FILEs or --corpus DIR (one of the two).")
    records = _records_of(args)
    if not records:
        raise QueryError("no tunes to classify: every file was skipped (see the messages above).")
    classifier = ZeroShotClassifier(load_model(args.model), args.labels, args.template)
    probabilities = classifier.predict_proba(records)
    for record, row in zip(records, probabilities):
        best = int(row.argmax())
        if args.json:
            print(json.dumps({"id": record.id, "source": record.source, "ref": record.ref,
                              "title": record.metadata.get("title"), "label": classifier.labels[best],
                              "probabilities": {label: round(float(p), 4) for label, p in zip(classifier.labels, row)}},
                             ensure_ascii=False))
        else:
            title = record.metadata.get("title") or "(untitled)"
            print(f"{classifier.labels[best]:<16} {row[best]:.2f}  {title[:48]:<48}  {record.id}")
    return 0


def _records_of(args: argparse.Namespace) -> list[Any]:
    from ..data.corpus import Record
    from ..data.corpus_io import load_corpus
    from ..data.sources import read_score_file

    if args.corpus:
        return list(load_corpus(args.corpus, progress=False))
    records = []
    for path in args.files:
        if not path.is_file():
            print(f"musicsearch classify: {path}: no such file, skipped", file=sys.stderr)
            continue
        found, skipped = read_score_file(path.resolve(), path.resolve().parent)
        for item, reason in skipped:
            print(f"musicsearch classify: {item}: {reason}, skipped", file=sys.stderr)
        records += [Record(**payload) for payload in found]
    return records
