"""The one place posekit composes Hydra configurations (bottom layer: imports only hydra, omegaconf and
:func:`posekit.conf_dir`).

Example::

    from posekit.config import compose, compose_model, load_run_config, to_container

    cfg = compose("train", ["experiment=coco_hrnet", "paths.data_dir=/data"])
    cfg = compose("train", ["model=my_net", "data=my_data"], config_dir="~/my_configs")  # user's own configs
    node = compose_model("hrnet_w32", num_keypoints=17, overrides=["model.test_cfg.flip_test=false"])
    cfg = load_run_config(load_checkpoint_file("last.ckpt"), ["data.val.bbox_file=dets.json"])  # posekit.utils
    plain = to_container(cfg)

``config_dir`` / ``searchpath`` add folders to Hydra's search path (like the CLIs' ``--config-dir`` and
``hydra.searchpath``): a user's ``model/my_net.yaml`` is found next to the packaged ``conf/model/*.yaml``, and a
file with a packaged name replaces the packaged one.

Checkpoints written by ``posekit-train`` carry ``posekit_hydra``: ``{config_name, overrides, searchpath}`` (see
:func:`hydra_run_info`), so :func:`load_run_config` re-composes the run's configuration with the caller's
overrides instead of patching a stored copy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

__all__ = [
    "ConfigError",
    "compose",
    "compose_model",
    "compose_model_file",
    "compose_run_config",
    "match_experiment",
    "run_config_overrides",
    "hydra_run_info",
    "list_configs",
    "load_run_config",
    "merge_overrides",
    "override_key",
    "search_dirs",
    "to_container",
]

# the checkpoint entry holding how a run's configuration was composed
RUN_INFO_KEY = "posekit_hydra"


class ConfigError(ValueError):
    """A configuration that cannot be composed or loaded (one line: what, where, and the fix)."""


def _as_list(value: str | os.PathLike | Iterable[str | os.PathLike] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def _as_url(entry: str) -> str:
    """A folder or a ``file://`` / ``pkg://`` search-path entry -> a search-path URL."""
    if "://" in entry:
        return entry
    path = Path(entry).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(f"config_dir={entry}: no such folder (a folder holding model/, data/ ... config groups)")
    return f"file://{path}"


def search_dirs(config_dir: Any = None, searchpath: Any = ()) -> list[Path]:
    """The folders searched for config groups, highest priority first: the user's, then the packaged ``conf/``."""
    from posekit import conf_dir

    dirs = []
    for entry in [*_as_list(config_dir), *_as_list(searchpath)]:
        url = _as_url(entry)
        if url.startswith("file://"):
            dirs.append(Path(url[len("file://") :]))
    return [*dirs, conf_dir()]


def list_configs(group: str, config_dir: Any = None, searchpath: Any = ()) -> list[str]:
    """Names of the configs of ``group`` (``model``, ``data`` ...) in the packaged ``conf/`` and the user's folders."""
    names = set()
    for folder in search_dirs(config_dir, searchpath):
        names.update(p.stem for p in (folder / group).glob("*.yaml"))
    return sorted(names)


def override_key(override: str) -> str:
    """``+a.b=1`` / ``++a.b=1`` / ``~a.b`` / ``a.b=1`` -> ``a.b`` (the key an override sets)."""
    return override.split("=", 1)[0].lstrip("~+").strip()


def merge_overrides(base: Sequence[str], later: Sequence[str]) -> list[str]:
    """``base`` then ``later``; an override in ``later`` replaces the ``base`` one with the same key (keeping the
    ``+`` of the base one when ``later`` has none, so a key a run added stays addable)."""
    later_keys = {override_key(o): o for o in later}
    out = [o for o in base if override_key(o) not in later_keys]
    for o in later:
        match = next((b for b in base if override_key(b) == override_key(o)), None)
        if match is not None and match.startswith("+") and not o.startswith(("+", "~")):
            o = "++" + o
        out.append(o)
    return out


def _value(text: str) -> str:
    """``text`` as an override value: as is when Hydra's grammar reads it plainly (or it interpolates), else quoted."""
    import re

    return text if "${" in text or re.fullmatch(r"[\w./\-:~+@%]+", text) else _quote(text)


def _quote(url: str) -> str:
    return "'" + url.replace("\\", "\\\\").replace("'", "\\'") + "'"


