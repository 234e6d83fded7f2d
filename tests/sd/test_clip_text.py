"""Our CLIPTextModel against transformers' on tiny random configs loaded from save_pretrained folders."""
import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import sd_tiny
from vision_ext.sd import CLIPTextModel

CONFIGS = {
    "sd-test": dict(),
    "h8-2heads-2layers": dict(hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=2),
    "gelu-eos999": dict(hidden_act="gelu", eos_token_id=999, num_hidden_layers=3),
}


def _close(ours, theirs):
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))


def _ids(batch=3, n=77, eos=2):
    ids = torch.randint(3, 990, (batch, n))
    ids[:, 0] = 0
    ids[0, 9:] = 1  # padding after an end token at 8
    ids[0, 8] = eos
    ids[1, 30] = eos
    ids[2, -1] = eos
    return ids


@pytest.mark.parametrize("name", CONFIGS)
def test_equal_to_transformers(name, tmp_path):
    peer = sd_tiny.text_encoder(**CONFIGS[name])
    peer.save_pretrained(tmp_path)
    ours = CLIPTextModel.from_pretrained(tmp_path)
    ids = _ids(eos=peer.config.eos_token_id)
    mask = (torch.arange(77) < 9).long()[None].repeat(3, 1)
    mask[1:] = 1
    with torch.no_grad():
        for attention_mask in (None, mask):
            a = ours(ids, attention_mask=attention_mask, output_hidden_states=True)
            b = peer(ids, attention_mask=attention_mask, output_hidden_states=True)
            _close(a.last_hidden_state, b.last_hidden_state)
            _close(a.pooler_output, b.pooler_output)
            assert len(a.hidden_states) == len(b.hidden_states)
            _close(a.hidden_states[-2], b.hidden_states[-2])
        short = ids[:, :20]
        _close(ours(short)[0], peer(short)[0])


def test_hub_keys_with_text_model_prefix(tmp_path):
    """SD 1.x hub checkpoints (transformers 4) store text_model.* keys and position_ids."""
    peer = sd_tiny.text_encoder()
    peer.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state = {"text_model." + k: v for k, v in state.items()}
    state["text_model.embeddings.position_ids"] = torch.arange(77)[None]
    (tmp_path / "model.safetensors").unlink()
    save_file(state, tmp_path / "model.safetensors")
    ours = CLIPTextModel.from_pretrained(tmp_path)
    ids = _ids()
    with torch.no_grad():
        _close(ours(ids).last_hidden_state, peer(ids).last_hidden_state)


def test_bin_weights(tmp_path):
    peer = sd_tiny.text_encoder()
    peer.save_pretrained(tmp_path)
    torch.save(load_file(tmp_path / "model.safetensors"), tmp_path / "pytorch_model.bin")
    (tmp_path / "model.safetensors").unlink()
    ids = _ids()
    with torch.no_grad():
        _close(CLIPTextModel.from_pretrained(tmp_path)(ids).pooler_output, peer(ids).pooler_output)


def test_bad_inputs(tmp_path):
    peer = sd_tiny.text_encoder()
    peer.save_pretrained(tmp_path)
    ours = CLIPTextModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        ours(torch.zeros(1, 78, dtype=torch.long))
    with pytest.raises(ValueError, match="input_ids"):
        ours(torch.zeros(77, dtype=torch.long))
    with pytest.raises(FileNotFoundError, match="never downloads"):
        CLIPTextModel.from_pretrained("openai/clip-vit-large-patch14")
    wrong = sd_tiny.text_encoder(num_hidden_layers=2)
    wrong.save_pretrained(tmp_path / "two")
    (tmp_path / "two" / "config.json").write_text((tmp_path / "config.json").read_text())
    with pytest.raises(ValueError, match="missing encoder.layers.2"):
        CLIPTextModel.from_pretrained(tmp_path / "two")
    with pytest.raises(ValueError, match="hidden_act"):
        CLIPTextModel(hidden_size=8, intermediate_size=16, num_attention_heads=2, hidden_act="swiglu")
