"""The kinds of artifact folders musicsearch writes, and how a folder of each looked before versions.

The kind is recorded in every artifact folder's pointer file, so writing a model into an index folder (or
an index into a model folder, ...) is refused with both kinds named. Folders written before versioned
folders hold their files directly; :attr:`ArtifactKind.marker` recognises them and
:attr:`ArtifactKind.legacy_entries` lists what the first versioned write migrates away.

Example:
    >>> get_kind("index").article
    'an index'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArtifactError


@dataclass(frozen=True)
class ArtifactKind:
    """One kind of artifact folder."""

    name: str  # recorded in the pointer file
    label: str  # how messages name it
    marker: str  # the file that marks a folder of this kind written before versioned folders
    legacy_entries: tuple[str, ...]  # what such a folder holds of this kind

    @property
    def article(self) -> str:
        """The label with its article: "an index", "a model"."""
        return ("an " if self.label[0] in "aeiou" else "a ") + self.label


INDEX = ArtifactKind("index", "index", "manifest.json",
                     ("manifest.json", "index.faiss", "records.jsonl", "metadata.npy", "melody.npz", "keywords.npz",
                      "duplicates.npy"))
MODEL = ArtifactKind("model", "model", "config.json", ("config.json", "model.safetensors", "tokenizer"))
CORPUS = ArtifactKind("corpus", "corpus", "records.parquet", ("records.parquet", "report.json"))
CHECKPOINT = ArtifactKind("checkpoint", "training checkpoint", "state.json",
                          ("state.json", "model.safetensors", "optimizer"))
KINDS: dict[str, ArtifactKind] = {kind.name: kind for kind in (INDEX, MODEL, CORPUS, CHECKPOINT)}


def get_kind(kind: str | ArtifactKind) -> ArtifactKind:
    """The :class:`ArtifactKind` of a name (``"index"``, ``"model"``, ``"corpus"``, ``"checkpoint"``)."""
    if isinstance(kind, ArtifactKind):
        return kind
    try:
        return KINDS[kind]
    except KeyError:
        raise ArtifactError(f"unknown artifact kind {kind!r}; choose one of {', '.join(KINDS)}.") from None
