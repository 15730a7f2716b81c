"""The project's own exceptions: every error a user can cause is one of these, with a message that
names the file or field at fault and says what to do."""

from __future__ import annotations


class MusicSearchError(Exception):
    """Base class of every error musicsearch raises on purpose."""


class ABCError(MusicSearchError, ValueError):
    """ABC text that cannot be cleaned or patched (empty, binary, no music)."""


class CorpusError(MusicSearchError, ValueError):
    """A corpus source (folder, table, cache) that cannot be read."""


class ArtifactError(MusicSearchError, OSError):
    """A saved model or index that is missing, corrupted, or from an incompatible version."""


class QueryError(MusicSearchError, ValueError):
    """A search or classification request that cannot be answered as given."""


class LLMError(MusicSearchError, RuntimeError):
    """A language-model backend that cannot be reached or gave unusable output."""
