"""The CLaMP checkpoint loader, on a synthetic state dict of the official layout at tiny size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import musicsearch as ms
from musicsearch.data.patches import collate_patches, patchify
from musicsearch.errors import ArtifactError
from musicsearch.models.clamp import ClampModel, load_clamp_checkpoint
from musicsearch.models.loading import load_model
from musicsearch.models.text_encoder import minilm_path

TUNES = ["X:1\nL:1/8\nM:6/8\nK:D\n|:dfa afd|BdB AFA:|", "X:2\nL:1/8\nM:4/4\nK:G\nGABc dedB|c2A2 B2G2|"]


class _OfficialLayout(nn.Module):
    """A stand-in for CLaMP's own classes: same attribute names, hence the same state-dict keys."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

        torch.manual_seed(0)
        self.text_enc = RobertaModel(RobertaConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                                   num_attention_heads=1, intermediate_size=64,
                                                   max_position_embeddings=130, pad_token_id=1))
        self.text_proj = nn.Linear(32, 24)
        self.music_enc = nn.Module()
        self.music_enc.patch_embedding = nn.Linear(64 * 98, 32)
        self.music_enc.enc = BertModel(BertConfig(vocab_size=1, hidden_size=32, num_hidden_layers=2,
                                                  num_attention_heads=2, intermediate_size=64,
                                                  max_position_embeddings=16))
        self.music_proj = nn.Linear(32, 24)

    def music_features(self, patches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # CLaMP's own arithmetic: literal one-hot, Linear, BERT on inputs_embeds, masked average, projection.
        one_hot = nn.functional.one_hot(patches, 98).reshape(len(patches), -1, 64 * 98).float()
        states = self.music_enc.enc(inputs_embeds=self.music_enc.patch_embedding(one_hot),
                                    attention_mask=mask.long()).last_hidden_state
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.music_proj(pooled)


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    reference = _OfficialLayout().eval()
    folder = tmp_path_factory.mktemp("clamp")
    torch.save(reference.state_dict(), folder / "pytorch_model.bin")
    return reference, folder


def test_loads_bin_checkpoint_and_matches_reference_arithmetic(official):
    reference, folder = official
    model = load_clamp_checkpoint(folder, tokenizer=minilm_path(), text_heads=1)
    assert isinstance(model, ClampModel) and model.dim == 24
    patches, mask = collate_patches(patchify(TUNES, model.config.max_patches))
    with torch.no_grad():
        expected = nn.functional.normalize(reference.music_features(patches, mask), dim=-1).numpy()
    np.testing.assert_allclose(model.encode_music(TUNES), expected, atol=1e-4)  # summation order only
    assert model.encode_text(["a jig in six-eight", "a reel"]).shape == (2, 24)


def test_safetensors_round_trip_through_save_pretrained(official, tmp_path):
    reference, _ = official
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, tmp_path / "model.safetensors")
    model = load_clamp_checkpoint(tmp_path, tokenizer=minilm_path(), text_heads=1)
    model.save_pretrained(tmp_path / "converted")
    again = load_model(tmp_path / "converted")
    assert isinstance(again, ClampModel) and again.fingerprint == model.fingerprint
    np.testing.assert_allclose(again.encode_text("a hornpipe"), model.encode_text("a hornpipe"), atol=1e-6)


def test_wrong_shape_missing_and_foreign_keys_are_clear_errors(official, tmp_path):
    reference, _ = official
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    state["music_proj.weight"] = torch.zeros(24, 31)
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ArtifactError, match="wrong shapes.*music_proj"):
        load_clamp_checkpoint(tmp_path, tokenizer=minilm_path(), text_heads=1)
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ArtifactError, match="not a CLaMP checkpoint"):
        load_clamp_checkpoint(tmp_path, tokenizer=minilm_path())
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("music_proj.bias")}
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ArtifactError, match="missing keys"):
        load_clamp_checkpoint(tmp_path, tokenizer=minilm_path(), text_heads=1)


def test_corrupted_file_and_missing_tokenizer(official, tmp_path):
    reference, folder = official
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ArtifactError, match="model.safetensors.*corrupted"):
        load_clamp_checkpoint(tmp_path, tokenizer=minilm_path())
    with pytest.raises(ArtifactError, match="no tokenizer files"):
        load_clamp_checkpoint(folder)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_clamp_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="holds none of"):
        load_clamp_checkpoint(tmp_path / "empty")


def test_pickled_code_is_refused(tmp_path):
    class _Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"x": _Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ArtifactError, match="could not be read"):
        load_clamp_checkpoint(tmp_path, tokenizer=minilm_path())
    assert ms.MusicSearchError  # the error is one of the project's own


@pytest.mark.parametrize(("edit", "field"), [
    (lambda c: c["music"].update(num_attention_heads=0), "config.music.num_attention_heads"),
    (lambda c: c["music"].update(num_attention_heads=3), "config.music.num_attention_heads"),
    (lambda c: c["text"].pop("hidden_size"), "config.text.hidden_size"),
    (lambda c: c.update(embed_dim="24"), "config.embed_dim"),
    (lambda c: c.update(max_patches=-1), "config.max_patches"),
])
def test_hand_edited_clamp_config_is_a_named_error(official, tmp_path, edit, field):
    import json

    from musicsearch import artifacts

    reference, folder = official
    load_clamp_checkpoint(folder, tokenizer=minilm_path(), text_heads=1).save_pretrained(tmp_path / "converted")
    config_file = artifacts.current_version(tmp_path / "converted", "model") / "config.json"
    payload = json.loads(config_file.read_text())
    edit(payload["config"])
    config_file.write_text(json.dumps(payload))
    with pytest.raises(artifacts.ArtifactFieldError, match=f"config.json: field '{field}'") as caught:
        load_model(tmp_path / "converted")
    assert caught.value.field == field
