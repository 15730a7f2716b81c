"""Hand-edited artifacts: every field of every manifest and config, set to a wrong type, a wrong value and
removed, gives a named ArtifactError (the file and the field), never an AttributeError, a
ZeroDivisionError or a faiss RuntimeError from deep inside.

The cases are generated from the schemas the loaders check against, so a field added to a schema is
tested without touching this file; :func:`test_every_written_field_is_in_a_schema` keeps the schemas
complete.
"""

from __future__ import annotations

import copy
import io
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.artifacts import CONFIG_SCHEMA, ArtifactFieldError, ConfigFieldError, Field
from musicsearch.artifacts.versions import POINTER_SCHEMA
from musicsearch.data.corpus_store import REPORT_SCHEMA
from musicsearch.errors import ArtifactError
from musicsearch.lut.storage import LUT_CONFIG_SCHEMA
from musicsearch.models.config import ARCHITECTURE_SCHEMA, ModelConfig, get_model_config
from musicsearch.models.model import _saved_model_schema
from musicsearch.search.store import MANIFEST_SCHEMA
from musicsearch.training.checkpoints import STATE_SCHEMA, load_checkpoint, save_checkpoint
from tests.helpers.search import FakeModel, make_records

FieldPath = tuple[Any, ...]

# ------------------------------------------------------------------------------ the artifacts under test
MODEL_SCHEMA = {**CONFIG_SCHEMA, **_saved_model_schema(),
                "config": Field(dict, fields={"architecture": Field(dict, fields=ARCHITECTURE_SCHEMA),
                                              "training": Field(dict)})}
LUT_SCHEMA = {**CONFIG_SCHEMA, **LUT_CONFIG_SCHEMA}
# Where a mapping's keys or a list's items are free, the keys the saved artifact has.
SAMPLES: dict[FieldPath, list[Any]] = {
    ("files",): ["index.faiss", "records.jsonl", "metadata.npy"],
    ("lut_layers",): ["2"],
    ("optimizer", "param_groups"): [0],
    ("scheduler", "base_lrs"): [0],
    ("sampler", "queues"): ["ryans"],
    ("sampler", "ready"): [0],
    ("skipped",): [0],
}


def _lut_mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)  # the first and last layers stay dense: layer "2" becomes a lookup table
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                               torch.nn.Linear(16, 4))


