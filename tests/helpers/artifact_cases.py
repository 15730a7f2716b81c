"""Each artifact kind (index, corpus, model, checkpoint) as generations that differ in every file.

An :class:`ArtifactCase` knows how to save generation ``g`` of its kind and how to load a folder back and
say which generation it holds, after checking that every file of the load belongs to that one generation
(a mix of two raises :class:`MixedArtifact`). Used by the fault campaigns (:mod:`tests.helpers.faults`).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicsearch import artifacts

DIM = 16
COUNT = 12


class MixedArtifact(AssertionError):
    """A load returned files of two generations."""


@dataclass
class ArtifactCase:
    """One artifact kind under test: ``save(g, folder)`` writes generation g; ``load(folder)`` returns g."""

    kind: str
    save: Callable[[int, Path], Any]
    load: Callable[[Path], int]


# ------------------------------------------------------------------------------------------- the cases
def _records(generation: int) -> list[Any]:

    from tests.helpers.search import make_records

    return [dataclasses.replace(record, id=f"{record.id}-g{generation}") for record in make_records()[:COUNT]]


def _vectors(generation: int) -> np.ndarray:
    vectors = np.random.default_rng(generation).standard_normal((COUNT, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _generation_of_ids(ids: list[str]) -> int:
    generations = {identifier.rsplit("-g", 1)[1] for identifier in ids}
    if len(generations) != 1:
        raise MixedArtifact(f"records of generations {sorted(generations)}")
    return int(generations.pop())


def index_case() -> ArtifactCase:
    import musicsearch as ms

    def save(generation: int, folder: Path) -> None:
        ms.SearchIndex.from_embeddings(_vectors(generation), _records(generation), fingerprint=f"gen-{generation}",
                                       metadata_vectors=_vectors(generation + 10_000)).save(folder)

    def load(folder: Path) -> int:
        index = ms.SearchIndex.load(folder)
        generation = int(index.fingerprint.split("-")[1])
        if _generation_of_ids([r.id for r in index.records]) != generation \
                or not np.allclose(index.embeddings(), _vectors(generation), atol=1e-6) \
                or not np.allclose(index.metadata_vectors, _vectors(generation + 10_000)):
            raise MixedArtifact(f"manifest of generation {generation}, other files of another")
        return generation

    return ArtifactCase("index", save, load)


def corpus_case() -> ArtifactCase:
    import musicsearch as ms
    from musicsearch.data.corpus import fingerprint_of

    def save(generation: int, folder: Path) -> None:
        records = _records(generation)
        report = ms.BuildReport(f"gen-{generation}", len(records) + generation % 3, len(records),
                                [(f"junk{i}.abc", "not music") for i in range(generation % 3)])
        ms.save_corpus(ms.Corpus(records, f"gen-{generation}", report,
                                 fingerprint=fingerprint_of([r.id for r in records])), folder)

    def load(folder: Path) -> int:
        corpus = ms.read_corpus(folder)
        generation = int(corpus.name.split("-")[1])
        if corpus.fingerprint != fingerprint_of([r.id for r in corpus]) or \
                _generation_of_ids([r.id for r in corpus]) != generation or \
                len(corpus.report.skipped) != generation % 3:
            raise MixedArtifact(f"report of generation {generation}, records of another")
        return generation

    return ArtifactCase("corpus", save, load)


def model_case() -> ArtifactCase:
    import torch

    import musicsearch as ms

    model = ms.MusicTextModel("tiny")

    def save(generation: int, folder: Path) -> None:
        with torch.no_grad():
            model.music_proj.bias.fill_(float(generation))  # every generation has its own weights
        model.training_settings = {"generation": generation}  # ... and its own config
        model.save_pretrained(folder)

    def load(folder: Path) -> int:
        loaded = ms.load_model(folder)
        generation = loaded.training_settings["generation"]
        if not torch.all(loaded.music_proj.bias == float(generation)):
            raise MixedArtifact(f"config of generation {generation}, weights of another")
        return generation

    return ArtifactCase("model", save, load)


def checkpoint_case() -> ArtifactCase:
    import random

    import torch

    from musicsearch.training.checkpoints import load_checkpoint, save_checkpoint

    def parts() -> tuple[Any, Any, Any]:
        module = torch.nn.Linear(4, 3)
        optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
        module(torch.ones(2, 4)).sum().backward()
        optimizer.step()
        return module, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    module, optimizer, scheduler = parts()
    extra = {"config": {}, "sampler": {"rng": {}, "queues": {}}, "history": {},
             "mask_generator": torch.Generator().get_state().tolist()}

    def save(generation: int, folder: Path) -> None:
        for state in optimizer.state.values():
            state["exp_avg"].fill_(float(generation))
        save_checkpoint(folder, weights={"w": torch.full((3, 4), float(generation))}, optimizer=optimizer,
                        scheduler=scheduler, step=generation, extra=extra, py_rng=random.Random(generation))

    def load(folder: Path) -> int:
        _, fresh_optimizer, fresh_scheduler = parts()
        rng = torch.get_rng_state()  # loading a checkpoint restores torch's random state: put it back after
        try:
            weights, state = load_checkpoint(folder, optimizer=fresh_optimizer, scheduler=fresh_scheduler,
                                             py_rng=random.Random())
        finally:
            torch.set_rng_state(rng)
        generation = state["step"]
        moments = [s["exp_avg"] for s in fresh_optimizer.state.values()]
        if not torch.all(weights["w"] == generation) or not all(torch.all(m == generation) for m in moments):
            raise MixedArtifact(f"state.json of step {generation}, tensors of another")
        return generation

    return ArtifactCase("checkpoint", save, load)


CASES = {"index": index_case, "corpus": corpus_case, "model": model_case, "checkpoint": checkpoint_case}


# ------------------------------------------------------------------------------------------ the layout
def flatten_to_layout_before_versions(folder: Path) -> None:
    """Turn a versioned artifact folder into the layout older musicsearch wrote (files directly in it)."""
    version = artifacts.current_version(folder, artifacts.artifact_kind(folder))
    for entry in version.iterdir():
        if entry.name != ".readers":
            entry.rename(folder / entry.name)
    for entry in list(folder.iterdir()):
        if entry.name.startswith(("v-", ".")) or entry.name == "CURRENT":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def leftovers(folder: Path) -> list[str]:
    """Entries a clean write must not leave: staging folders, temporary files, more than two versions,
    files of the layout before versions."""
    names = sorted(entry.name for entry in folder.iterdir())
    versions = [name for name in names if name.startswith("v-")]
    extra = [name for name in names if name not in ("CURRENT", ".lock") and not name.startswith("v-")]
    return extra + (versions[:-2] if len(versions) > 2 else [])
