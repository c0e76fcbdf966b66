"""Metainfo for your own keypoints from a small spec: names (required), the rest inferred or defaulted.

A spec is a mapping (a YAML file, a dict, or ``data.metainfo`` in a Hydra config)::

    dataset_name: mouse            # optional, default 'custom'
    keypoints: [nose, left_ear, right_ear, tail_base, tail_tip]
    skeleton: [[nose, left_ear], [nose, right_ear], [nose, tail_base], [tail_base, tail_tip]]   # optional
    flip_pairs: [[left_ear, right_ear]]   # optional: inferred from the names when absent
    sigmas: [0.025, 0.035, 0.035, 0.07, 0.09]   # optional: DEFAULT_SIGMA each when absent
    joint_weights: [...]           # optional: 1.0 each
    upper_body: [nose, left_ear, right_ear]     # optional (RandomHalfBody); lower_body likewise

:func:`load_metainfo` recognises a spec by ``keypoints`` being a list of plain names and builds the full metainfo
with :func:`metainfo_from_spec`:

* **flip pairs** come from the names when not given: ``left``/``right`` anywhere in a name (any case: ``left_eye``,
  ``LeftEye``, ``eye_left``, ``LEFT_EYE``), ``l``/``r`` as a separate token (``l_eye``, ``eye_r``, ``front.l.paw``) and
  a capital ``L``/``R`` before a capitalised word (``LShoulder``); a name pairs with the one its swap produces when
  that name exists. Unpaired keypoints map to themselves.
* **OKS sigmas** default to :data:`DEFAULT_SIGMA` = 0.072, the median of COCO's 17 body sigmas (MMPose's
  ``coco.py``: 0.025-0.107): a keypoint labelled about as precisely as a typical COCO joint. Not ``1/K``, which
  would make a keypoint's tolerance depend on how many other keypoints the dataset has. Measure your own with
  :func:`estimate_sigmas` (repeated labels of the same objects) and put them in the spec.
* **colours** are generated: evenly spaced hues, a left/right pair sharing its hue (left lighter); links take the
  colour of their first keypoint.

Bad specs raise one ``ValueError`` naming the field (``metainfo.keypoints``, ``metainfo.flip_pairs``, ...).

Estimating sigmas from repeated labels (COCO's definition: the per-keypoint standard deviation of the labels'
offsets from the object's mean label, normalised by the object scale ``s = sqrt(area)``)::

    python -m posekit.datasets.metainfo.spec estimate-sigmas annotator_a.json annotator_b.json [...]

where every file labels the same objects (matched by annotation ``id``) in COCO keypoint format.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_SIGMA",
    "is_spec",
    "metainfo_from_spec",
    "infer_flip_pairs",
    "generate_colors",
    "estimate_sigmas",
    "estimate_sigmas_from_files",
]

# median of COCO's 17 body sigmas (0.072; MMPose configs/_base_/datasets/coco.py)
DEFAULT_SIGMA = 0.072
_SPEC_KEYS = {
    "dataset_name", "keypoints", "skeleton", "flip_pairs", "sigmas", "joint_weights", "upper_body", "lower_body",
    "paper_info",
}  # fmt: skip
_SEP = r"[_\-. ]"
# (pattern, replacement for left, replacement for right): tried in this order
_SWAPS = (
    (re.compile(r"left", re.I), "right"),
    (re.compile(r"right", re.I), "left"),
    (re.compile(rf"(?:(?<=^)|(?<={_SEP}))([lL])(?=$|{_SEP})"), "r"),
    (re.compile(rf"(?:(?<=^)|(?<={_SEP}))([rR])(?=$|{_SEP})"), "l"),
    (re.compile(r"^L(?=[A-Z])"), "R"),
    (re.compile(r"^R(?=[A-Z])"), "L"),
)


def is_spec(metainfo: Any) -> bool:
    """A small spec: a mapping whose ``keypoints`` is a list of plain names (not ``[name, colour, type, swap]``)."""
    if not isinstance(metainfo, Mapping) or "keypoint_info" in metainfo:
        return False
    kpts = metainfo.get("keypoints")
    return isinstance(kpts, (list, tuple)) and len(kpts) > 0 and all(isinstance(k, str) for k in kpts)


def _match_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word.capitalize()
    return word.lower()


def _swapped(name: str) -> list[str]:
    out = []
    for pattern, repl in _SWAPS:
        if pattern.search(name):
            out.append(pattern.sub(lambda m, r=repl: _match_case(r, m.group(0)), name))
    return out


def infer_flip_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Left/right partners by name (see the module docstring); each pair once, in the order of its first name."""
    index = {n: i for i, n in enumerate(names)}
    pairs, used = [], set()
    for name in names:
        if name in used:
            continue
        for cand in _swapped(name):
            if cand != name and cand in index and cand not in used:
                pairs.append((name, cand))
                used.update((name, cand))
                break
    return pairs


