"""Everything musicsearch writes to disk goes through here: one writer, one reader, one schema check.

- :mod:`.publishing` and :mod:`.versions`: artifact folders (index, corpus, model, checkpoint) written as
  complete versions and published with one atomic rename (:func:`publish`), read whole from one version
  (:func:`read_artifact`): a reader sees the old version or the new one, never neither and never a mix;
  writers take turns; what killed writes left is removed by the next one.
- :mod:`.files`: single files written atomically (caches), and the temporary files of killed writers.
- :mod:`.schema`: the declarative check every manifest and config is read through.
- :mod:`.weights`: ``config.json`` + ``model.safetensors`` of anything with weights (never non-finite).
- :mod:`.kinds`: the kinds of artifact folders.

Example:
    >>> from musicsearch import artifacts
    >>> with artifacts.publish("corpora/mine", "corpus") as staging:  # doctest: +SKIP
    ...     artifacts.write_json(staging / "report.json", {"name": "mine"})
"""

from __future__ import annotations

from .files import (
    atomic_write_bytes,
    atomic_write_text,
    current_umask,
    fault_point,
    read_json,
    remove_stale_temporaries,
    set_fault_hook,
    write_json,
)
from .kinds import CHECKPOINT, CORPUS, INDEX, KINDS, MODEL, ArtifactKind, get_kind
from .publishing import check_writable, publish
from .schema import ArtifactFieldError, ConfigFieldError, Field, check, field_error
from .versions import (
    POINTER,
    artifact_exists,
    artifact_kind,
    current_version,
    find_version,
    read_artifact,
    resolve_version,
)
from .weights import (
    CONFIG_NAME,
    CONFIG_SCHEMA,
    FORMAT_VERSION,
    WEIGHTS_NAME,
    library_versions,
    load_config,
    load_state_dict_strict,
    load_weights,
    nonfinite_tensors,
    save_config,
    save_weights,
)

_current_umask = current_umask  # the name earlier versions of this module used

__all__ = [
    "CHECKPOINT", "CONFIG_NAME", "CONFIG_SCHEMA", "CORPUS", "FORMAT_VERSION", "INDEX", "KINDS", "MODEL", "POINTER", "WEIGHTS_NAME",
    "ArtifactFieldError", "ArtifactKind", "ConfigFieldError", "Field", "artifact_exists", "artifact_kind",
    "atomic_write_bytes", "atomic_write_text", "check", "check_writable", "current_umask", "current_version",
    "fault_point", "field_error", "find_version", "get_kind", "library_versions", "load_config",
    "load_state_dict_strict", "load_weights", "nonfinite_tensors", "publish", "read_artifact", "read_json",
    "remove_stale_temporaries", "resolve_version", "save_config", "save_weights", "set_fault_hook", "write_json",
]
