"""Small building blocks shared by backbones, necks and heads.

``ConvModule`` / ``DepthwiseSeparableConvModule`` reproduce mmcv's modules of the same name closely enough that
MMPose checkpoints load one-to-one: a ``ConvModule`` holds ``conv``, then its norm layer under mmcv's
abbreviation (``bn``, ``gn``, ``ln``, ``in``) and ``activate``. Normalisation and activation layers are described
by the same small dicts MMPose configs use (``dict(type='BN', momentum=0.03, eps=0.001)``,
``dict(type='SiLU')``).

The ``*_init`` functions and :func:`init_from_cfg` follow mmengine's initialisers (``Kaiming``, ``Normal``,
``Constant``, ``Xavier``, ``TruncNormal``, ``Uniform``) so that ``init_cfg`` lists copied from MMPose mean the same.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

__all__ = [
    "ConvModule",
    "DepthwiseSeparableConvModule",
    "HSigmoid",
    "build_activation_layer",
    "build_conv_layer",
    "build_norm_layer",
    "constant_init",
    "init_from_cfg",
    "kaiming_init",
    "make_divisible",
    "normal_init",
    "to_builtin",
    "trunc_normal_init",
    "uniform_init",
    "xavier_init",
]


def to_builtin(obj: Any) -> Any:
    """Turn config containers (OmegaConf ``DictConfig`` / ``ListConfig`` as Hydra passes them) into plain
    ``dict`` / ``list``; tuples stay tuples, everything else is returned unchanged."""
    if isinstance(obj, Mapping):
        return {k: to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(to_builtin(v) for v in obj)
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return [to_builtin(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------------------------
# normalisation / activation / convolution factories
# --------------------------------------------------------------------------------------------------------------

NORM_LAYERS: dict[str, type[nn.Module]] = {
    "BN": nn.BatchNorm2d,
    "BN1d": nn.BatchNorm1d,
    "BN2d": nn.BatchNorm2d,
    "BN3d": nn.BatchNorm3d,
    "SyncBN": nn.SyncBatchNorm,
    "GN": nn.GroupNorm,
    "LN": nn.LayerNorm,
    "IN": nn.InstanceNorm2d,
    "IN1d": nn.InstanceNorm1d,
    "IN2d": nn.InstanceNorm2d,
    "IN3d": nn.InstanceNorm3d,
}


class HSigmoid(nn.Module):
    """mmcv's hard sigmoid: ``clamp((x + bias) / divisor, min_value, max_value)``."""

    def __init__(self, bias: float = 3.0, divisor: float = 6.0, min_value: float = 0.0, max_value: float = 1.0):
        super().__init__()
        assert divisor != 0
        self.bias, self.divisor, self.min_value, self.max_value = bias, divisor, min_value, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp_(self.min_value, self.max_value)


class Swish(nn.Module):
    """``x * sigmoid(x)`` (mmcv's ``Swish``; same maths as ``nn.SiLU``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU,
    "ReLU6": nn.ReLU6,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "RReLU": nn.RReLU,
    "ELU": nn.ELU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "SiLU": nn.SiLU,
    "Swish": Swish,
    "GELU": nn.GELU,
    "Mish": nn.Mish,
    "HSigmoid": HSigmoid,
    "HSwish": nn.Hardswish,
    "Hardsigmoid": nn.Hardsigmoid,
    "Hardswish": nn.Hardswish,
}

# activations whose constructor takes no ``inplace`` argument (mmcv leaves these alone too)
_NO_INPLACE = {"Tanh", "PReLU", "Sigmoid", "HSigmoid", "Swish", "GELU", "Mish"}


def _norm_abbr(norm_type: type[nn.Module]) -> str:
    """mmcv's name for a norm layer inside modules: ``bn``, ``gn``, ``ln``, ``in``."""
    if issubclass(norm_type, _InstanceNorm):
        return "in"
    if issubclass(norm_type, _BatchNorm):
        return "bn"
    if issubclass(norm_type, nn.GroupNorm):
        return "gn"
    if issubclass(norm_type, nn.LayerNorm):
        return "ln"
    return "norm_layer"


