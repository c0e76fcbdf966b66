"""MMPose -> posekit checkpoint conversion (``posekit.models.convert``).

No MMPose checkpoint can be downloaded here, so the sources are random state_dicts with MMPose 1.3.2's exact entry
names and shapes (``tests/data/golden/model_<name>_256x192.json``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from posekit.models import build_model, build_model_from_cfg
from posekit.models.convert import (
    CheckpointMismatchError,
    compose_run_config,
    convert_mmpose_checkpoint,
    match_experiment,
)
from posekit.structures import PoseBatch

REPO = Path(__file__).resolve().parents[2]
# every config with an MMPose golden file (a second or two each)
GOLDEN = ["hrnet_w32", "res50", "rtmpose_m", "res50_rle", "hrnet_w48", "litehrnet_18", "mobilenetv2", "simcc_res50"]
GOLDEN += ["rtmpose_t", "rtmpose_s", "rtmpose_l"]
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def random_state_dict(shapes: dict[str, list[int]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the given shapes; ``num_batches_tracked`` as integer zeros (as MMPose stores them)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, s in shapes.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.zeros(s, dtype=torch.long)
        elif k.endswith("running_var"):
            out[k] = torch.rand(s, generator=g) + 0.5  # a variance: positive
        else:
            out[k] = torch.randn(s, generator=g) * 0.1
    return out


def golden_state_dict(golden_dir: Path, name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    golden = json.loads((golden_dir / f"model_{name}_256x192.json").read_text())
    return random_state_dict(golden["state_dict_shapes"], seed)


@pytest.fixture(scope="module")
def tiny_sd() -> dict[str, torch.Tensor]:
    """An MMPose-layout state_dict for the tiny model (no golden: taken from the model, values randomised)."""
    return random_state_dict({k: list(v.shape) for k, v in build_model("tiny").state_dict().items()}, seed=1)


def _check_converted(name: str, sd: dict[str, torch.Tensor]) -> dict:
    ckpt = convert_mmpose_checkpoint({"meta": {"mmpose_version": "1.3.2"}, "state_dict": sd}, name)
    state = ckpt["state_dict"]
    assert set(state) == {"model." + k for k in sd}
    for k, v in sd.items():
        assert state["model." + k].dtype == v.dtype, k
        assert torch.equal(state["model." + k], v), k
    # loads strictly into the packaged model; round trip: the model's state_dict is the MMPose state_dict again
    model = build_model(name)
    model.load_state_dict({k[len("model.") :]: v for k, v in state.items()}, strict=True)
    back = model.state_dict()
    assert list(back) == [k[len("model.") :] for k in state]  # the model's order
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    info = ckpt["posekit_conversion"]
    assert info["mapped"] == info["tensors"] == len(sd) and not (info["missing"] or info["unexpected"])
    assert info["params"] == sum(p.numel() for p in model.parameters())
    assert info["mmpose_meta"] == {"mmpose_version": "1.3.2"}
    return ckpt


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_layout_converts_exactly(name, golden_dir):
    ckpt = _check_converted(name, golden_state_dict(golden_dir, name))
    cfg = ckpt["posekit_cfg"]
    assert cfg["data"]["name"] == "coco" and cfg["num_keypoints"] == 17
    assert ckpt["epoch"] == 0 and ckpt["global_step"] == 0 and "pytorch-lightning_version" in ckpt


def test_stored_config_is_a_full_resolved_run_config():
    cfg = compose_run_config("hrnet_w32")
    text = json.dumps(cfg)
    assert "${" not in text  # plain containers, nothing left to resolve (no ${hydra:...})
    assert cfg["paths"]["output_dir"].endswith("converted")
    assert cfg["model"]["backbone"]["_target_"] == "posekit.models.backbones.HRNet"
    assert cfg["codec"]["input_size"] == [192, 256]
    assert cfg["data"]["val"]["bbox_file"].endswith("COCO_val2017_detections_AP_H_56_person.json")
    assert cfg["trainer"]["max_epochs"] == 210  # the coco_hrnet experiment, not the synthetic default
    assert match_experiment("hrnet_w32", "coco") == "coco_hrnet"
    assert match_experiment("tiny", "coco") is None
    mpii = compose_run_config("hrnet_w32", data="mpii", data_dir="/data")
    assert mpii["num_keypoints"] == 16 and mpii["codec"]["input_size"] == [256, 256]  # mpii_hrnet's codec
    assert mpii["data"]["data_root"] == "/data/mpii"
    tiny = compose_run_config("tiny")
    assert tiny["data"]["name"] == "coco" and tiny["trainer"]["max_epochs"] == 210  # no synthetic experiment
    with pytest.raises(ValueError, match="disagrees with data=mpii"):
        compose_run_config("hrnet_w32", data="mpii", num_keypoints=17)
    with pytest.raises(ValueError, match="unknown model config"):
        compose_run_config("no_such_model")
    with pytest.raises(ValueError, match="unknown data config"):
        compose_run_config("tiny", data="no_such_data")


def _batch(b: int = 2, w: int = 192, h: int = 256) -> PoseBatch:
    return PoseBatch(
        inputs=torch.zeros(b, 3, h, w, dtype=torch.uint8),
        targets={},
        centers=torch.tensor([[320.0, 240.0], [100.0, 150.0]])[:b],
        scales=torch.tensor([[240.0, 320.0], [96.0, 128.0]])[:b],
        metas=[{"flip_indices": COCO_FLIP, "input_size": (w, h)} for _ in range(b)],
    )


def test_written_checkpoint_loads_through_the_runner_and_predicts_the_same(golden_dir, tmp_path):
    from posekit.config import load_run_config, to_container
    from posekit.engine.runner import build_lit_module, load_checkpoint_config

    sd = golden_state_dict(golden_dir, "rtmpose_t", seed=3)
    out = tmp_path / "sub" / "rtmpose_t_coco.ckpt"
    returned = convert_mmpose_checkpoint({"state_dict": sd}, "rtmpose_t", num_keypoints=17, out_path=out)
    assert out.is_file() and not list(out.parent.glob(".*.tmp"))  # atomic write left no temporary behind
    ckpt = torch.load(out, map_location="cpu", weights_only=True)  # plain containers + tensors only
    assert ckpt["posekit_cfg"] == returned["posekit_cfg"]

    cfg = load_checkpoint_config(ckpt, str(out))
    lit = build_lit_module(cfg)  # what posekit-eval does (without the data)
    lit.load_state_dict(ckpt["state_dict"], strict=True)
    converted = lit.model.eval()

    direct = build_model("rtmpose_t").eval()  # the same weights loaded directly, MMPose names
    direct.load_state_dict(sd, strict=True)
    assert converted.test_cfg == direct.test_cfg and converted.test_cfg["flip_test"] is True

    batch = _batch()
    inputs = torch.randint(0, 256, (2, 3, 256, 192), dtype=torch.uint8)
    with torch.no_grad():
        a = converted.predict(converted.data_preprocessor(inputs), batch)
        b = direct.predict(direct.data_preprocessor(inputs), batch)
    assert a["keypoints"].shape == (2, 1, 17, 2) and torch.isfinite(a["keypoint_scores"]).all()
    assert a["keypoint_scores"].std() > 0 and a["keypoints"].std() > 0
    torch.testing.assert_close(a["keypoints"], b["keypoints"], rtol=0, atol=0)
    torch.testing.assert_close(a["keypoint_scores"], b["keypoint_scores"], rtol=0, atol=0)

    # the documented evaluation: `posekit-eval ckpt=OUT data=coco paths.data_dir=/data` points the data at /data
    # the converted checkpoint stores its Hydra overrides: evaluation re-composes the run with the new ones
    assert {"model=rtmpose_t", "data=coco"} <= set(ckpt["posekit_hydra"]["overrides"])
    moved = load_run_config(ckpt, ["data=coco", "paths.data_dir=/data"], output_dir=str(tmp_path))
    assert moved.data.val.data_root == "/data/coco"
    assert moved.data.evaluators[0].ann_file == "/data/coco/annotations/person_keypoints_val2017.json"
    assert moved.paths.output_dir == str(tmp_path)
    # an older checkpoint (no stored override list) falls back to patching the stored configuration
    old = {k: v for k, v in ckpt.items() if k != "posekit_hydra"}
    patched = load_run_config(old, ["data=coco", "paths.data_dir=/data"], output_dir=str(tmp_path))
    assert patched.data.val.data_root == "/data/coco"
    assert to_container(patched.model) == to_container(moved.model)


def test_init_model_reads_the_converted_checkpoint(tiny_sd, tmp_path):
    from posekit.apis import init_model

    out = tmp_path / "tiny.ckpt"
    convert_mmpose_checkpoint({"state_dict": tiny_sd}, "tiny", out_path=out)
    model = init_model(out, device="cpu")
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in tiny_sd.items())


def test_mismatches_are_listed(tiny_sd):
    sd = dict(tiny_sd)
    del sd["backbone.layer1.0.conv1.weight"]
    sd["backbone.extra_block.weight"] = torch.zeros(3)
    sd["head.final_layer.weight"] = torch.zeros(16, 64, 1, 1)  # 16 keypoints instead of 17
    with pytest.raises(CheckpointMismatchError) as info:
        convert_mmpose_checkpoint({"state_dict": sd}, "tiny")
    msg = str(info.value)
    assert "missing in the given state_dict" in msg and "(1):" in msg and "backbone.layer1.0.conv1.weight" in msg
    assert "unexpected in the given state_dict" in msg and "backbone.extra_block.weight" in msg
    assert "head.final_layer.weight: checkpoint (16, 64, 1, 1) vs model (17, 64, 1, 1)" in msg
    assert "another number of keypoints" in msg

    # strict=False converts the rest and reports the same entries; unmatched ones keep the model's own values
    ckpt = convert_mmpose_checkpoint({"state_dict": sd}, "tiny", strict=False)
    rep = ckpt["posekit_conversion"]
    assert rep["missing"] == ["backbone.layer1.0.conv1.weight"]
    assert rep["unexpected"] == ["backbone.extra_block.weight"]
    assert [m.split(":")[0] for m in rep["mismatched"]] == ["head.final_layer.weight"]
    assert rep["mapped"] == len(tiny_sd) - 2
    state = ckpt["state_dict"]
    assert state["model.head.final_layer.weight"].shape == (17, 64, 1, 1)
    assert not torch.equal(state["model.backbone.layer1.0.conv1.weight"], tiny_sd["backbone.layer1.0.conv1.weight"])
    assert torch.equal(state["model.backbone.layer1.0.conv2.weight"], tiny_sd["backbone.layer1.0.conv2.weight"])
    build_model("tiny").load_state_dict({k[6:]: v for k, v in state.items()}, strict=True)


def test_long_listings_are_capped_with_counts(tiny_sd):
    sd = {k: v for k, v in tiny_sd.items() if not k.startswith("backbone.layer")}
    missing = [k for k in tiny_sd if k.startswith("backbone.layer")]
    assert len(missing) > 25
    with pytest.raises(CheckpointMismatchError) as info:
        convert_mmpose_checkpoint(sd, "tiny")
    msg = str(info.value)
    assert f"({len(missing)}):" in msg and f"... and {len(missing) - 20} more" in msg
    listed = re.findall(r"^    (backbone\.layer\S+)$", msg, flags=re.M)
    assert listed == missing[:20]


def test_mmpose_extras_ema_and_legacy_names(tiny_sd):
    raw = {k: v + 1 if v.is_floating_point() else v for k, v in tiny_sd.items()}
    # mmengine EMAHook: state_dict holds the EMA weights, ema_state_dict the raw ones under `module.`
    ema_ckpt = {
        "state_dict": {**tiny_sd, "data_preprocessor.mean": torch.zeros(3, 1, 1)},
        "ema_state_dict": {"steps": torch.tensor(1000), **{"module." + k: v for k, v in raw.items()}},
        "optimizer": {"state": {}},
    }
    ckpt = convert_mmpose_checkpoint(ema_ckpt, "tiny")
    assert ckpt["posekit_conversion"]["ema"] == "mmengine"
    assert ckpt["posekit_conversion"]["dropped"] == ["data_preprocessor.mean"]
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in tiny_sd.items())
    ckpt = convert_mmpose_checkpoint(ema_ckpt, "tiny", use_ema=False)
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in raw.items())

    # MMPose 0.x: keypoint_head.*, DataParallel's module.*, mmcv EMAHook's ema_<name> buffers
    legacy = {"module." + k.replace("head.", "keypoint_head.", 1): v for k, v in tiny_sd.items()}
    legacy.update({"module.ema_" + k.replace("head.", "keypoint_head.", 1).replace(".", "_"): raw[k] for k in raw})
    ckpt = convert_mmpose_checkpoint({"state_dict": legacy}, "tiny")
    rep = ckpt["posekit_conversion"]
    assert rep["ema"] == "mmcv" and len(rep["dropped"]) == len(tiny_sd)
    assert rep["renamed"]["keypoint_head.final_layer.weight"] == "head.final_layer.weight"
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in tiny_sd.items())
    ckpt = convert_mmpose_checkpoint({"state_dict": legacy}, "tiny", use_ema=False)
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in raw.items())


def test_legacy_final_layer_with_intermediate_convs():
    """MMPose 0.x's TopdownHeatmapSimpleHead kept extra convs in ``final_layer.{n}``; 1.x has ``conv_layers``."""
    overrides = ["+model.head.conv_out_channels=[32]", "+model.head.conv_kernel_sizes=[1]"]
    model = build_model("tiny", overrides=overrides)
    new = random_state_dict({k: list(v.shape) for k, v in model.state_dict().items()}, seed=2)
    assert "head.conv_layers.0.weight" in new and "head.conv_layers.1.running_var" in new
    old = {}
    for k, v in new.items():
        k = k.replace("head.conv_layers.", "head.final_layer.")  # conv 0, BN 1 (ReLU 2 has no entries)
        k = k.replace("head.final_layer.weight", "head.final_layer.3.weight")
        k = k.replace("head.final_layer.bias", "head.final_layer.3.bias")
        old[k.replace("head.", "keypoint_head.", 1)] = v
    assert "keypoint_head.final_layer.3.weight" in old
    ckpt = convert_mmpose_checkpoint({"state_dict": old}, "tiny", overrides=overrides)
    rep = ckpt["posekit_conversion"]
    assert rep["renamed"]["keypoint_head.final_layer.3.weight"] == "head.final_layer.weight"
    assert rep["renamed"]["keypoint_head.final_layer.1.running_var"] == "head.conv_layers.1.running_var"
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in new.items())