def compose(
    config_name: str = "train",
    overrides: Sequence[str] = (),
    config_dir: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    searchpath: Sequence[str] = (),
    return_hydra_config: bool = False,
) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra ``overrides`` (``key=value``, ``group=name``, ``+key=v``).

    ``config_dir`` (one folder or several) and ``searchpath`` (``file://`` / ``pkg://`` URLs or folders) are added
    to the search path before the packaged configs, as ``--config-dir`` / ``hydra.searchpath`` do for the CLIs.
    Works inside a running Hydra app too (its global state is restored afterwards). Raises :class:`ConfigError`.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from posekit import conf_dir

    urls = [_as_url(e) for e in [*_as_list(config_dir), *_as_list(searchpath)]]
    ovr = [str(o) for o in overrides]
    if urls:
        ovr.append(f"hydra.searchpath=[{','.join(_quote(u) for u in urls)}]")
    gh = GlobalHydra.instance()
    saved = gh.hydra if gh.is_initialized() else None
    if saved is not None:
        gh.clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
            return hydra_compose(config_name=config_name, overrides=ovr, return_hydra_config=return_hydra_config)
    except (HydraException, OmegaConfBaseException) as err:
        msg = " ".join(str(err).split())
        raise ConfigError(f"composing {config_name}.yaml with {list(overrides)}: {msg}") from err
    finally:
        if saved is not None:
            gh = GlobalHydra.instance()
            gh.clear()
            gh.initialize(saved)


def model_option(name: str, config_dir: Any = None) -> str | None:
    """The ``model=`` option of ``name``: a config of ``conf/model`` (or the user's ``model/``), ``mmpose/<stem>``
    for an MMPose config stem (or its path / ``mmpose/<stem>``), else None."""
    if name in list_configs("model", config_dir):
        return name
    stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py").removesuffix(".yaml")
    return f"mmpose/{stem}" if stem in list_configs("model/mmpose", config_dir) else None


def compose_model(
    name: str,
    num_keypoints: int = 17,
    overrides: Sequence[str] = (),
    config_dir: Any = None,
) -> DictConfig:
    """``conf/model_only.yaml`` with ``model=<name>``: the root config (``model``, ``codec``, ``num_keypoints``) to
    instantiate a model from without data. ``name`` is a file of ``conf/model/`` (or of ``config_dir``'s
    ``model/``)."""
    available = list_configs("model", config_dir)
    if name not in available:  # an MMPose config stem (or its path): conf/model/mmpose/<stem>.yaml
        stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py").removesuffix(".yaml")
        if model_option(name, config_dir) is not None:
            name = model_option(name, config_dir)
        else:
            import difflib

            where = ", ".join(str(d / "model") for d in search_dirs(config_dir))
            close = difflib.get_close_matches(stem, available + list_configs("model/mmpose", config_dir), n=3)
            raise ConfigError(
                f"unknown model config {name!r}: not a file of {where} (short names) or of its mmpose/ folder (MMPose "
                f"config stems); closest: {close}; all names: posekit.models.list_models()"
            )
    return compose("model_only", [f"model={name}", f"num_keypoints={int(num_keypoints)}", *overrides], config_dir)


def compose_model_file(path: str | os.PathLike, num_keypoints: int = 17, overrides: Sequence[str] = ()) -> DictConfig:
    """A model group file anywhere on disk (``conf/model/*.yaml`` style: ``# @package model``, ``_target_``, a
    ``defaults`` list picking ``/codec@_global_.codec``) composed like a packaged one: through a temporary search
    path folder holding it as ``model/<stem>.yaml``."""
    import shutil
    import tempfile

    src = Path(path).expanduser()
    if not src.is_file():
        raise ConfigError(f"model config {os.fspath(path)!r}: no such file")
    with tempfile.TemporaryDirectory(prefix="posekit_model_") as tmp:
        (Path(tmp) / "model").mkdir()
        name = f"_user_{src.stem}"
        shutil.copyfile(src, Path(tmp) / "model" / f"{name}.yaml")
        cfg = compose("model_only", [f"model={name}", f"num_keypoints={int(num_keypoints)}", *overrides], tmp)
        OmegaConf.resolve(cfg)  # nothing may point into the temporary folder once it is gone
        return cfg


def hydra_run_info() -> dict[str, Any] | None:
    """Inside a running Hydra app: ``{config_name, overrides, searchpath}``, what re-composes this run's config
    (the task overrides, and the user's config folders from ``--config-dir`` / ``hydra.searchpath``); else None."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    searchpath: list[str] = []
    for source in hc.runtime.config_sources:
        if source.provider == "command-line" or str(source.provider).startswith("hydra.searchpath"):
            path = os.path.abspath(source.path) if source.schema == "file" else source.path
            url = f"{source.schema}://{path}"
            if url not in searchpath:
                searchpath.append(url)
    return {
        "config_name": hc.job.config_name,
        "overrides": list(hc.overrides.task),
        "searchpath": searchpath,
    }


def load_run_config(
    checkpoint: Mapping[str, Any],
    overrides: Sequence[str] = (),
    output_dir: str | os.PathLike | None = None,
    source: str = "the checkpoint",
    searchpath: Sequence[str] = (),
) -> DictConfig:
    """The configuration of the run that wrote ``checkpoint`` (a loaded ``.ckpt`` dict), with ``overrides``.

    A checkpoint with ``posekit_hydra`` (``posekit-train`` and the converter write it) is re-composed from its
    stored override list, ``overrides`` replacing stored ones with the same key. Older checkpoints fall back to the
    stored configuration (``posekit_cfg_raw``, whose interpolations follow ``paths.*`` overrides, else the resolved
    ``posekit_cfg``): ``key=value`` overrides are set, ``group=name`` overrides replace that group's node with the
    packaged one. ``paths.output_dir`` becomes ``output_dir`` (default ``<paths.log_dir>/eval``). ``searchpath``
    adds config folders to the stored ones (a user's ``data=my_data``).
    """
    out = os.fspath(output_dir) if output_dir is not None else "${paths.log_dir}/eval"
    info = checkpoint.get(RUN_INFO_KEY)
    if isinstance(info, Mapping) and info.get("overrides") is not None:
        ovr = merge_overrides(list(info["overrides"]), [*overrides, f"paths.output_dir={_value(out)}"])
        paths = [*searchpath, *[u for u in info.get("searchpath") or () if u not in searchpath]]
        try:
            cfg = compose(str(info.get("config_name") or "train"), ovr, searchpath=paths)
        except ConfigError as err:
            raise ConfigError(f"{source}: re-composing its configuration failed: {err}") from None
        return cfg
    return _patch_stored(checkpoint, overrides, out, source, searchpath)


def _patch_stored(
    checkpoint: Mapping[str, Any], overrides: Sequence[str], out: str, source: str, searchpath: Sequence[str] = ()
) -> DictConfig:
    """The fallback of :func:`load_run_config` for checkpoints without a stored override list."""
    if "posekit_cfg" not in checkpoint:
        raise ConfigError(
            f"{source} has no stored posekit configuration (not written by posekit-train); convert MMPose "
            "checkpoints with `posekit convert` first"
        )
    candidates = [checkpoint[k] for k in ("posekit_cfg_raw", "posekit_cfg") if checkpoint.get(k) is not None]
    dirs = search_dirs(searchpath=searchpath)
    group_ovr = [
        o for o in overrides if "." not in override_key(o) and any((d / override_key(o)).is_dir() for d in dirs)
    ]
    value_ovr = [o for o in overrides if o not in group_ovr]
    groups = compose("train", ["paths.output_dir=.", *group_ovr], searchpath=searchpath) if group_ovr else None
    last_err: Exception | None = None
    for stored in candidates:
        cfg = OmegaConf.create(stored)
        OmegaConf.update(cfg, "paths.output_dir", out, force_add=True)
        if groups is not None:
            for o in group_ovr:
                key = override_key(o)
                cfg[key] = groups[key]
                if key == "model" and "codec" in groups:  # a model config picks its codec at the root
                    cfg["codec"] = groups["codec"]
        for o in value_ovr:
            key = override_key(o)
            if o.startswith("~"):
                parent, _, leaf = key.rpartition(".")
                node = OmegaConf.select(cfg, parent) if parent else cfg
                if isinstance(node, DictConfig) and leaf in node:
                    node.pop(leaf)
                continue
            if "=" not in o:
                raise ConfigError(f"override {o!r} is not key=value")
            value = o.split("=", 1)[1]
            parent = key.rpartition(".")[0]
            if parent and OmegaConf.select(cfg, parent) is None:
                raise ConfigError(f"override {key}: {parent} does not exist in the configuration stored in {source}")
            OmegaConf.update(cfg, key, _parse_value(value), merge=False, force_add=True)
        try:
            OmegaConf.to_container(cfg, resolve=True)
        except Exception as err:  # noqa: BLE001 - an interpolation of the raw copy no longer resolves
            last_err = err
            continue
        return cfg
    raise ConfigError(f"{source}: the stored configuration does not resolve with {list(overrides)}: {last_err}")


def _parse_value(text: str) -> Any:
    """An override's value as Hydra reads it (``1`` -> int, ``[1,2]`` -> list, ``null`` -> None ...)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(f"x={text}").value()
    except Exception:  # noqa: BLE001 - not Hydra's grammar: keep the text
        return text


def to_container(cfg: Any, resolve: bool = True) -> Any:
    """A ``DictConfig`` / ``ListConfig`` -> plain dicts and lists (interpolations resolved); anything else as is."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=resolve)
    return cfg


# ------------------------------------------------------------------------------------------------------------------
# the run configuration of a converted (MMPose) checkpoint
# ------------------------------------------------------------------------------------------------------------------

# what paths.output_dir becomes in a stored configuration (`${hydra:runtime.output_dir}` only resolves in an app;
# posekit-eval replaces it with its own output_dir)
NEUTRAL_OUTPUT_DIR = "${paths.log_dir}/converted"


def match_experiment(model: str, data: str) -> str | None:
    """The packaged experiment (``conf/experiment/*.yaml``) that trains ``model`` on ``data``, if exactly one does
    (``hrnet_w32`` + ``coco`` -> ``coco_hrnet``; ``hrnet_w32`` + ``mpii`` -> ``mpii_hrnet``, whose 256x256 codec
    matters)."""
    from posekit import conf_dir

    found = []
    for path in sorted((conf_dir() / "experiment").glob("*.yaml")):
        node = OmegaConf.to_container(OmegaConf.load(path))
        picks: dict[str, str] = {}
        for entry in (node or {}).get("defaults", []) or []:
            if isinstance(entry, Mapping):
                for key, value in entry.items():
                    picks[str(key).replace("override ", "").strip().lstrip("/")] = str(value)
        if picks.get("model") == model and picks.get("data") == data:
            found.append(path.stem)
    return found[0] if len(found) == 1 else None


def run_config_overrides(
    model: str,
    data: str = "coco",
    experiment: str | None = "auto",
    data_dir: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
) -> list[str]:
    """The ``train.yaml`` overrides of a run of ``model`` on ``data`` (see :func:`compose_run_config`)."""
    from posekit import conf_dir

    option = model_option(model)  # a short name, or an MMPose config stem -> mmpose/<stem>
    if option is None:
        models = list_configs("model") + list_configs("model/mmpose")
        raise ConfigError(f"unknown model config {model!r}; available in {conf_dir() / 'model'}: {models}")
    datas = list_configs("data")
    if data not in datas:
        raise ConfigError(f"unknown data config {data!r}; available in {conf_dir() / 'data'}: {datas}")
    if experiment == "auto":
        experiment = match_experiment(model, data)
    ovr = [f"experiment={experiment}" if experiment else "~experiment", f"model={option}", f"data={data}"]
    ovr.append(f"paths.output_dir={NEUTRAL_OUTPUT_DIR}")
    if data_dir is not None:
        ovr.append(f"paths.data_dir={Path(data_dir).expanduser().resolve()}")
    return [*ovr, *overrides]


def compose_run_config(
    model: str,
    data: str = "coco",
    num_keypoints: int | None = None,
    experiment: str | None = "auto",
    data_dir: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """The full run configuration a posekit checkpoint stores (``posekit_cfg``), as plain resolved containers.

    Composes ``conf/train.yaml`` with ``model=<model>``, ``data=<data>``, the matching experiment
    (``experiment='auto'``, see :func:`match_experiment`; a name; or ``None`` for none: the default synthetic
    experiment is always replaced), ``paths.output_dir`` set to a neutral ``<log_dir>/converted``,
    ``paths.data_dir=<data_dir>`` when given, and ``overrides``. ``num_keypoints`` (optional) must agree with the
    data config's.
    """
    cfg = compose("train", run_config_overrides(model, data, experiment, data_dir, overrides))
    if num_keypoints is not None and int(num_keypoints) != int(cfg.num_keypoints):
        raise ConfigError(
            f"num_keypoints={num_keypoints} disagrees with data={data} ({cfg.num_keypoints} keypoints); pick the data "
            "config the checkpoint was trained on"
        )
    return OmegaConf.to_container(cfg, resolve=True)