def build_norm_layer(cfg: dict, num_features: int, postfix: int | str = "") -> tuple[str, nn.Module]:
    """Build a normalisation layer from an MMPose-style dict.

    Args:
        cfg: ``dict(type='BN' | 'SyncBN' | 'GN' | 'LN' | 'IN' ..., requires_grad=True, **layer_kwargs)``;
            ``GN`` needs ``num_groups``.
        num_features: channels to normalise.
        postfix: appended to the abbreviation (``build_norm_layer(dict(type='BN'), 64, 1)[0] == 'bn1'``).

    Returns:
        ``(name, layer)``.
    """
    cfg = to_builtin(cfg)
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise TypeError(f"norm_cfg must be a dict with a 'type' key, got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop("type")
    if layer_type not in NORM_LAYERS:
        raise KeyError(f"unknown norm layer type {layer_type!r}; known: {sorted(NORM_LAYERS)}")
    norm_cls = NORM_LAYERS[layer_type]
    name = _norm_abbr(norm_cls) + str(postfix)
    requires_grad = cfg.pop("requires_grad", True)
    cfg.setdefault("eps", 1e-5)
    if norm_cls is nn.GroupNorm:
        if "num_groups" not in cfg:
            raise KeyError("norm_cfg of type 'GN' needs 'num_groups'")
        layer = nn.GroupNorm(num_channels=num_features, **cfg)
    else:
        layer = norm_cls(num_features, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return name, layer


def build_activation_layer(cfg: dict) -> nn.Module:
    """Build an activation layer from ``dict(type='ReLU' | 'SiLU' | 'LeakyReLU' ..., **kwargs)``."""
    cfg = to_builtin(cfg)
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise TypeError(f"act_cfg must be a dict with a 'type' key, got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop("type")
    if layer_type not in ACTIVATION_LAYERS:
        raise KeyError(f"unknown activation type {layer_type!r}; known: {sorted(ACTIVATION_LAYERS)}")
    act_cls = ACTIVATION_LAYERS[layer_type]
    if layer_type in _NO_INPLACE or act_cls in (nn.Sigmoid, nn.Tanh, nn.GELU, nn.PReLU):
        cfg.pop("inplace", None)
    return act_cls(**cfg)


def build_conv_layer(cfg: dict | None, *args, **kwargs) -> nn.Module:
    """``nn.Conv2d(*args, **kwargs)``; ``cfg`` may be ``None`` or ``dict(type='Conv2d' | 'Conv')``."""
    cfg = to_builtin(cfg)
    conv_type = "Conv2d" if cfg is None else cfg.get("type", "Conv2d")
    layers = {"Conv": nn.Conv2d, "Conv2d": nn.Conv2d, "Conv1d": nn.Conv1d, "Conv3d": nn.Conv3d}
    if conv_type not in layers:
        raise KeyError(f"unknown conv layer type {conv_type!r}; known: {sorted(layers)}")
    extra = {k: v for k, v in (cfg or {}).items() if k != "type"}
    return layers[conv_type](*args, **kwargs, **extra)


# --------------------------------------------------------------------------------------------------------------
# ConvModule
# --------------------------------------------------------------------------------------------------------------


class ConvModule(nn.Module):
    """Conv2d + optional norm + optional activation, with mmcv's child names (``conv``, ``bn``, ``activate``).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: as ``nn.Conv2d``.
        bias: ``'auto'`` (bias only when there is no norm layer), ``True`` or ``False``.
        conv_cfg: ``None`` (``nn.Conv2d``) or ``dict(type='Conv2d')``.
        norm_cfg: norm layer dict (see :func:`build_norm_layer`) or ``None``.
        act_cfg: activation dict (see :func:`build_activation_layer`) or ``None``. Default ``dict(type='ReLU')``.
        inplace: in-place activation where the activation supports it.
        with_spectral_norm: wrap the conv in spectral normalisation.
        padding_mode: ``'zeros'``, ``'circular'`` (done by the conv) or ``'reflect'`` / ``'replicate'``
            (done by a separate ``padding_layer``, as mmcv).
        order: the order of ``'conv'``, ``'norm'``, ``'act'``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool | str = "auto",
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = dict(type="ReLU"),  # noqa: B006 - MMPose's signature; never mutated
        inplace: bool = True,
        with_spectral_norm: bool = False,
        padding_mode: str = "zeros",
        order: tuple[str, str, str] = ("conv", "norm", "act"),
    ):
        super().__init__()
        conv_cfg, norm_cfg, act_cfg = to_builtin(conv_cfg), to_builtin(norm_cfg), to_builtin(act_cfg)
        assert conv_cfg is None or isinstance(conv_cfg, dict)
        assert norm_cfg is None or isinstance(norm_cfg, dict)
        assert act_cfg is None or isinstance(act_cfg, dict)
        self.conv_cfg = conv_cfg
        self.norm_cfg = copy.deepcopy(norm_cfg)
        self.act_cfg = copy.deepcopy(act_cfg)
        self.inplace = inplace
        self.with_spectral_norm = with_spectral_norm
        self.order = tuple(order)
        if len(self.order) != 3 or set(self.order) != {"conv", "norm", "act"}:
            raise ValueError(f"order must be a permutation of ('conv', 'norm', 'act'), got {order!r}")
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == "auto":
            bias = not self.with_norm
        self.with_bias = bias
        self.with_explicit_padding = padding_mode not in ("zeros", "circular")

        if self.with_explicit_padding:
            pads = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d}
            if padding_mode not in pads:
                raise ValueError(f"unsupported padding_mode {padding_mode!r}")
            self.padding_layer = pads[padding_mode](padding)
        conv_padding = 0 if self.with_explicit_padding else padding
        conv_kwargs = {} if self.with_explicit_padding else {"padding_mode": padding_mode}
        self.conv = build_conv_layer(
            conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=conv_padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            **conv_kwargs,
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = self.conv.kernel_size
        self.stride = self.conv.stride
        self.padding = padding
        self.dilation = self.conv.dilation
        self.groups = groups
        if self.with_spectral_norm:
            self.conv = nn.utils.spectral_norm(self.conv)

        if self.with_norm:
            norm_channels = out_channels if self.order.index("norm") > self.order.index("conv") else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
        else:
            self.norm_name = None

        if self.with_activation:
            act_cfg_ = dict(act_cfg)
            if act_cfg_["type"] not in _NO_INPLACE:
                act_cfg_.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act_cfg_)

        self.init_weights()

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """mmcv's default: Kaiming (fan_out) for the conv, ones/zeros for the norm."""
        if self.with_activation and self.act_cfg["type"] == "LeakyReLU":
            nonlinearity, a = "leaky_relu", self.act_cfg.get("negative_slope", 0.01)
        else:
            nonlinearity, a = "relu", 0
        kaiming_init(self.conv, a=a, nonlinearity=nonlinearity)
        if self.with_norm:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        for layer in self.order:
            if layer == "conv":
                if self.with_explicit_padding:
                    x = self.padding_layer(x)
                x = self.conv(x)
            elif layer == "norm" and norm and self.with_norm:
                x = self.norm(x)
            elif layer == "act" and activate and self.with_activation:
                x = self.activate(x)
        return x


class DepthwiseSeparableConvModule(nn.Module):
    """Depthwise ``ConvModule`` (``depthwise_conv``) followed by a pointwise one (``pointwise_conv``), as mmcv.

    ``dw_norm_cfg`` / ``dw_act_cfg`` / ``pw_norm_cfg`` / ``pw_act_cfg`` default (``'default'``) to ``norm_cfg`` /
    ``act_cfg``; other keyword arguments go to both ``ConvModule`` s.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = dict(type="ReLU"),  # noqa: B006 - MMPose's signature; never mutated
        dw_norm_cfg: dict | None | str = "default",
        dw_act_cfg: dict | None | str = "default",
        pw_norm_cfg: dict | None | str = "default",
        pw_act_cfg: dict | None | str = "default",
        **kwargs,
    ):
        super().__init__()
        assert "groups" not in kwargs, "groups should not be specified"
        dw_norm_cfg = norm_cfg if dw_norm_cfg == "default" else dw_norm_cfg
        dw_act_cfg = act_cfg if dw_act_cfg == "default" else dw_act_cfg
        pw_norm_cfg = norm_cfg if pw_norm_cfg == "default" else pw_norm_cfg
        pw_act_cfg = act_cfg if pw_act_cfg == "default" else pw_act_cfg
        self.depthwise_conv = ConvModule(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            norm_cfg=dw_norm_cfg,
            act_cfg=dw_act_cfg,
            **kwargs,
        )
        self.pointwise_conv = ConvModule(
            in_channels, out_channels, 1, norm_cfg=pw_norm_cfg, act_cfg=pw_act_cfg, **kwargs
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


def make_divisible(value: float, divisor: int, min_value: int | None = None, min_ratio: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` without going below ``min_ratio * value``.

    Same rule as MMPose's / torchvision's ``make_divisible`` (used by MobileNet width multipliers).
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


# --------------------------------------------------------------------------------------------------------------
# weight initialisation (mmengine's initialisers)
# --------------------------------------------------------------------------------------------------------------


def _init_bias(module: nn.Module, bias: float) -> None:
    if getattr(module, "bias", None) is not None and isinstance(module.bias, torch.Tensor):
        nn.init.constant_(module.bias, bias)


def _has_weight(module: nn.Module) -> bool:
    return isinstance(getattr(module, "weight", None), torch.Tensor)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    if _has_weight(module):
        nn.init.constant_(module.weight, val)
    _init_bias(module, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    if _has_weight(module):
        nn.init.normal_(module.weight, mean, std)
    _init_bias(module, bias)


def trunc_normal_init(
    module: nn.Module, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, bias: float = 0
) -> None:
    if _has_weight(module):
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    _init_bias(module, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    if _has_weight(module):
        nn.init.uniform_(module.weight, a, b)
    _init_bias(module, bias)


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal") -> None:
    assert distribution in ("uniform", "normal")
    if _has_weight(module):
        if distribution == "uniform":
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    _init_bias(module, bias)


def kaiming_init(
    module: nn.Module,
    a: float = 0,
    mode: str = "fan_out",
    nonlinearity: str = "relu",
    bias: float = 0,
    distribution: str = "normal",
) -> None:
    assert distribution in ("uniform", "normal")
    if _has_weight(module):
        if distribution == "uniform":
            nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    _init_bias(module, bias)


_INITIALIZERS = {
    "Constant": (constant_init, ("val", "bias")),
    "Normal": (normal_init, ("mean", "std", "bias")),
    "TruncNormal": (trunc_normal_init, ("mean", "std", "a", "b", "bias")),
    "Uniform": (uniform_init, ("a", "b", "bias")),
    "Xavier": (xavier_init, ("gain", "bias", "distribution")),
    "Kaiming": (kaiming_init, ("a", "mode", "nonlinearity", "bias", "distribution")),
}


def _class_names(module: nn.Module) -> set[str]:
    """The module's class name and its direct bases' names (how mmengine matches ``layer``)."""
    cls = module.__class__
    return {cls.__name__, *(base.__name__ for base in cls.__bases__)}


def _apply_init(module: nn.Module, cfg: dict, layers: set[str] | None) -> None:
    fn, arg_names = _INITIALIZERS[cfg["type"]]
    kwargs = {k: cfg[k] for k in arg_names if k in cfg}
    for m in module.modules():
        if layers is None or layers & _class_names(m):
            fn(m, **kwargs)


def init_from_cfg(module: nn.Module, init_cfg: dict | Sequence[dict] | None) -> None:
    """Apply mmengine-style ``init_cfg`` entries to ``module`` (``Pretrained`` entries are ignored here).

    Each entry is ``dict(type='Kaiming' | 'Normal' | 'Constant' | 'Xavier' | 'TruncNormal' | 'Uniform',
    layer='Conv2d' | [...], override=dict(name='child', ...) | [...], **initialiser_args)``. ``layer`` matches a
    module's class name or the name of one of its direct base classes (``'_BatchNorm'`` matches every batch norm).
    ``override`` re-initialises the named child as a whole, with the override's own type/arguments.
    """
    init_cfg = to_builtin(init_cfg)
    if init_cfg is None:
        return
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    for cfg in cfgs:
        if not isinstance(cfg, dict) or "type" not in cfg:
            raise TypeError(f"init_cfg entries must be dicts with a 'type' key, got {cfg!r}")
        if cfg["type"] == "Pretrained":
            continue
        if cfg["type"] not in _INITIALIZERS:
            raise KeyError(f"unknown init type {cfg['type']!r}; known: {sorted(_INITIALIZERS)} and 'Pretrained'")
        layer = cfg.get("layer")
        if layer is not None:
            layers = {layer} if isinstance(layer, str) else set(layer)
            _apply_init(module, cfg, layers)
        overrides = cfg.get("override")
        if overrides is None:
            continue
        for override in [overrides] if isinstance(overrides, dict) else overrides:
            override = dict(override)
            name = override.pop("name")
            child = getattr(module, name, None)
            if not isinstance(child, nn.Module):
                raise AttributeError(f"init_cfg override: {type(module).__name__} has no submodule {name!r}")
            if "type" not in override:
                override = {**{k: v for k, v in cfg.items() if k not in ("layer", "override")}, **override}
            _apply_init(child, override, None)
