"""The Gated Attention Unit of RTMPose's head (MMPose's ``models/utils/rtmcc_block.py``).

:class:`RTMCCBlock` mixes ``K`` keypoint tokens ``(B, K, C)`` with a single-head squared-ReLU attention gated by a
second projection (`Transformer Quality in Linear Time <https://arxiv.org/abs/2202.10447>`_). State-dict keys as
MMPose: ``uv``, ``o``, ``gamma``, ``beta``, ``ln.g``, ``res_scale.scale`` (+ ``w`` / ``a``, ``b`` with relative bias,
``k_fc``, ``v_fc`` for cross-attention).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.utils.transformer import DropPath, ScaleNorm

__all__ = ["rope", "Scale", "ScaleNorm", "RTMCCBlock"]


def rope(x: torch.Tensor, dim: int | Sequence[int]) -> torch.Tensor:
    """Rotary position embedding of ``x`` over its spatial axes ``dim`` (MMPose's formulation, RoFormer).

    Positions are the flattened indices over the ``dim`` axes; the last axis is split into two halves that are
    rotated by ``position * 10000 ** (i / half)``.
    """
    shape = x.shape
    dims = [dim] if isinstance(dim, int) else list(dim)
    spatial_shape = [shape[i] for i in dims]
    total_len = math.prod(spatial_shape)
    position = torch.arange(total_len, dtype=torch.int, device=x.device).reshape(spatial_shape)
    for _ in range(dims[-1] + 1, len(shape) - 1):
        position = position.unsqueeze(-1)
    half_size = shape[-1] // 2
    freq_seq = -torch.arange(half_size, dtype=torch.int, device=x.device) / float(half_size)
    inv_freq = 10000**-freq_seq
    sinusoid = position[..., None] * inv_freq[None, None, :]
    sin, cos = torch.sin(sinusoid), torch.cos(sinusoid)
    x1, x2 = torch.chunk(x, 2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Scale(nn.Module):
    """Element-wise learnable scale vector (key ``scale``).

    Args:
        dim: length of the scale vector. init_value: its initial value. trainable: ``requires_grad``.
    """

    def __init__(self, dim: int, init_value: float = 1.0, trainable: bool = True) -> None:
        super().__init__()
        self.scale = nn.Parameter(init_value * torch.ones(dim), requires_grad=trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class RTMCCBlock(nn.Module):
    """Gated Attention Unit (GAU) of RTMPose.

    Args:
        num_token: number of tokens (keypoints); sizes the relative position bias.
        in_token_dims: input token dimension.
        out_token_dims: output token dimension; a scaled residual is added when equal to ``in_token_dims``.
        expansion_factor: the value/gate width is ``e = in_token_dims * expansion_factor``. Defaults to 2.
        s: attention (query/key) width. Defaults to 128.
        eps: :class:`ScaleNorm`'s clamp. Defaults to 1e-5.
        dropout_rate: dropout on the attention kernel. Defaults to 0.
        drop_path: stochastic depth of the main branch. Defaults to 0.
        attn_type: ``'self-attn'`` (input ``x``) or ``'cross-attn'`` (input ``(x, k, v)``).
        act_fn: ``'SiLU'`` or ``'ReLU'``. Defaults to ``'SiLU'``.
        bias: biases in the linear layers. Defaults to False.
        use_rel_bias: learnable relative position bias. Defaults to True.
        pos_enc: rotary position embedding on queries/keys. Defaults to False.

    ``forward(x (B, K, in_token_dims)) -> (B, K, out_token_dims)``.
    """

    def __init__(
        self,
        num_token: int,
        in_token_dims: int,
        out_token_dims: int,
        expansion_factor: int | float = 2,
        s: int = 128,
        eps: float = 1e-5,
        dropout_rate: float = 0.0,
        drop_path: float = 0.0,
        attn_type: str = "self-attn",
        act_fn: str = "SiLU",
        bias: bool = False,
        use_rel_bias: bool = True,
        pos_enc: bool = False,
    ) -> None:
        super().__init__()
        if attn_type not in ("self-attn", "cross-attn"):
            raise ValueError(f"RTMCCBlock: attn_type must be 'self-attn' or 'cross-attn', got {attn_type!r}")
        if act_fn not in ("SiLU", "ReLU"):
            raise ValueError(f"RTMCCBlock: act_fn must be 'SiLU' or 'ReLU', got {act_fn!r}")
        self.s = s
        self.num_token = num_token
        self.use_rel_bias = use_rel_bias
        self.attn_type = attn_type
        self.pos_enc = pos_enc
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

        self.e = int(in_token_dims * expansion_factor)
        if use_rel_bias:
            if attn_type == "self-attn":
                self.w = nn.Parameter(torch.rand([2 * num_token - 1], dtype=torch.float))
            else:
                self.a = nn.Parameter(torch.rand([1, s], dtype=torch.float))
                self.b = nn.Parameter(torch.rand([1, s], dtype=torch.float))
        self.o = nn.Linear(self.e, out_token_dims, bias=bias)

        if attn_type == "self-attn":
            self.uv = nn.Linear(in_token_dims, 2 * self.e + self.s, bias=bias)
            self.gamma = nn.Parameter(torch.rand((2, self.s)))
            self.beta = nn.Parameter(torch.rand((2, self.s)))
        else:
            self.uv = nn.Linear(in_token_dims, self.e + self.s, bias=bias)
            self.k_fc = nn.Linear(in_token_dims, self.s, bias=bias)
            self.v_fc = nn.Linear(in_token_dims, self.e, bias=bias)
            nn.init.xavier_uniform_(self.k_fc.weight)
            nn.init.xavier_uniform_(self.v_fc.weight)

        self.ln = ScaleNorm(in_token_dims, eps=eps)
        nn.init.xavier_uniform_(self.uv.weight)

        self.act_fn = nn.SiLU(True) if act_fn == "SiLU" else nn.ReLU(True)

        if in_token_dims == out_token_dims:
            self.shortcut = True
            self.res_scale = Scale(in_token_dims)
        else:
            self.shortcut = False

        self.sqrt_s = math.sqrt(s)
        self.dropout_rate = dropout_rate
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)

    def rel_pos_bias(self, seq_len: int, k_len: int | None = None) -> torch.Tensor:
        """Relative position bias ``(1, seq_len, seq_len)`` (self-attention: ``bias[i, j] = w[j - i + L - 1]``)."""
        if self.attn_type == "self-attn":
            idx = torch.arange(seq_len, device=self.w.device)
            rel = idx[None, :] - idx[:, None] + seq_len - 1
            return self.w[rel][None]
        a = rope(self.a.repeat(seq_len, 1), dim=0)
        b = rope(self.b.repeat(k_len, 1), dim=0)
        return torch.bmm(a, b.permute(0, 2, 1))

    def _forward(self, inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        if self.attn_type == "self-attn":
            x = inputs
        else:
            x, k, v = inputs
        x = self.ln(x)
        uv = self.act_fn(self.uv(x))  # (B, K, 2e + s) or (B, K, e + s)

        if self.attn_type == "self-attn":
            u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
            base = base.unsqueeze(2) * self.gamma[None, None, :] + self.beta  # (B, K, 2, s)
            if self.pos_enc:
                base = rope(base, dim=1)
            q, k = torch.unbind(base, dim=2)  # (B, K, s) each
        else:
            u, q = torch.split(uv, [self.e, self.s], dim=2)
            k = self.k_fc(k)
            v = self.v_fc(v)
            if self.pos_enc:
                q = rope(q, 1)
                k = rope(k, 1)

        qk = torch.bmm(q, k.permute(0, 2, 1))  # (B, K, K)
        if self.use_rel_bias:
            if self.attn_type == "self-attn":
                bias = self.rel_pos_bias(q.size(1))
            else:
                bias = self.rel_pos_bias(q.size(1), k.size(1))
            qk = qk + bias[:, : q.size(1), : k.size(1)]
        kernel = torch.square(F.relu(qk / self.sqrt_s))
        if self.dropout_rate > 0.0:
            kernel = self.dropout(kernel)
        x = u * torch.bmm(kernel, v)  # (B, K, e)
        return self.o(x)

    def forward(self, x: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        if self.shortcut:
            res_shortcut = x[0] if self.attn_type == "cross-attn" else x
            return self.res_scale(res_shortcut) + self.drop_path(self._forward(x))
        return self.drop_path(self._forward(x))
