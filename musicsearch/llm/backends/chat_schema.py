"""What ``musicsearch llm serve`` accepts and how it refuses: OpenAI chat-completion requests as pydantic models.

A request is validated field by field before any work is spent on it: strict JSON types (``"10"`` is not a
number, ``10.0`` is not an integer), finite numbers only (``1e999`` and ``NaN`` are refused), known chat
roles only, and OpenAI's ranges (``temperature`` 0–2, at most 4 stop strings and 20 ``top_logprobs``).
Unknown fields are ignored, as OpenAI clients send many (``user``, ``top_p``, ...). A refusal is a JSON body
in OpenAI's error shape, so every OpenAI client shows its message.

Example:
    >>> request = ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "Hi"}]})
    >>> generation_settings(request)
    (64, (), None, 0.0, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

DEFAULT_MAX_TOKENS = 64  # when a request names no limit
MAX_NEW_TOKENS = 4096  # a larger request is served up to this and reported as finish_reason "length"
ROLES = ("system", "developer", "user", "assistant")


def _text_of_parts(content: Any) -> Any:
    """Content given as OpenAI's list of parts becomes one string; only text parts can be served."""
    if not isinstance(content, list):
        return content
    texts = []
    for position, part in enumerate(content):
        if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
            raise ValueError(f"content part {position} is {str(part)[:80]}; this server reads only "
                             '{"type": "text", "text": "..."} parts')
        texts.append(part["text"])
    return "".join(texts)


def _listed(stop: Any) -> Any:
    return [stop] if isinstance(stop, str) else stop


class ChatMessage(BaseModel):
    """One chat message: a known role and its text."""

    model_config = ConfigDict(strict=True, extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, BeforeValidator(_text_of_parts)]


class ChatCompletionRequest(BaseModel):
    """The body of ``POST /v1/chat/completions`` (the fields this server honours)."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)

    model: str | None = None  # one model per server: any name is served by it
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = Field(None, ge=-(2**63), lt=2**64)  # what torch.manual_seed accepts
    stop: Annotated[list[str] | None, BeforeValidator(_listed), Field(max_length=4)] = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    n: int | None = Field(None, ge=1, le=1)  # one choice per request
    stream: bool | None = None

    @field_validator("stream")
    @classmethod
    def _no_streaming(cls, stream: bool | None) -> bool | None:
        if stream:
            raise ValueError("this server does not stream; send stream=false")
        return stream


def generation_settings(request: ChatCompletionRequest) -> tuple:
    """``(max_tokens, stop, logprobs, temperature, seed)``: requests with equal settings are batched together."""
    max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
    logprobs = (request.top_logprobs or 0) if request.logprobs else None
    return (min(max_tokens, MAX_NEW_TOKENS), tuple(request.stop or ()), logprobs, request.temperature or 0.0,
            request.seed or 0)


def chat_messages(request: ChatCompletionRequest) -> list[dict[str, str]]:
    """The messages as the backends take them (``developer`` is OpenAI's newer name for ``system``)."""
    return [{"role": "system" if message.role == "developer" else message.role, "content": message.content}
            for message in request.messages]


def error_body(status: int, message: str, *, kind: str = "invalid_request_error",
               param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``.

    Example:
        >>> error_body(404, "no route /x")["error"]["type"]
        'invalid_request_error'
    """
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def validation_message(errors: Sequence[dict[str, Any]]) -> tuple[str, str | None]:
    """A one-line message and the offending field (OpenAI's ``param``) for pydantic/FastAPI errors.

    Example:
        >>> validation_message([{"loc": ("body", "messages", 0, "role"), "type": "literal_error",
        ...                      "msg": "Input should be 'user'", "input": "hacker"}])
        ("bad request: messages[0].role: Input should be 'user' (got 'hacker')", 'messages[0].role')
    """
    if not errors:
        return "bad request", None
    first = errors[0]
    location = [part for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return f"bad request: the body is not valid JSON ({detail} at character {location[0] if location else 0})", None
    if not location:
        return ("bad request: the body must be a JSON object with 'messages' "
                "(send it with Content-Type: application/json)"), None
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if first.get("type") not in ("missing", "value_error"):  # a value error's message already says what came
        message += f" (got {_short(first.get('input'))})"
    more = f"; and {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    return f"bad request: {param}: {message}{more}", param


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
