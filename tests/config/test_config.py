"""posekit.config: the one module that composes Hydra configurations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from posekit import conf_dir
from posekit.config import (
    ConfigError,
    compose,
    compose_model,
    compose_model_file,
    list_configs,
    load_run_config,
    merge_overrides,
    to_container,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "posekit"
COMPOSING = re.compile(
    r"\binitialize_config_(dir|module)\b|\bhydra\.compose\b|from hydra import[^\n]*\b(compose|initialize)\b"
)


def test_only_config_py_composes():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "config.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if COMPOSING.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == [], "compose through posekit.config instead:\n" + "\n".join(offenders)
    assert COMPOSING.search("from hydra import compose, initialize_config_dir")  # the pattern does match


def test_compose_restores_a_running_hydra_context():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_dir(str(conf_dir()), version_base=None):
        cfg = compose("model_only", ["model=res50"])
        assert cfg.model.backbone.depth == 50
        assert GlobalHydra.instance().is_initialized()
    assert not GlobalHydra.instance().is_initialized()


def test_user_config_dir_adds_and_replaces_group_files(tmp_path):
    (tmp_path / "model").mkdir()
    text = (conf_dir() / "model" / "tiny.yaml").read_text()
    (tmp_path / "model" / "my_net.yaml").write_text(text.replace("depth: 18", "depth: 34"))
    assert "my_net" in list_configs("model", tmp_path) and "my_net" not in list_configs("model")
    cfg = compose_model("my_net", num_keypoints=5, config_dir=tmp_path)
    assert cfg.model.backbone.depth == 34 and cfg.num_keypoints == 5
    assert cfg.model.head.out_channels == 5 and cfg.codec.input_size == [96, 128]
    same = compose("model_only", ["model=my_net"], searchpath=[f"file://{tmp_path}"])
    assert same.model.backbone.depth == 34
    from_file = compose_model_file(tmp_path / "model" / "my_net.yaml", num_keypoints=3)
    assert from_file.model.backbone.depth == 34 and from_file.model.head.out_channels == 3
    with pytest.raises(ConfigError, match="unknown model config 'my_net'"):
        compose_model("my_net")
    with pytest.raises(ConfigError, match="no such folder"):
        compose("model_only", config_dir=tmp_path / "nowhere")


def test_compose_errors_are_config_errors():
    with pytest.raises(ConfigError, match="Could not find 'model/nope'"):
        compose("train", ["model=nope"])
    with pytest.raises(ValueError):  # ConfigError is a ValueError: the CLIs print it on one line
        compose("train", ["optim.lrr=1"])


def test_merge_overrides_later_wins_by_key():
    merged = merge_overrides(["model=tiny", "+foo=1", "data.batch_size=8"], ["model=res50", "foo=2", "seed=1"])
    assert merged == ["data.batch_size=8", "model=res50", "++foo=2", "seed=1"]


def test_load_run_config_recomposes_the_stored_overrides(tmp_path):
    stored = ["model=res50", "data.batch_size=4", "trainer.max_epochs=3"]
    ckpt = {"posekit_hydra": {"config_name": "train", "overrides": stored, "searchpath": []}}
    cfg = load_run_config(ckpt, ["data.batch_size=2", "data.val.bbox_file=dets.json"], output_dir=tmp_path)
    assert cfg.model.backbone.depth == 50 and cfg.data.batch_size == 2 and cfg.trainer.max_epochs == 3
    assert cfg.data.val.bbox_file == "dets.json" and cfg.paths.output_dir == str(tmp_path)
    assert to_container(cfg)["task_name"] == "train"


def test_load_run_config_falls_back_to_the_stored_copy(tmp_path):
    base = compose("train", ["paths.output_dir=x"])
    ckpt = {"posekit_cfg": to_container(base), "posekit_cfg_raw": OmegaConf.to_container(base, resolve=False)}
    cfg = load_run_config(ckpt, ["paths.cache_dir=/moved", "model=res50", "data.batch_size=3"], output_dir=tmp_path)
    assert cfg.data.synthetic.root.startswith("/moved/")  # the raw copy's interpolations follow paths.*
    assert cfg.model.backbone.depth == 50 and cfg.data.batch_size == 3
    with pytest.raises(ConfigError, match="nope does not exist"):
        load_run_config(ckpt, ["nope.x=1"], source="old.ckpt")
    with pytest.raises(ConfigError, match="not written by posekit-train"):
        load_run_config({}, [], source="old.ckpt")
