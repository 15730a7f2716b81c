"""The text side's projection into the joint space: one linear map (CLaMP's), or a small MLP.

A frozen MiniLM gives one mean-pooled vector per caption, in which every phrase of the caption ("in D
major", "in six-eight time", "from Lorraine") sits superposed. A single linear map must read all of them
out at once; two hidden layers let the head pull apart what a linear read-out leaves tangled. A diagnostic
on the second release's music vectors, held fixed: a retrained linear head reached held-out MRR 0.386, a
two-hidden-layer head of width 1024 0.43. How the head is trained (last, against the frozen music side)
and the settings chosen on dev are in :mod:`musicsearch.training.head_refit`.

Layer names keep older folders readable: with no hidden layer the head *is* ``nn.Linear`` (saved as
``text_proj.weight``/``text_proj.bias``, as before); with hidden layers it is an ``nn.Sequential`` whose
linear layers sit at ``text_proj.0``, ``text_proj.2``, ...

Example:
    >>> build_text_head(384, 256, hidden_layers=0, width=1024)
    Linear(in_features=384, out_features=256, bias=True)
    >>> [type(layer).__name__ for layer in build_text_head(384, 256, hidden_layers=2, width=64)]
    ['Linear', 'GELU', 'Linear', 'GELU', 'Linear']
"""

from __future__ import annotations

from torch import nn


def build_text_head(in_features: int, out_features: int, *, hidden_layers: int, width: int) -> nn.Module:
    """The projection from pooled text features to the joint space.

    Args:
        in_features: size of the text encoder's pooled output (384 for MiniLM).
        out_features: size of the joint space.
        hidden_layers: GELU layers of ``width`` before the final linear map (0: a single ``nn.Linear``).
        width: size of each hidden layer.

    Returns:
        ``nn.Linear`` or ``nn.Sequential`` with PyTorch's default initialisation; the model then starts the
        last linear map (:func:`last_linear`) small, like the music side's projection.
    """
    if hidden_layers < 0:
        raise ValueError(f"hidden_layers is {hidden_layers}; expected 0 or more.")
    layers: list[nn.Module] = []
    size = in_features
    for _ in range(hidden_layers):
        layers += [nn.Linear(size, width), nn.GELU()]
        size = width
    last = nn.Linear(size, out_features)
    return last if not layers else nn.Sequential(*layers, last)


def last_linear(head: nn.Module) -> nn.Linear:
    """The linear map that writes the joint-space vector (the head itself when it is one)."""
    return head if isinstance(head, nn.Linear) else head[-1]


def start_small(linear: nn.Linear) -> None:
    """Initialise a projection into the joint space small (std 0.02, zero bias): near-uniform similarities at first."""
    nn.init.normal_(linear.weight, std=0.02)
    nn.init.zeros_(linear.bias)
