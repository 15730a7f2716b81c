"""One check for every manifest and config read from disk: a small declarative schema.

A schema maps field names to :class:`Field` s (type, allowed values or range, required or optional,
nested fields). :func:`check` walks a payload against it and raises one error that names the file, the
field, what was found and what was expected, so a hand-edited ``"format_version": "2.0"`` or
``"num_heads": 0`` never reaches NumPy, faiss or torch. Fields a schema does not name are left alone
(writers may add facts, e.g. ``corpus_fingerprint``); a schema that must refuse them says so itself.

Example:
    >>> check({"dim": "64"}, {"dim": Field(int, minimum=1)}, "manifest.json")
    Traceback (most recent call last):
    ...
    musicsearch.artifacts.schema.ArtifactFieldError: manifest.json: field 'dim' is '64' (a string); expected an integer >= 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ArtifactError, MusicSearchError

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping",
               list: "a list"}


class _FieldProblem:
    """What every schema error carries besides its message: the file, the field, found and expected."""

    def __init__(self, message: str, *, source: str, field: str, found: str, expected: str) -> None:
        super().__init__(message)
        self.source, self.field, self.found, self.expected = source, field, found, expected


class ArtifactFieldError(_FieldProblem, ArtifactError):
    """A field of a file on disk (manifest, config, report, checkpoint state) with a wrong type or value."""


class ConfigFieldError(_FieldProblem, MusicSearchError, ValueError):
    """A field of a config built in code or from ``--set`` with a wrong type or value."""


@dataclass(frozen=True)
class Field:
    """What one field may hold.

    Args:
        type: ``int``, ``float`` (integers accepted, must be finite), ``str``, ``bool``, ``dict``, ``list``
            or a tuple of them; ``object`` accepts anything. ``True`` is never an integer.
        required: whether the field must be present.
        nullable: whether ``null`` is allowed.
        choices: the allowed values.
        minimum, maximum: inclusive bounds of a number, or of a list's or string's length.
        pattern: a regular expression a string must match in full.
        length: the exact length of a list.
        fields: a mapping with these named fields (a nested schema).
        values: a mapping whose every value is this (its keys are free unless ``keys`` names them).
        keys: the allowed keys of a ``values`` mapping.
        items: a list whose every item is this.
        note: how an error describes the expected value, when the rules above say too little.
    """

    type: Any
    required: bool = True
    nullable: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    length: int | None = None
    fields: Mapping[str, Field] | None = None
    values: Field | None = None
    keys: tuple[str, ...] | None = None
    items: Field | None = None
    note: str = ""

    @property
    def types(self) -> tuple[type, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def expected(self) -> str:
        """The expected value in words, e.g. ``"an integer >= 1"``."""
        if self.note:
            text = self.note
        elif self.choices is not None:
            text = "one of " + ", ".join(repr(choice) for choice in self.choices)
        else:
            text = " or ".join(_TYPE_NAMES.get(kind, "any value") for kind in self.types)
            if self.minimum is not None and self.maximum is not None:
                text += f" between {_number(self.minimum)} and {_number(self.maximum)}"
            elif self.minimum is not None:
                text += f" >= {_number(self.minimum)}"
            elif self.maximum is not None:
                text += f" <= {_number(self.maximum)}"
            if self.length is not None:
                text += f" of {self.length} items"
        return text + (" or null" if self.nullable else "")


Schema = Mapping[str, Field]


def check(payload: Any, schema: Schema | Field, source: Any, *, hint: str = "", at: str = "",
          error: type[_FieldProblem] = ArtifactFieldError) -> Any:
    """Check ``payload`` against ``schema``; returns it unchanged.

    Args:
        payload: what was read (a parsed JSON document, a config's fields).
        schema: named fields, or one :class:`Field` for the whole payload.
        source: the file (or ``"overrides"``) named in errors.
        hint: what to do, appended to the message (e.g. how to rebuild the artifact).
        at: where ``payload`` sits in its file (``"config.architecture"``), prefixed to field names.
        error: the exception class; :class:`ArtifactFieldError` for files, :class:`ConfigFieldError` for
            values given in code.

    Raises:
        ArtifactFieldError: (or ``error``) naming the file, the field, what was found and what was expected.
    """
    field = schema if isinstance(schema, Field) else Field(dict, fields=schema)
    _check(payload, field, at, str(source), hint, error)
    return payload


def field_error(source: Any, field: str, found: Any, expected: str, *, hint: str = "",
                error: type[_FieldProblem] = ArtifactFieldError, missing: bool = False) -> Exception:
    """The error :func:`check` raises, for rules that span fields (``hidden_size`` divisible by ``num_heads``)."""
    found_text = "missing" if missing else f"is {describe(found)}"
    where = f"field '{field}'" if field else "the file"
    message = f"{source}: {where} {found_text}; expected {expected}."
    if hint:
        message += f" {hint}"
    return error(message, source=str(source), field=field, found=found_text, expected=expected)


def describe(value: Any) -> str:
    """A short description of a found value: its repr (cut at 60 characters) and its JSON type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping",
            list: "a list", type(None): "null"}.get(type(value), type(value).__name__)
    return text if value is None else f"{text} ({kind})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if object in types:
        return True
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _check(value: Any, field: Field, path: str, source: str, hint: str, error: type[_FieldProblem]) -> None:
    def fail() -> Exception:
        return field_error(source, path, value, field.expected(), hint=hint, error=error)

    if value is None:
        if field.nullable or object in field.types:
            return
        raise fail()
    if not _type_ok(value, field.types):
        raise fail()
    if isinstance(value, float) and not math.isfinite(value):
        raise fail()
    if field.choices is not None and value not in field.choices:
        raise fail()
    measure = len(value) if isinstance(value, str | list) else value if isinstance(value, int | float) else None
    if measure is not None and not isinstance(value, bool):
        if (field.minimum is not None and measure < field.minimum) or \
                (field.maximum is not None and measure > field.maximum):
            raise fail()
    if field.pattern is not None and isinstance(value, str) and not re.fullmatch(field.pattern, value):
        raise fail()
    if isinstance(value, list):
        if field.length is not None and len(value) != field.length:
            raise fail()
        if field.items is not None:
            for position, item in enumerate(value):
                _check(item, field.items, f"{path}[{position}]", source, hint, error)
    if isinstance(value, dict):
        _check_mapping(value, field, path, source, hint, error)


def _check_mapping(value: dict, field: Field, path: str, source: str, hint: str,
                   error: type[_FieldProblem]) -> None:
    prefix = f"{path}." if path else ""
    for name, child in (field.fields or {}).items():
        if name not in value:
            if child.required:
                raise field_error(source, prefix + name, None, child.expected(), hint=hint, error=error,
                                  missing=True)
            continue
        _check(value[name], child, prefix + name, source, hint, error)
    if field.values is not None:
        for name, item in value.items():
            if field.keys is not None and name not in field.keys:
                raise field_error(source, prefix + str(name), item, "one of the keys " + ", ".join(
                    repr(key) for key in field.keys), hint=hint, error=error)
            _check(item, field.values, prefix + str(name), source, hint, error)