def test_regression_head_loss_prefix(golden_dir):
    """0.x RLE checkpoints named the flow model ``keypoint_head.loss.*``; it is ``head.loss_module.*`` now."""
    sd = golden_state_dict(golden_dir, "res50_rle")
    old = {
        k.replace("head.loss_module.", "keypoint_head.loss.").replace("head.fc.", "keypoint_head.fc."): v
        for k, v in sd.items()
    }
    ckpt = convert_mmpose_checkpoint(old, "res50_rle")
    assert (
        ckpt["posekit_conversion"]["renamed"]["keypoint_head.loss.flow_model.loc"] == "head.loss_module.flow_model.loc"
    )
    assert all(torch.equal(ckpt["state_dict"]["model." + k], v) for k, v in sd.items())


def test_vit_pos_embed_of_another_grid_is_resized():
    from posekit.models.utils.transformer import resize_pos_embed

    arch = "{embed_dims: 32, num_layers: 1, num_heads: 2, feedforward_channels: 64}"
    small = [f"model.backbone.arch={arch}", "model.head.in_channels=32", "model.head.deconv_out_channels=[16,16]"]
    src = build_model("vitpose_b", overrides=[*small, "model.backbone.img_size=[128,96]"])  # 8x6 tokens
    sd = src.state_dict()
    ckpt = convert_mmpose_checkpoint(sd, "vitpose_b", overrides=small)  # 16x12 tokens
    expected = resize_pos_embed(sd["backbone.pos_embed"], (8, 6), (16, 12), "bicubic", 0)
    torch.testing.assert_close(ckpt["state_dict"]["model.backbone.pos_embed"], expected)
    assert ckpt["posekit_conversion"]["mapped"] == len(sd)


