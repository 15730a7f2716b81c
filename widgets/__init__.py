"""Interactive tools on top of musicsearch (ipywidgets): thin layouts whose behaviour lives in the package.

Each widget keeps its state in traitlets, so it can be driven (and tested) by setting traits without a
browser, and gives itself a stable CSS class (``ms-searchbox``, ``ms-zeroshot``, ...) for browser tests.

Example:
    >>> from widgets import SearchBox  # doctest: +SKIP
    >>> SearchBox(ms.load_index())  # doctest: +SKIP
"""

from .embedding_map import EmbeddingMap
from .lut_explorer import LUTExplorer
from .search_box import SearchBox
from .search_page_viewer import SearchPageViewer
from .zero_shot_panel import ZeroShotPanel

__all__ = ["EmbeddingMap", "LUTExplorer", "SearchBox", "SearchPageViewer", "ZeroShotPanel"]
