"""PoseVisualization in a real 1-epoch Lightning run on a tiny synthetic dataset; the checkpoint of that run
through init_model / inference_topdown."""

from __future__ import annotations

from pathlib import Path

import cv2
import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, Logger

from posekit.visualization import PoseVisualization


class ImageLogger(Logger):
    """Takes pictures both ways the callback knows: ``log_image`` (Wandb style) and ``experiment.add_image``."""

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[tuple[str, int, tuple]] = []

    @property
    def name(self) -> str:
        return "images"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass

    def log_image(self, key: str, images: list, step: int | None = None) -> None:
        for img in images:
            self.logged.append((key, step, np.asarray(img).shape))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from posekit import conf_dir
    from posekit.engine.runner import build_datamodule, build_lit_module

    tmp = tmp_path_factory.mktemp("vis_run")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                f"paths.output_dir={tmp}",
                f"data.synthetic.root={tmp / 'synthetic'}",
                "data.synthetic.num_train=4",
                "data.synthetic.num_val=3",
                "data.num_workers=0",
                "data.batch_size=4",
                "data.val_batch_size=8",
            ],
        )
    pl.seed_everything(0)
    dm = build_datamodule(cfg)
    dm.prepare_data()  # generates the synthetic images + annotations (the COCO metric reads them when built)
    lit = build_lit_module(cfg, dm)
    images = ImageLogger()
    callback = PoseVisualization(num_images=2, every_n_epochs=1, kpt_thr=0.0)
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        accelerator="cpu",
        devices=1,
        logger=[CSVLogger(str(tmp), name="csv", version=""), images],
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=1,
        default_root_dir=str(tmp),
    )
    trainer.fit(lit, datamodule=dm)
    ckpt = tmp / "last.ckpt"
    trainer.save_checkpoint(ckpt)
    return trainer, callback, images, lit, ckpt


def test_callback_writes_pictures_under_log_dir(fitted):
    trainer, callback, images, _, _ = fitted
    out = Path(trainer.log_dir) / "vis" / "epoch_000"
    files = sorted(out.glob("*.jpg"))
    assert [str(f) for f in files] == sorted(callback.last_files)
    assert len(files) == 2  # num_images distinct validation images (the sanity check draws nothing)
    for f in files:
        pic = cv2.imread(str(f))
        assert pic is not None and pic.shape[2] == 3
        assert pic.shape[1] > pic.shape[0]  # GT | prediction side by side


def test_callback_logs_to_image_loggers_only(fitted):
    trainer, _, images, _, _ = fitted
    assert len(images.logged) == 2
    key, step, shape = images.logged[0]
    assert key == "val/pose" and step == trainer.global_step and shape[2] == 3


def test_every_n_epochs_and_arguments():
    cb = PoseVisualization(every_n_epochs=2)

    class FakeTrainer:
        sanity_checking = False
        current_epoch = 0  # the first epoch: (0 + 1) % 2 != 0 -> nothing happens, no dataset needed
        is_global_zero = True

    cb.on_validation_epoch_end(FakeTrainer(), None)
    assert cb.last_files == []
    with pytest.raises(ValueError, match="num_images"):
        PoseVisualization(num_images=0)


def test_checkpoint_of_the_run_loads_for_inference(fitted, testdata_dir):
    from posekit.apis import inference_topdown, init_model

    _, _, _, lit, ckpt = fitted
    model = init_model(ckpt)
    for k, v in lit.model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v.cpu())
    img = testdata_dir / "coco" / "000000000785.jpg"
    box = np.array([[280.79, 44.73, 499.49, 391.41]], np.float32)
    ours = inference_topdown(model, img, box)[0]  # the stored val pipeline of the run
    assert ours["keypoints"].shape == (17, 2)
    trained = lit.model.eval()
    trained.dataset_meta = model.dataset_meta
    same = inference_topdown(trained, img, box)[0]  # posekit's default test pipeline: the same transforms
    np.testing.assert_allclose(ours["keypoints"], same["keypoints"], atol=1e-4)
    np.testing.assert_allclose(ours["keypoint_scores"], same["keypoint_scores"], atol=1e-5)
