"""evaluation_mode: inference without dropout, and every submodule's own mode restored afterwards."""

from __future__ import annotations

import torch

from musicsearch.models.torch_modes import evaluation_mode


def _net() -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.9), torch.nn.Linear(4, 2))


def test_dropout_is_off_inside_and_mixed_modes_come_back():
    net = _net().train()
    net[2].eval()  # a frozen layer inside a training model, as in a partly fine-tuned text encoder
    x = torch.ones(8, 4)
    with evaluation_mode(net):
        assert not any(module.training for module in net.modules())
        torch.testing.assert_close(net(x), net(x))  # no dropout noise
    assert net.training and net[0].training and net[1].training and not net[2].training


def test_modes_come_back_after_an_error():
    net = _net().train()
    try:
        with evaluation_mode(net):
            raise RuntimeError("inside")
    except RuntimeError:
        pass
    assert all(module.training for module in net.modules())


def test_a_model_already_in_evaluation_mode_is_left_alone(monkeypatch):
    net = _net().eval()
    calls = []
    monkeypatch.setattr(torch.nn.Module, "train", lambda self, mode=True: calls.append(mode) or self)
    with evaluation_mode(net):
        pass
    assert calls == [] and not net.training
