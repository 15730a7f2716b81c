"""Explicit sampling ratios across collections (TTMR++), so small collections are not drowned.

The music21 corpus is lopsided: a few thousand Essen songs and Ryan's/O'Neill's tunes next to a few
hundred airs or chorales. Drawing tunes uniformly would teach the model mostly about the big books.
Each collection ``c`` with ``n_c`` tunes gets a share of the draws proportional to ``n_c ** power``
(``power=1``: as in the data, ``0``: every collection equally, ``0.5``: in between), unless the user gives
explicit ratios. Within a collection, tunes are drawn in a shuffled order without replacement, so every
tune is seen before any repeats.

Example:
    >>> shares = collection_shares(["a"] * 90 + ["b"] * 10, power=0.5)
    >>> round(shares["a"], 2), round(shares["b"], 2)
    (0.75, 0.25)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from ..errors import MusicSearchError


def collection_shares(collections: Sequence[str], *, power: float = 0.5,
                      ratios: Mapping[str, float] | None = None) -> dict[str, float]:
    """Share of the draws each collection gets (sums to 1).

    Args:
        collections: the collection of every tune.
        power: exponent of the collection size when no explicit ratio is given.
        ratios: explicit relative weights by collection name; collections not named keep the power rule,
            scaled into the remaining mass.

    Raises:
        MusicSearchError: a ratio names a collection that is not in the data, or is negative.
    """
    counts = Counter(collections)
    ratios = dict(ratios or {})
    unknown = sorted(set(ratios) - set(counts))
    if unknown:
        raise MusicSearchError(f"collection_ratios names collections not in the corpus: {unknown}; "
                               f"known: {sorted(counts)}.")
    if any(value < 0 for value in ratios.values()):
        raise MusicSearchError("collection_ratios must be non-negative.")
    weights = {name: float(count) ** power for name, count in counts.items()}
    total = sum(weights.values())
    shares = {name: weight / total for name, weight in weights.items()}
    if ratios:
        explicit = sum(ratios.values())
        if explicit <= 0:
            raise MusicSearchError("collection_ratios must give at least one collection a positive weight.")
        rest = [name for name in counts if name not in ratios]
        # Explicit names take their weight as given; the others share the rest in power-rule proportion.
        rest_mass = sum(shares[name] for name in rest)
        scale = explicit + rest_mass
        shares = {name: (ratios[name] if name in ratios else shares[name]) / scale for name in counts}
    return shares


class CollectionSampler:
    """Endless stream of tune indices following :func:`collection_shares`; deterministic for a seed.

    Example:
        >>> sampler = CollectionSampler(["a", "a", "b"], power=0.0, seed=0)
        >>> batch = sampler.batch(4); len(batch)
        4
    """

    def __init__(self, collections: Sequence[str], *, power: float = 0.5,
                 ratios: Mapping[str, float] | None = None, seed: int = 0) -> None:
        if not collections:
            raise MusicSearchError("cannot sample from an empty training set.")
        self.shares = collection_shares(collections, power=power, ratios=ratios)
        self.names = sorted(self.shares)
        self.probabilities = np.array([self.shares[name] for name in self.names])
        self.members = {name: np.array([i for i, c in enumerate(collections) if c == name]) for name in self.names}
        self.rng = np.random.default_rng(seed)
        self._queues: dict[str, list[int]] = {name: [] for name in self.names}
        self._ready: list[list[int]] = []

    def _next(self, name: str) -> int:
        queue = self._queues[name]
        if not queue:
            queue.extend(self.rng.permutation(self.members[name]).tolist())
        return queue.pop()

    def batch(self, size: int) -> list[int]:
        """``size`` tune indices (a tune appears at most once per batch unless its collection is tiny)."""
        names = self.rng.choice(len(self.names), size=size, p=self.probabilities)
        return [self._next(self.names[index]) for index in names]

    def length_batch(self, size: int, lengths: Sequence[int], pool: int = 4) -> list[int]:
        """A batch of tunes of similar length, so little compute is spent on padding.

        ``pool`` batches are drawn at once, sorted by ``lengths`` and cut into batches served in random
        order; ``pool=1`` is plain :meth:`batch`. The collection shares are the same either way.
        """
        if pool <= 1:
            return self.batch(size)
        if not self._ready:
            drawn = sorted(self.batch(size * pool), key=lambda index: lengths[index])
            chunks = [drawn[start:start + size] for start in range(0, len(drawn), size)]
            self._ready = [chunks[i] for i in self.rng.permutation(len(chunks))]
        return self._ready.pop()

    def __iter__(self) -> Iterator[int]:
        while True:
            yield from self.batch(256)

    def state(self) -> dict:
        """JSON-ready state, so a resumed run draws the same tunes as an uninterrupted one."""
        return {"rng": self.rng.bit_generator.state, "queues": {k: list(map(int, v)) for k, v in self._queues.items()},
                "ready": [list(map(int, batch)) for batch in self._ready]}

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self._queues = {name: list(state["queues"].get(name, [])) for name in self.names}
        self._ready = [list(batch) for batch in state.get("ready", [])]
