"""``TorchvisionBackbone``: torchvision classification networks as multi-scale feature extractors.

The network is cut into *stages* at every change of resolution (found once, with a dummy forward at
construction): stage ``i`` ends with the last block at its resolution, so for ResNets the stages are
``[conv1, bn1, relu]`` (stride 2), ``[maxpool, layer1]`` (4), ``layer2`` (8), ``layer3`` (16), ``layer4`` (32);
for ``features``-style networks (MobileNet, EfficientNet, ConvNeXt, Swin ...) the ``features`` blocks are grouped
the same way. ``out_indices`` picks stages (negative indices count from the end; ``(-1,)`` = the last map),
``out_channels`` / ``out_strides`` describe the returned maps.

Submodules keep torchvision's names (``layer1.0.conv1``, ``features.3.block.0``) and the classifier is dropped, so a
torchvision state_dict file loads as is (its classifier keys are reported as unexpected). Nothing is downloaded:
``weights`` is ``None`` (random init), a local file, or a torchvision weights name (``'DEFAULT'``,
``'IMAGENET1K_V1'``) whose file is already in torch's hub cache.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn as nn

from ..utils.checkpoint import load_checkpoint, resolve_checkpoint_path
from .base import BaseBackbone

__all__ = ["TorchvisionBackbone"]

_RESNET_BLOCKS = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def _block_paths(name: str, model: nn.Module) -> list[str]:
    """The ordered top-down blocks of ``model`` (paths for ``get_submodule``), classifier excluded."""
    if name.startswith(("resnet", "resnext", "wide_resnet")):
        return list(_RESNET_BLOCKS)
    if name.startswith("shufflenet_v2"):
        return ["conv1", "maxpool", "stage2", "stage3", "stage4", "conv5"]
    if name.startswith("regnet"):
        return ["stem"] + [f"trunk_output.{n}" for n, _ in model.trunk_output.named_children()]
    if name.startswith("mnasnet"):
        return [f"layers.{n}" for n, _ in model.layers.named_children()]
    if name.startswith("swin"):
        return [f"features.{n}" for n, _ in model.features.named_children()] + ["norm"]
    if isinstance(getattr(model, "features", None), nn.Sequential):  # mobilenet, efficientnet, convnext, vgg ...
        return [f"features.{n}" for n, _ in model.features.named_children()]
    raise ValueError(
        f"TorchvisionBackbone does not know how to split {name!r} into stages; supported: resnet*, resnext*, "
        "wide_resnet*, shufflenet_v2_*, regnet_*, mnasnet*, swin_*, and models with a `features` Sequential "
        "(mobilenet_v2, mobilenet_v3_*, efficientnet_*, convnext_*, ...)"
    )


class TorchvisionBackbone(BaseBackbone):
    """A torchvision classification model as a backbone returning a tuple of feature maps (NCHW).

    Args:
        name: torchvision model name (``torchvision.models.get_model``): ``resnet18``, ``resnext50_32x4d``,
            ``mobilenet_v3_small``, ``shufflenet_v2_x1_0``, ``regnet_y_400mf``, ``efficientnet_b0``,
            ``convnext_tiny``, ``swin_t`` ...
        out_indices: stages to return (negative = from the end). Default ``(-1,)``: the last stage.
        weights: ``None`` (random init), a local state_dict file (torchvision's keys; ``{'state_dict': ...}``
            and ``{'model': ...}`` wrappers accepted), or a torchvision weights name (``'DEFAULT'``,
            ``'IMAGENET1K_V1'``) whose file is already in torch's hub cache. Never downloads.
        frozen_stages: freeze stages ``0..frozen_stages`` (-1: nothing frozen).
        norm_eval: keep BatchNorm layers in eval mode during training.
        init_cfg: see :class:`BaseBackbone` (default: torchvision's own initialisation).
        probe_size: ``(h, w)`` of the dummy input used once to find the stages.
        **kwargs: passed to the torchvision constructor (e.g. ``width_mult``, ``replace_stride_with_dilation``).

    Attributes:
        out_channels: channels of each returned map.
        out_strides: stride of each returned map w.r.t. the input.
        stage_blocks: block paths of every stage kept.
    """

    def __init__(
        self,
        name: str,
        out_indices: Sequence[int] = (-1,),
        weights: str | os.PathLike | None = None,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        init_cfg: dict | Sequence[dict] | None = None,
        probe_size: tuple[int, int] = (64, 64),
        **kwargs,
    ):
        super().__init__(init_cfg)
        import torchvision

        if name not in torchvision.models.list_models(torchvision.models):
            raise ValueError(f"unknown torchvision classification model {name!r}")
        self.name = name
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.channels_last_output = name.startswith("swin")  # swin's blocks work on (B, H, W, C)
        model = torchvision.models.get_model(name, weights=None, **kwargs)
        blocks = _block_paths(name, model)

        # find the stages: a new stage starts at every block that lowers the resolution
        shapes = self._probe(model, blocks, probe_size)
        stages: list[list[str]] = []
        stage_shapes: list[torch.Size] = []
        prev_hw = probe_size
        for path, shape in zip(blocks, shapes):
            hw = self._hw(shape)
            if stages and hw[0] >= prev_hw[0] and hw[1] >= prev_hw[1]:
                stages[-1].append(path)
                stage_shapes[-1] = shape
            else:
                stages.append([path])
                stage_shapes.append(shape)
            prev_hw = hw
        num_stages = len(stages)

        indices = []
        for i in out_indices:
            if not -num_stages <= i < num_stages:
                raise ValueError(f"out_indices {tuple(out_indices)}: {name} has {num_stages} stages")
            indices.append(i % num_stages)
        self.out_indices = tuple(indices)
        self.num_stages = num_stages
        self.stage_blocks = stages[: max(self.out_indices) + 1]
        self.all_out_channels = [self._channels(s) for s in stage_shapes]
        self.all_out_strides = [probe_size[0] // self._hw(s)[0] for s in stage_shapes]
        self.out_channels = [self.all_out_channels[i] for i in self.out_indices]
        self.out_strides = [self.all_out_strides[i] for i in self.out_indices]

        # keep only what the kept stages use, under torchvision's names
        used = [p for stage in self.stage_blocks for p in stage]
        for top in dict.fromkeys(p.split(".")[0] for p in used):
            module = getattr(model, top)
            children = [p.split(".", 1)[1] for p in used if p.startswith(top + ".")]
            if children and isinstance(module, nn.Sequential):
                names = [n for n, _ in module.named_children()]
                module = module[: max(names.index(c) for c in children) + 1]
            self.add_module(top, module)

        self.reset_parameters()
        if weights is not None:
            self._load_weights(weights)
        self._freeze_stages()

    # ----------------------------------------------------------------------------------------------- helpers
    def _hw(self, shape: torch.Size) -> tuple[int, int]:
        return (shape[1], shape[2]) if self.channels_last_output else (shape[2], shape[3])

    def _channels(self, shape: torch.Size) -> int:
        return shape[3] if self.channels_last_output else shape[1]

    @staticmethod
    def _probe(model: nn.Module, blocks: list[str], size: tuple[int, int]) -> list[torch.Size]:
        """Output shape of every block for a ``(1, 3, *size)`` input: shapes only (meta tensors), falling back
        to a real forward for models whose code needs real data."""
        was_training = model.training
        model.eval()
        try:
            shapes = TorchvisionBackbone._run_blocks(model, blocks, size, meta=True)
        except (NotImplementedError, RuntimeError):
            shapes = TorchvisionBackbone._run_blocks(model, blocks, size, meta=False)
        finally:
            model.train(was_training)
        return shapes

    @staticmethod
    def _run_blocks(model: nn.Module, blocks: list[str], size: tuple[int, int], meta: bool) -> list[torch.Size]:
        device = "meta" if meta else "cpu"
        x = torch.zeros(1, 3, *size, device=device)
        shapes = []
        with torch.no_grad():
            for path in blocks:
                block = model.get_submodule(path)
                if meta:
                    tensors = {**dict(block.named_parameters()), **dict(block.named_buffers())}
                    meta_tensors = {k: torch.empty_like(v, device="meta") for k, v in tensors.items()}
                    x = torch.func.functional_call(block, meta_tensors, (x,))
                else:
                    x = block(x)
                shapes.append(x.shape)
        return shapes

    def _load_weights(self, weights: str | os.PathLike) -> None:
        text = os.fspath(weights)
        if not os.path.exists(os.path.expanduser(text)) and "://" not in text and os.sep not in text:
            import torchvision

            enum = torchvision.models.get_model_weights(self.name)
            try:
                text = enum[text].url if text != "DEFAULT" else enum.DEFAULT.url
            except KeyError:
                raise ValueError(
                    f"weights={weights!r} is neither a file nor a weights name of {self.name} "
                    f"({', '.join(w.name for w in enum)})"
                ) from None
        load_checkpoint(self, resolve_checkpoint_path(text))

    def _freeze_stages(self) -> None:
        for stage in self.stage_blocks[: self.frozen_stages + 1]:
            for path in stage:
                self._freeze_module(self.get_submodule(path))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, stage in enumerate(self.stage_blocks):
            for path in stage:
                x = self.get_submodule(path)(x)
            if i in self.out_indices:
                outs.append(x.permute(0, 3, 1, 2).contiguous() if self.channels_last_output else x)
        return tuple(outs)
