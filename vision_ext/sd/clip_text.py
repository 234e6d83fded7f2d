"""CLIP's text transformer (Radford et al. 2021), equivalent to transformers' CLIPTextModel (same
config keys and state-dict keys): token + position embeddings, pre-LayerNorm causal self-attention
layers, final LayerNorm; pooled output = the end-of-text token's state."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.sd.config import record
from vision_ext.sd.loading import FromPretrained
from vision_ext.sd.outputs import CLIPTextOutput

_ACTIVATIONS = {"quick_gelu": lambda x: x * torch.sigmoid(1.702 * x), "gelu": F.gelu,
                "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
                "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"), "relu": F.relu, "silu": F.silu}


class CLIPAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"num_attention_heads: {heads} heads do not divide hidden_size {dim}")
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (p(x).view(b, n, self.heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class CLIPMLP(nn.Module):
    def __init__(self, dim: int, hidden: int, act: str):
        super().__init__()
        self.act = _ACTIVATIONS[act]
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, act: str, eps: float):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(dim, eps=eps)
        self.self_attn = CLIPAttention(dim, heads)
        self.layer_norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = CLIPMLP(dim, hidden, act)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEmbeddings(nn.Module):
    def __init__(self, vocab_size: int, dim: int, max_positions: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, dim)
        self.position_embedding = nn.Embedding(max_positions, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[-1]
        return self.token_embedding(ids) + self.position_embedding.weight[:n]


class CLIPEncoder(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)


def _rename_hub_keys(key: str) -> Optional[str]:
    """Hub checkpoints (transformers 4) prefix every key with text_model. and store position_ids."""
    key = key[len("text_model."):] if key.startswith("text_model.") else key
    return None if key == "embeddings.position_ids" else key


class CLIPTextModel(FromPretrained, nn.Module):
    """forward(input_ids [B, N]) -> .last_hidden_state [B, N, hidden], .pooler_output [B, hidden]."""

    def __init__(self, vocab_size: int = 49408, hidden_size: int = 512, intermediate_size: int = 2048,
                 num_hidden_layers: int = 12, num_attention_heads: int = 8, max_position_embeddings: int = 77,
                 hidden_act: str = "quick_gelu", layer_norm_eps: float = 1e-5, pad_token_id: int = 1,
                 bos_token_id: int = 49406, eos_token_id: int = 49407, projection_dim: int = 512):
        values = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        if hidden_act not in _ACTIVATIONS:
            raise ValueError(f"hidden_act: expected one of {', '.join(_ACTIVATIONS)}, got {hidden_act!r}")
        self.config = record(type(self), values)
        self.embeddings = CLIPEmbeddings(vocab_size, hidden_size, max_position_embeddings)
        self.encoder = CLIPEncoder([CLIPEncoderLayer(hidden_size, num_attention_heads, intermediate_size,
                                                     hidden_act, layer_norm_eps) for _ in range(num_hidden_layers)])
        self.final_layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

    _rename = staticmethod(_rename_hub_keys)

    @property
    def dtype(self) -> torch.dtype:
        return self.final_layer_norm.weight.dtype

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                output_hidden_states: bool = False, return_dict: bool = True):
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids: expected [B, N] token ids, got shape {tuple(input_ids.shape)}")
        n, max_n = input_ids.shape[1], self.config.max_position_embeddings
        if n > max_n:
            raise ValueError(f"input_ids: {n} tokens exceed max_position_embeddings={max_n}; truncate them "
                             "(the tokenizer does with truncation=True)")
        x = self.embeddings(input_ids)
        # Causal mask, plus padding positions masked out when attention_mask is given.
        allowed = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask.bool()[:, None, None, :]
        mask = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill(~allowed,
                                                                                       torch.finfo(x.dtype).min)
        states = [x]
        for layer in self.encoder.layers:
            x = layer(x, mask)
            states.append(x)
        x = self.final_layer_norm(x)
        rows = torch.arange(x.shape[0], device=x.device)
        if self.config.eos_token_id == 2:
            # Old CLIP configs say eos 2 while their end token is the largest id: take the argmax
            # position, as transformers does for them.
            pooled = x[rows, input_ids.to(torch.int).argmax(dim=-1)]
        else:
            pooled = x[rows, (input_ids == self.config.eos_token_id).int().argmax(dim=-1)]
        hidden = tuple(states) if output_hidden_states else None
        if not return_dict:
            return (x, pooled) + ((hidden,) if hidden is not None else ())
        return CLIPTextOutput(x, pooled, hidden)