def _checkpoint_parts() -> tuple[Any, Any]:
    module = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    module(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def _save_index(folder: Path) -> None:
    records = make_records()
    vectors = FakeModel().encode_music(records)
    ms.SearchIndex.from_embeddings(vectors, records, kind="hnsw", fingerprint="fake-model-1",
                                   metadata_vectors=FakeModel().encode_text([r.abc for r in records])).save(folder)


def _save_corpus(folder: Path) -> None:
    records = make_records()
    report = ms.BuildReport("handmade", len(records) + 1, len(records), [("junk.abc", "not music")])
    ms.save_corpus(ms.Corpus(records, "handmade", report), folder)


def _save_model(folder: Path) -> None:
    ms.MusicTextModel("tiny").save_pretrained(folder, preset="tiny")


def _save_lut(folder: Path) -> None:
    from musicsearch.lut.convert import convert
    from musicsearch.models.lut_model import save_lut_model

    save_lut_model(convert(_lut_mlp(), torch.randn(64, 8), k=4, v=4), folder)


def _save_checkpoint(folder: Path) -> None:
    optimizer, scheduler = _checkpoint_parts()
    extra = {"config": {"architecture": {}}, "history": {"steps": []}, "corpus": {"corpus": "handmade"},
             "sampler": {"rng": {"bit_generator": "PCG64"}, "queues": {"ryans": [1, 2]}, "ready": [[0, 1]]},
             "mask_generator": torch.Generator().get_state().tolist()}
    save_checkpoint(folder, weights={"w": torch.ones(3, 4)}, optimizer=optimizer, scheduler=scheduler, step=3,
                    extra=extra, py_rng=random.Random(0))


def _load_checkpoint(folder: Path) -> Any:
    optimizer, scheduler = _checkpoint_parts()
    rng = torch.get_rng_state()
    try:
        return load_checkpoint(folder, optimizer=optimizer, scheduler=scheduler, py_rng=random.Random())
    finally:
        torch.set_rng_state(rng)


# name: (kind, file in the version, schema, save, load)
ARTIFACTS = {
    "index": ("index", "manifest.json", MANIFEST_SCHEMA, _save_index, lambda f: ms.load_index(f)),
    "corpus": ("corpus", "report.json", REPORT_SCHEMA, _save_corpus, ms.read_corpus),
    "model": ("model", "config.json", MODEL_SCHEMA, _save_model, ms.load_model),
    "lut": ("model", "config.json", LUT_SCHEMA, _save_lut, lambda f: ms.load_lut_model(f, _lut_mlp(1))),
    "checkpoint": ("checkpoint", "state.json", STATE_SCHEMA, _save_checkpoint, _load_checkpoint),
    "pointer": ("index", "../CURRENT", POINTER_SCHEMA, _save_index, lambda f: ms.load_index(f)),
}


# ------------------------------------------------------------------------------------- generated cases
def _fields(schema: dict[str, Field], prefix: FieldPath = ()) -> Iterator[tuple[FieldPath, Field]]:
    for name, field in schema.items():
        yield prefix + (name,), field
        yield from _children(prefix + (name,), field)


def _children(path: FieldPath, field: Field) -> Iterator[tuple[FieldPath, Field]]:
    if field.fields:
        yield from _fields(dict(field.fields), path)
    child = field.values if field.values is not None else field.items
    if child is not None:
        for key in SAMPLES.get(path, []):
            yield path + (key,), child
            yield from _children(path + (key,), child)


_WRONG_TYPE = {int: "2.0", float: "x", str: 5, bool: "yes", dict: [], list: {}}
_REMOVED = object()


def _wrong_values(field: Field) -> Iterator[tuple[str, Any]]:
    kind = field.types[0]
    if kind is object:
        return
    yield "wrong-type", _WRONG_TYPE[kind]
    if field.choices is not None:
        yield "wrong-value", "not-one-of-the-choices"
    elif field.pattern is not None:
        yield "wrong-value", "zz"
    elif kind in (int, float) and field.minimum is not None:
        yield "wrong-value", field.minimum - 1
    elif kind in (int, float) and field.maximum is not None:
        yield "wrong-value", field.maximum + 1
    elif kind is list and field.length is not None:
        yield "wrong-value", [0] * (field.length + 1)
    elif kind is list and field.minimum is not None:
        yield "wrong-value", []
    elif kind is dict and field.keys is not None:
        yield "wrong-value", "unknown-key"
    elif kind is float:
        yield "wrong-value", float("nan")


def _cases() -> Iterator[Any]:
    for name, (_, _, schema, _, _) in ARTIFACTS.items():
        for path, field in _fields(schema):
            dotted = ".".join(str(part) for part in path)
            mutations = list(_wrong_values(field)) + [("removed", _REMOVED)]
            if isinstance(path[-1], int):  # a list item cannot be removed from its place
                mutations = mutations[:-1]
            for mutation, value in mutations:
                yield pytest.param(name, path, field, value, id=f"{name}:{dotted}:{mutation}")


CASES = list(_cases())


def _edit(document: Any, path: FieldPath, value: Any) -> None:
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if value is _REMOVED:
        del parent[path[-1]]
    elif value == "unknown-key":
        parent[path[-1]] = {**parent[path[-1]], "../../etc/passwd": next(iter(parent[path[-1]].values()))}
    else:
        parent[path[-1]] = value


def _present(document: Any, path: FieldPath) -> bool:
    for part in path:
        try:
            document = document[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("saved")
    folders = {}
    for name, (_, _, _, save, _) in ARTIFACTS.items():
        folders[name] = root / name
        save(folders[name])
    return folders


def _copy(saved: dict[str, Path], name: str, tmp_path: Path) -> tuple[Path, Path]:
    kind, file, *_ = ARTIFACTS[name]
    folder = tmp_path / name
    shutil.copytree(saved[name], folder)
    return folder, (artifacts.current_version(folder, kind) / file).resolve()


@pytest.mark.parametrize(("name", "path", "field", "value"), CASES)
def test_hand_edited_field_gives_a_named_artifact_error(name, path, field, value, saved, tmp_path):
    folder, file = _copy(saved, name, tmp_path)
    document = json.loads(file.read_text())
    if not _present(document, path):
        # This artifact does not write the field: the schema must call it optional, and the artifact loads.
        assert not field.required, f"{name}: required field {path} is not written"
        ARTIFACTS[name][4](folder)
        return
    _edit(document, path, value)
    file.write_text(json.dumps(document))
    dotted = ".".join(str(part) for part in path)
    # A key of a free mapping (a file of the manifest, a sampler queue) may be missing: the loader decides.
    optional = value is _REMOVED and (not field.required or path[:-1] in SAMPLES)
    try:
        ARTIFACTS[name][4](folder)
    except ArtifactError as error:
        message = str(error)
        assert file.name in message or str(folder) in message, message
        if not optional:
            named = error.field if isinstance(error, ArtifactFieldError) else message
            assert dotted in named or str(path[-1]) in message, message
        return
    assert optional, f"{dotted} = {value!r} was accepted"


def test_case_counts():
    # One line of the README's reliability figures: how many hand edits the generated cases make.
    by_artifact = {name: sum(1 for case in CASES if case.values[0] == name) for name in ARTIFACTS}
    assert all(count >= 9 for count in by_artifact.values()), by_artifact
    assert len(CASES) >= 250, len(CASES)


def _written_fields(document: dict[str, Any], schema: dict[str, Field]) -> list[str]:
    return [key for key in document if key not in schema]


@pytest.mark.parametrize("name", ["index", "corpus", "checkpoint", "pointer"])
def test_every_written_field_is_in_a_schema(name, saved, tmp_path):
    _, file = _copy(saved, name, tmp_path)
    schema = ARTIFACTS[name][2]
    assert _written_fields(json.loads(file.read_text()), schema) == []


def test_model_schema_covers_the_architecture(saved, tmp_path):
    _, file = _copy(saved, "model", tmp_path)
    document = json.loads(file.read_text())
    assert set(document["config"]["architecture"]) == set(ARCHITECTURE_SCHEMA)
    unread = {"preset", "corpus", "corpus_fingerprint", "training"}  # facts of the run, never read back
    assert set(_written_fields(document, MODEL_SCHEMA)) <= unread


# ------------------------------------------------------------------------------ beyond the JSON fields
def _rewrite_file(version: Path, name: str, data: bytes) -> None:
    import hashlib

    (version / name).write_bytes(data)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (version / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("array", ["object", "float64", "wrong-shape", "nan", "not-npy"])
def test_hand_edited_metadata_array_is_refused_by_name(array, saved, tmp_path):
    folder, file = _copy(saved, "index", tmp_path)
    count, dim = json.loads(file.read_text())["count"], json.loads(file.read_text())["dim"]
    buffer = io.BytesIO()
    if array == "not-npy":
        buffer.write(b"\x93NUMPY garbage")
    else:
        values = {"object": np.array([{"a": 1}] * count, dtype=object), "float64": np.zeros((count, dim)),
                  "wrong-shape": np.zeros((count, dim + 1), np.float32),
                  "nan": np.full((count, dim), np.nan, np.float32)}[array]
        np.save(buffer, values, allow_pickle=True)
    _rewrite_file(file.parent, "metadata.npy", buffer.getvalue())
    with pytest.raises(ArtifactError, match="metadata.npy"):
        ms.load_index(folder)


def test_index_kind_that_does_not_match_the_faiss_file_is_refused(saved, tmp_path):
    folder, file = _copy(saved, "index", tmp_path)
    document = json.loads(file.read_text())
    document["index_kind"] = "flat"  # the file holds an HNSW graph
    file.write_text(json.dumps(document))
    with pytest.raises(ArtifactError, match="index_kind.*'flat'.*'hnsw'"):
        ms.load_index(folder)


def test_pointer_naming_a_missing_version_is_damage_not_a_race(saved, tmp_path):
    folder, file = _copy(saved, "pointer", tmp_path)
    document = json.loads(file.read_text())
    document["version"] = "v-20000101T000000000000-00000000"
    file.write_text(json.dumps(document))
    with pytest.raises(ArtifactError, match="names v-20000101T000000000000-00000000, which is not in"):
        ms.load_index(folder)


@pytest.mark.parametrize("column", ["id", "metadata"])
def test_hand_edited_corpus_records_are_refused_by_name(column, saved, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder, file = _copy(saved, "corpus", tmp_path)
    table = pq.read_table(file.parent / "records.parquet")
    if column == "id":
        table = table.drop_columns(["id"])
    else:
        table = table.set_column(table.column_names.index("metadata"), "metadata",
                                 pa.array(["{not json"] * len(table)))
    pq.write_table(table, file.parent / "records.parquet")
    with pytest.raises(ArtifactError, match=f"records.parquet.*{column}"):
        ms.read_corpus(folder)


@pytest.mark.parametrize("name", sorted(set(ARCHITECTURE_SCHEMA) - {"preset"}))  # --preset, not --set
def test_a_bad_set_override_fails_like_a_bad_file(name):
    # `musicsearch train --set num_heads=0` and a config.json with "num_heads": 0 go through one check.
    for _, value in _wrong_values(ARCHITECTURE_SCHEMA[name]):
        with pytest.raises(ConfigFieldError, match=f"overrides: field '{name}' is "):
            ms.get_config("tiny", **{name: copy.deepcopy(value)})
        with pytest.raises(ConfigFieldError, match=f"overrides: field '{name}' is "):
            get_model_config("tiny", **{name: copy.deepcopy(value)})


def test_a_config_built_in_code_is_checked_too():
    with pytest.raises(ConfigFieldError, match="field 'num_heads' is 0"):
        ModelConfig(num_heads=0)
    with pytest.raises(ConfigFieldError, match="hidden_size must be divisible by num_heads"):
        ModelConfig(hidden_size=30, num_heads=4)