def generate_colors(names: Sequence[str], flip_pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
    """(K) RGB colours: one evenly spaced hue per left/right pair or single keypoint; the pair's first name lighter."""
    partner = {a: b for a, b in flip_pairs} | {b: a for a, b in flip_pairs}
    groups: list[str] = []
    for n in names:
        if partner.get(n) not in groups:
            groups.append(n)
    hue = {}
    for g, n in enumerate(groups):
        hue[n] = g / max(len(groups), 1)
        if n in partner:
            hue[partner[n]] = hue[n]
    colors = []
    first = {a for a, _ in flip_pairs}
    for n in names:
        value = 1.0 if n in first or n not in partner else 0.7
        r, g, b = colorsys.hsv_to_rgb(hue[n], 0.85, value)
        colors.append([int(round(r * 255)), int(round(g * 255)), int(round(b * 255))])
    return colors


def _fail(field: str, msg: str, source: str) -> ValueError:
    return ValueError(f"{source}: metainfo.{field}: {msg}")


def _names_list(spec: Mapping, field: str, names: set[str], source: str) -> list[str]:
    values = spec.get(field) or []
    if not isinstance(values, (list, tuple)):
        raise _fail(field, f"must be a list of keypoint names, got {values!r}", source)
    for v in values:
        if v not in names:
            raise _fail(field, f"{v!r} is not one of metainfo.keypoints", source)
    return list(values)


def _pairs(spec: Mapping, field: str, names: set[str], source: str) -> list[tuple[str, str]]:
    pairs = spec.get(field) or []
    if not isinstance(pairs, (list, tuple)):
        raise _fail(field, f"must be a list of [name_a, name_b] pairs, got {pairs!r}", source)
    out = []
    for p in pairs:
        if not isinstance(p, (list, tuple)) or len(p) < 2:
            raise _fail(field, f"every entry must be [name_a, name_b], got {p!r}", source)
        for end in p[:2]:
            if end not in names:
                raise _fail(field, f"{list(p[:2])!r}: {end!r} is not one of metainfo.keypoints", source)
        out.append((p[0], p[1]))
    return out


def _values(spec: Mapping, field: str, k: int, default: float, source: str) -> list[float]:
    values = spec.get(field)
    if values is None:
        return [default] * k
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise _fail(field, f"must be {k} numbers ({e})", source) from e
    if arr.size != k:
        raise _fail(field, f"has {arr.size} values but metainfo.keypoints has {k} names", source)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise _fail(field, "values must be finite and > 0", source)
    return arr.tolist()


def metainfo_from_spec(spec: Mapping[str, Any], source: str = "<spec>") -> dict[str, Any]:
    """A small spec -> the compact metainfo schema (``dataset_name``, ``keypoints`` rows, ``skeleton``, ...).

    Pass the result to :func:`posekit.datasets.metainfo.parse_pose_metainfo` (``load_metainfo`` does both).
    """
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{source}: metainfo: unknown field(s) {unknown}; a keypoint spec knows {sorted(_SPEC_KEYS)}")
    names = list(spec["keypoints"])
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if not n:
            raise _fail("keypoints", f"entry {i} is an empty name", source)
        if n in seen:
            raise _fail("keypoints", f"duplicate name {n!r} (positions {seen[n]} and {i})", source)
        seen[n] = i
    name_set = set(names)
    k = len(names)

    if spec.get("flip_pairs") is None:
        flip_pairs = infer_flip_pairs(names)
    else:
        flip_pairs = _pairs(spec, "flip_pairs", name_set, source)
    partner: dict[str, str] = {}
    for a, b in flip_pairs:
        for x, y in ((a, b), (b, a)):
            if x == y or (x in partner and partner[x] != y):
                msg = f"{x!r} is paired twice or with itself ({partner.get(x, x)!r}, {y!r})"
                raise _fail("flip_pairs", msg, source)
            partner[x] = y
    skeleton = _pairs(spec, "skeleton", name_set, source)
    upper = set(_names_list(spec, "upper_body", name_set, source))
    lower = set(_names_list(spec, "lower_body", name_set, source))
    both = upper & lower
    if both:
        raise _fail("lower_body", f"{sorted(both)} are in metainfo.upper_body too", source)
    sigmas = _values(spec, "sigmas", k, DEFAULT_SIGMA, source)
    weights = _values(spec, "joint_weights", k, 1.0, source)
    colors = generate_colors(names, flip_pairs)
    rows = [
        [n, colors[i], "upper" if n in upper else "lower" if n in lower else "", partner.get(n, "")]
        for i, n in enumerate(names)
    ]
    color_of = dict(zip(names, colors))
    return dict(
        dataset_name=str(spec.get("dataset_name") or "custom"),
        paper_info=dict(spec.get("paper_info") or {}),
        keypoints=rows,
        skeleton=[[a, b, color_of[a]] for a, b in skeleton],
        joint_weights=weights,
        sigmas=sigmas,
    )


# ----------------------------------------------------------------------------------------------------------------------
# sigmas from repeated labels


def estimate_sigmas(keypoints: np.ndarray, visible: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Per-keypoint OKS sigmas from repeated labels of the same objects (COCO's definition).

    For each object and keypoint, the offsets of the annotators' labels from their mean are divided by the
    object scale ``s = sqrt(area)``; ``sigma_k`` is the standard deviation of these normalised offsets per axis,
    pooled over objects with the unbiased ``n - 1`` per object: ``sigma_k^2 = sum ||p - mean||^2 / s^2 /
    (2 * sum (n - 1))``. An isotropic Gaussian labelling error of per-axis std ``sigma * s`` gives back
    ``sigma``; OKS then uses ``kappa = 2 sigma`` as MMPose / COCO do.

    Args:
        keypoints: (A, N, K, 2) labels of N objects by A >= 2 annotators.
        visible: (A, N, K) > 0 where the annotator labelled the keypoint.
        areas: (N,) object areas in px^2.

    Returns:
        (K,) sigmas; NaN for a keypoint that no object has two labels of.
    """
    kpts = np.asarray(keypoints, dtype=np.float64)
    vis = np.asarray(visible) > 0
    if kpts.ndim != 4 or kpts.shape[-1] != 2 or vis.shape != kpts.shape[:3]:
        raise ValueError(
            f"estimate_sigmas: keypoints (A, N, K, 2) and visible (A, N, K), got {kpts.shape}, {vis.shape}"
        )
    if kpts.shape[0] < 2:
        raise ValueError("estimate_sigmas: needs labels from at least 2 annotators (repeated labels)")
    scale2 = np.asarray(areas, dtype=np.float64).reshape(1, -1, 1)
    if np.any(scale2 <= 0):
        raise ValueError("estimate_sigmas: every object needs an area > 0")
    n = vis.sum(axis=0)  # (N, K)
    mean = np.where(n[..., None] > 0, (kpts * vis[..., None]).sum(axis=0) / np.maximum(n, 1)[..., None], 0.0)
    sq = (((kpts - mean[None]) ** 2).sum(axis=-1) * vis / scale2).sum(axis=(0, 1))  # (K,)
    dof = np.clip(n - 1, 0, None).sum(axis=0)  # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(sq / (2 * dof))


def estimate_sigmas_from_files(paths: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """:func:`estimate_sigmas` of COCO keypoint files that label the same objects (annotation ``id``s present in
    every file). Returns (keypoint names of the first category, (K,) sigmas)."""
    if len(paths) < 2:
        raise ValueError("estimate-sigmas: give at least two annotation files (the same objects labelled twice)")
    files = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            files.append(json.load(f))
    anns = [{a["id"]: a for a in d["annotations"] if "keypoints" in a} for d in files]
    ids = sorted(set.intersection(*(set(a) for a in anns)))
    if not ids:
        raise ValueError(f"estimate-sigmas: no annotation id is present in all of {list(paths)}")
    k = len(anns[0][ids[0]]["keypoints"]) // 3
    kpts = np.zeros((len(files), len(ids), k, 2))
    vis = np.zeros((len(files), len(ids), k))
    areas = np.zeros(len(ids))
    for a, by_id in enumerate(anns):
        for j, i in enumerate(ids):
            arr = np.asarray(by_id[i]["keypoints"], dtype=np.float64).reshape(-1, 3)
            if len(arr) != k:
                raise ValueError(f"estimate-sigmas: {paths[a]}: annotation id {i} has {len(arr)} keypoints, not {k}")
            kpts[a, j], vis[a, j] = arr[:, :2], arr[:, 2]
    for j, i in enumerate(ids):
        ann = anns[0][i]
        if "area" in ann:
            areas[j] = ann["area"]
        else:
            x, y, w, h = ann["bbox"]
            areas[j] = w * h * 0.53
    cats = files[0].get("categories") or [{}]
    names = list(cats[0].get("keypoints") or [f"kpt{i}" for i in range(k)])
    return names, estimate_sigmas(kpts, vis, areas)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m posekit.datasets.metainfo.spec")
    sub = parser.add_subparsers(dest="cmd", required=True)
    est = sub.add_parser("estimate-sigmas", help="OKS sigmas from the same objects labelled in several COCO files")
    est.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    names, sigmas = estimate_sigmas_from_files(args.files)
    for n, s in zip(names, sigmas):
        print(f"{n}: {s:.4f}")
    print("sigmas: [" + ", ".join("null" if np.isnan(s) else f"{s:.4f}" for s in sigmas) + "]")


if __name__ == "__main__":
    main()
