"""Switch a module to evaluation mode for inference, cheaply, and put every submodule back as it was.

``module.eval()`` walks every submodule (MiniLM has ~120, and transformers adds its own hook), which costs
a few milliseconds: as much as encoding a short query. Encoding calls therefore switch modes only when
some submodule is actually training, and restore each submodule's own flag afterwards (a fine-tuned text
encoder keeps its frozen lower layers in evaluation mode while its top layers train).

Example:
    >>> layer = torch.nn.Dropout(0.5)
    >>> with evaluation_mode(layer):
    ...     layer.training
    False
    >>> layer.training
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def evaluation_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``module`` in evaluation mode inside the block; restore each submodule's mode after it."""
    training = [submodule for submodule in module.modules() if submodule.training]
    if not training:  # the usual case at inference: nothing to switch, nothing to pay
        yield module
        return
    # Flip the flags directly rather than calling .eval()/.train(): those recurse and run overrides.
    for submodule in training:
        submodule.training = False
    try:
        yield module
    finally:
        for submodule in training:
            submodule.training = True
