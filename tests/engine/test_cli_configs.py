"""Config rough edges through the real CLIs: logger=none, Lightning's trainer keys without `+`, and the
docs/configs.md example of a user's own model and dataset configs in their own folder (train, eval, infer)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch

from tests.engine.test_cli_e2e import TINY, _cli, _run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configs.md"


def _run_dir(proc, cwd: Path) -> Path:
    run_dir = Path(proc.stdout.split("run directory ")[1].split()[0])
    return run_dir if run_dir.is_absolute() else cwd / run_dir


def test_train_without_logger_and_with_step_limits(tmp_path):
    args = [a for a in TINY if not a.startswith(("data.batch_size", "trainer.max_epochs"))]
    proc = _run(
        [
            *_cli("train"),
            *args,
            "data.batch_size=2",
            "trainer.max_epochs=3",
            "logger=none",
            "trainer.limit_train_batches=5",
            "trainer.max_steps=10",
            "trainer.limit_val_batches=1",
        ],
        tmp_path,
    )
    run_dir = _run_dir(proc, tmp_path)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["global_step"] == 10  # 5 batches an epoch (of 12), stopped by max_steps in the 2nd epoch
    assert not (run_dir / "csv").exists()  # no logger, and no LearningRateMonitor complaining about it
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    info = ckpt["posekit_hydra"]
    assert info["config_name"] == "train" and "logger=none" in info["overrides"] and info["searchpath"] == []


def _docs_files() -> dict[str, str]:
    """The YAML files of docs/configs.md (`<!-- file: PATH -->` before a ```yaml block)."""
    text = DOCS.read_text()
    found = dict(re.findall(r"<!-- file: (\S+) -->\n```yaml\n(.*?)```", text, flags=re.S))
    assert set(found) == {"my_configs/model/my_net.yaml", "my_configs/data/my_people.yaml"}
    return found


def test_user_config_folder_example_of_the_docs(tmp_path, testdata_dir, monkeypatch, capsys):
    for rel, text in _docs_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    coco = testdata_dir / "coco"
    root = tmp_path / "data" / "my_people"
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for split in ("train", "val"):
        shutil.copy(coco / "test_coco.json", root / "annotations" / f"{split}.json")
    for img in coco.glob("*.jpg"):
        shutil.copy(img, root / "images" / img.name)
    fast = [
        "data.num_workers=0",
        "data.pin_memory=false",
        "data.batch_size=4",
        "data.val_batch_size=4",
        "trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        "trainer.accelerator=cpu",
        "scheduler.warmup_iters=1",
        "callbacks.progress_bar.refresh_rate=0",
    ]
    # the documented commands, with speed settings
    proc = _run(
        [*_cli("train"), "--config-dir", "my_configs", "model=my_net", "data=my_people", "paths.data_dir=data", *fast],
        tmp_path,
    )
    run_dir = _run_dir(proc, tmp_path)
    ckpt_path = run_dir / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    assert ckpt["state_dict"]["model.head.deconv_layers.0.weight"].shape[1] == 96  # my_net's wider head
    assert ckpt["posekit_cfg"]["data"]["name"] == "my_people"
    assert ckpt["posekit_hydra"]["searchpath"] == [f"file://{tmp_path / 'my_configs'}"]
    trained = json.loads((run_dir / "metrics.json").read_text())["val"]

    out = tmp_path / "eval_out"
    proc = _run([*_cli("eval"), f"ckpt={ckpt_path}", f"output_dir={out}", "accelerator=cpu"], tmp_path)
    evaluated = json.loads((out / "metrics.json").read_text())["val"]
    assert evaluated["coco/AP"] == trained["coco/AP"]  # re-composed from the stored overrides and config folder

    photo = tmp_path / "photo.jpg"
    shutil.copy(coco / "000000000785.jpg", photo)
    from posekit.cli import infer  # in process (the console script's main), to save a start-up

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    infer.main(["--config-dir", "my_configs", "model=my_net", f"weights={ckpt_path}", "photo.jpg", "output_dir=inf1",
                "--det-model", "none"])
    assert "1 images, 1 people" in capsys.readouterr().out
    infer.main([f"ckpt={ckpt_path}", "photo.jpg", "--kpt-thr", "0.5", "--device", "cpu", "--det-model", "none"])
    assert "1 images, 1 people" in capsys.readouterr().out
    a = json.loads((tmp_path / "inf1" / "predictions.json").read_text())["images"][0]["instances"][0]
    pred = next((tmp_path / "outputs" / "infer" / "runs").glob("*/predictions.json"))
    b = json.loads(pred.read_text())["images"][0]["instances"][0]
    assert a["keypoints"] == b["keypoints"]  # model=my_net + weights == the checkpoint's own configuration
