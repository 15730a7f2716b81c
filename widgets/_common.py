"""Small pieces shared by the widgets: a message area and error capture (UI only, no logic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as ipw

from musicsearch.errors import MusicSearchError
from musicsearch.ui.search_view import message_html


def query_input(placeholder: str, css_class: str) -> ipw.Text:
    """A wide text box that commits on Enter (not on every keystroke: each commit runs a search)."""
    box = ipw.Text(placeholder=placeholder, continuous_update=False, layout=ipw.Layout(width="60%"))
    box.add_class(css_class)
    return box


def message_area() -> ipw.HTML:
    """An HTML child that shows problems in the widget (class ``ms-status``)."""
    area = ipw.HTML("")
    area.add_class("ms-status")
    return area


def guarded(area: ipw.HTML, action: Callable[[], Any]) -> Any:
    """Run ``action``; a :class:`MusicSearchError` (bad query, labels, ABC) becomes a visible message.

    Unexpected errors are shown too, with their type, because a traceback in a Voila page is invisible.
    """
    try:
        result = action()
    except MusicSearchError as error:
        area.value = message_html(str(error))
        return None
    except Exception as error:  # noqa: BLE001 - a widget callback must never die silently
        area.value = message_html(f"{type(error).__name__}: {error}")
        return None
    area.value = ""
    return result
