"""Training targets: :class:`GenerateTarget` runs a codec's ``encode`` on the (transformed) keypoints."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .compose import BaseTransform, _to_container

__all__ = ["GenerateTarget", "build_codec"]


def build_codec(cfg: Any) -> Any:
    """A codec object from an object with ``encode`` (returned as is), a ``{_target_: ...}`` config (Hydra) or an
    MMPose-style ``{type: 'MSRAHeatmap', ...}`` dict (class looked up in ``posekit.codecs``)."""
    if hasattr(cfg, "encode") and not isinstance(cfg, Mapping):
        return cfg
    cfg = _to_container(cfg)
    if not isinstance(cfg, Mapping):
        raise TypeError(
            f"GenerateTarget: encoder must be a codec object (with .encode), a dict with '_target_' or 'type', "
            f"or a list of them; got {type(cfg).__name__}: {cfg!r}"
        )
    if "_target_" in cfg:
        from hydra.utils import instantiate

        codec = instantiate(dict(cfg))
    elif "type" in cfg:
        args = dict(cfg)
        name = args.pop("type")
        if isinstance(name, type):
            cls = name
        else:
            import posekit.codecs as codecs

            cls = getattr(codecs, str(name), None)
            if not isinstance(cls, type):
                raise ValueError(
                    f"GenerateTarget: posekit.codecs has no codec named {name!r}; use one of "
                    f"{sorted(getattr(codecs, '__all__', []))} or a '_target_' import path"
                )
        codec = cls(**args)
    else:
        raise ValueError(f"GenerateTarget: encoder config {dict(cfg)!r} has neither '_target_' nor 'type'")
    if not callable(getattr(codec, "encode", None)):
        raise TypeError(f"GenerateTarget: {type(codec).__name__} built from {cfg!r} has no encode() method")
    return codec


def _mapping(codec: Any, name: str) -> dict:
    table = getattr(codec, name, None)
    return dict(table) if table else {}


class GenerateTarget(BaseTransform):
    """Encode ``transformed_keypoints`` (or ``keypoints``) with the codec(s) and add the outputs to the results.

    Args:
        encoder: a codec (``encode(keypoints (N, K, 2), keypoints_visible (N, K)) -> dict``), a config for one
            (``{_target_: posekit.codecs.MSRAHeatmap, ...}`` or MMPose's ``{type: 'MSRAHeatmap', ...}``), or a list
            of them.
        target_type: deprecated and ignored (as in MMPose); giving it warns.
        multilevel: with a list of encoders of the same kind (e.g. several sigmas), every output key holds the
            list of per-encoder outputs. Otherwise the outputs of the encoders are merged (no key may repeat
            except ``keypoint_weights``, which becomes the list of the encoders' weights).
        use_dataset_keypoint_weights: multiply ``keypoint_weights`` by ``results['dataset_keypoint_weights']`` (K,).

    ``keypoints_visible`` of shape (N, K, 2) (visibility, weight) is split into ``keypoints_visible`` (N, K) and
    ``keypoints_visible_weights`` (N, K), as MMPose does. Codec attributes ``auxiliary_encode_keys`` and
    ``field_mapping_table`` / ``instance_mapping_table`` / ``label_mapping_table`` are honoured when present;
    the mapping tables are stored in the results for :class:`PackPoseInputs`, and every encoded key that is in no
    table is added to ``label_mapping_table`` so it is packed as a target.
    """

    def __init__(
        self,
        encoder: Any,
        target_type: str | None = None,
        multilevel: bool = False,
        use_dataset_keypoint_weights: bool = False,
    ) -> None:
        if target_type is not None:
            warnings.warn(
                "The argument `target_type` is deprecated in GenerateTarget. The target type and encoded keys will "
                "be determined by encoder(s).",
                DeprecationWarning,
                stacklevel=2,
            )
        encoder = _to_container(encoder)
        self.encoder_cfg = encoder
        self.multilevel = multilevel
        self.use_dataset_keypoint_weights = use_dataset_keypoint_weights
        if isinstance(encoder, Sequence) and not isinstance(encoder, (str, Mapping)):
            if len(encoder) == 0:
                raise ValueError("GenerateTarget: encoder list is empty")
            self.encoder: Any = [build_codec(c) for c in encoder]
        else:
            assert not self.multilevel, "Need multiple encoder configs if ``multilevel==True``"
            self.encoder = build_codec(encoder)

    @staticmethod
    def _encode(codec: Any, keypoints: np.ndarray, keypoints_visible: np.ndarray, results: dict) -> dict:
        aux = {key: results.get(key) for key in getattr(codec, "auxiliary_encode_keys", ())}
        encoded = codec.encode(keypoints=keypoints, keypoints_visible=keypoints_visible, **aux)
        if not isinstance(encoded, Mapping):
            raise TypeError(f"GenerateTarget: {type(codec).__name__}.encode() returned {type(encoded).__name__}")
        return dict(encoded)

    def transform(self, results: dict) -> dict:
        if results.get("transformed_keypoints") is not None:
            keypoints = results["transformed_keypoints"]
        elif results.get("keypoints") is not None:
            keypoints = results["keypoints"]
        else:
            raise ValueError(
                "GenerateTarget requires 'transformed_keypoints' or 'keypoints' in the results "
                f"(img_path={results.get('img_path')!r}); training items need keypoint annotations"
            )
        if results.get("keypoints_visible") is None:
            raise KeyError(f"GenerateTarget: results has no 'keypoints_visible' (img_path={results.get('img_path')!r})")
        keypoints_visible = np.asarray(results["keypoints_visible"])
        if keypoints_visible.ndim == 3 and keypoints_visible.shape[2] == 2:
            keypoints_visible, keypoints_visible_weights = keypoints_visible[..., 0], keypoints_visible[..., 1]
            results["keypoints_visible"] = keypoints_visible
            results["keypoints_visible_weights"] = keypoints_visible_weights
        keypoints = np.asarray(keypoints)

        field_table: dict = {}
        instance_table: dict = {}
        label_table: dict = {}
        if not isinstance(self.encoder, list):
            encoded = self._encode(self.encoder, keypoints, keypoints_visible, results)
            encoders = [self.encoder]
        else:
            encoders = self.encoder
            encoded_list = [self._encode(c, keypoints, keypoints_visible, results) for c in encoders]
            if self.multilevel:
                keys = encoded_list[0].keys()
                if not all(e.keys() == keys for e in encoded_list):
                    raise ValueError("Encoded items from all encoders must have the same keys if ``multilevel==True``.")
                encoded = {k: [e[k] for e in encoded_list] for k in keys}
            else:
                encoded = {}
                keypoint_weights = []
                for e in encoded_list:
                    for key, value in e.items():
                        if key == "keypoint_weights":
                            keypoint_weights.append(value)
                        elif key not in encoded:
                            encoded[key] = value
                        else:
                            raise ValueError(
                                f'Overlapping item "{key}" from multiple encoders, which is not supported when '
                                "``multilevel==False``"
                            )
                if keypoint_weights:
                    encoded["keypoint_weights"] = keypoint_weights
        for codec in encoders:
            field_table.update(_mapping(codec, "field_mapping_table"))
            instance_table.update(_mapping(codec, "instance_mapping_table"))
            label_table.update(_mapping(codec, "label_mapping_table"))

        if self.use_dataset_keypoint_weights and "keypoint_weights" in encoded:
            if results.get("dataset_keypoint_weights") is None:
                raise KeyError(
                    "GenerateTarget(use_dataset_keypoint_weights=True): results has no 'dataset_keypoint_weights'; "
                    "give the dataset metainfo joint weights or set use_dataset_keypoint_weights=False"
                )
            dataset_weights = np.asarray(results["dataset_keypoint_weights"])
            weights = encoded["keypoint_weights"]
            if isinstance(weights, list):
                encoded["keypoint_weights"] = [w * dataset_weights for w in weights]
            else:
                encoded["keypoint_weights"] = weights * dataset_weights

        # every encoded key becomes a packed target: keys no table mentions are labels under their own name
        from .formatting import DEFAULT_FIELD_KEYS, DEFAULT_LABEL_KEYS

        known = set(field_table) | set(instance_table) | set(label_table) | DEFAULT_FIELD_KEYS | DEFAULT_LABEL_KEYS
        for key in encoded:
            if key not in known:
                label_table[key] = key
        results.update(encoded)
        for name, table in (
            ("field_mapping_table", field_table),
            ("instance_mapping_table", instance_table),
            ("label_mapping_table", label_table),
        ):
            if table:
                results[name] = {**results.get(name, {}), **table}
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(encoder={self.encoder_cfg!s}, "
            f"use_dataset_keypoint_weights={self.use_dataset_keypoint_weights})"
        )