def test_model_given_as_a_run_config(tiny_sd):
    cfg = compose_run_config("tiny", data="synthetic")
    cfg["paths"]["output_dir"] = "${hydra:runtime.output_dir}"  # as a run's .hydra/config.yaml has it
    cfg["data"]["val"]["data_root"] = "${data.synthetic.root}"
    ckpt = convert_mmpose_checkpoint(tiny_sd, cfg)
    assert ckpt["posekit_cfg"]["paths"]["output_dir"].endswith("converted")
    assert ckpt["posekit_cfg"]["data"]["val"]["data_root"] == cfg["data"]["synthetic"]["root"]
    model = build_model_from_cfg(ckpt["posekit_cfg"])
    model.load_state_dict({k[6:]: v for k, v in ckpt["state_dict"].items()}, strict=True)
    with pytest.raises(ValueError, match="run configuration with a `model` node"):
        convert_mmpose_checkpoint(tiny_sd, {"backbone": {}})


def _script():
    from posekit.cli import convert

    return convert


def test_script_converts_and_reports(tiny_sd, tmp_path, capsys):
    script = _script()
    src = tmp_path / "mmpose_tiny.pth"
    torch.save({"meta": {"epoch": 210}, "state_dict": tiny_sd}, src)
    out = tmp_path / "tiny.ckpt"
    assert script.main([str(src), "--model", "tiny", "--num-keypoints", "17", "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"{len(tiny_sd)} of {len(tiny_sd)} mapped" in stdout
    n_params = sum(v.numel() for k, v in tiny_sd.items() if "running" not in k and "num_batches" not in k)
    assert f"{n_params:,} parameters" in stdout
    assert f"posekit-eval ckpt={out} data=coco" in stdout
    assert torch.load(out, weights_only=True)["posekit_conversion"]["model"] == "tiny"

    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": {**tiny_sd, "head.final_layer.bias": torch.zeros(5)}}, bad)
    assert script.main([str(bad), "--model", "tiny", "-o", str(tmp_path / "bad.ckpt")]) == 2
    assert "head.final_layer.bias: checkpoint (5,) vs model (17,)" in capsys.readouterr().err
    assert not (tmp_path / "bad.ckpt").exists()


def test_script_runs_as_a_program(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "posekit.cli", "convert", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "--num-keypoints" in proc.stdout and "--model" in proc.stdout
    assert "posekit-convert" in proc.stdout


def test_load_state_dict_lets_vit_resize_pos_embed_in_a_full_model(tmp_path):
    """``models.utils.load_state_dict`` (mmengine-style, skips shape mismatches) lets submodules with
    ``prepare_state_dict`` adapt their entries first: a full ViTPose checkpoint of another grid keeps its
    (resized) ``pos_embed`` instead of dropping it as a mismatch."""
    from posekit.models.utils.checkpoint import load_checkpoint, load_state_dict
    from posekit.models.utils.transformer import resize_pos_embed

    arch = "{embed_dims: 32, num_layers: 1, num_heads: 2, feedforward_channels: 64}"
    small = [f"model.backbone.arch={arch}", "model.head.in_channels=32", "model.head.deconv_out_channels=[16,16]"]
    src = build_model("vitpose_b", overrides=[*small, "model.backbone.img_size=[128,96]"])  # 8x6 tokens
    sd = src.state_dict()
    expected = resize_pos_embed(sd["backbone.pos_embed"], (8, 6), (16, 12), "bicubic", 0)

    dst = build_model("vitpose_b", overrides=small)  # 16x12 tokens
    result = load_state_dict(dst, sd, strict=True)  # strict: a skipped mismatch would raise
    assert result.missing_keys == [] and result.unexpected_keys == []
    torch.testing.assert_close(dst.backbone.pos_embed.data, expected)
    assert torch.equal(dst.backbone.layers[0].attn.qkv.weight, sd["backbone.layers.0.attn.qkv.weight"])
    assert tuple(sd["backbone.pos_embed"].shape) == (1, 48, 32)  # the caller's dict is not modified

    path = tmp_path / "vitpose_small.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, path)
    dst = build_model("vitpose_b", overrides=small)
    assert load_checkpoint(dst, path).missing_keys == []
    torch.testing.assert_close(dst.backbone.pos_embed.data, expected)
    # a genuinely incompatible entry is still skipped and reported
    bad = {**sd, "head.final_layer.weight": torch.zeros(5, 16, 1, 1)}
    assert load_state_dict(build_model("vitpose_b", overrides=small), bad).missing_keys == ["head.final_layer.weight"]
