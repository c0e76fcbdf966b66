"""Golden for ``init_model(<stem>, checkpoint=URL)`` against a real MMPose forward (run with /opt/mmref/bin/python).

MMPose 1.3.2 builds ``rtmpose-t_8xb256-420e_aic-coco-256x192`` with weights that both sides can regenerate without
storing them (:func:`det_weights`: per entry, numpy's PCG64 seeded by the CRC32 of its name; BN statistics
neutral), runs ``mmpose.apis.inference_topdown`` on the COCO test images with their annotated boxes, and writes
the keypoints and scores to ``tests/data/golden/infer/rtmpose_t_parity.json``. The posekit test writes the same
weights as an MMPose checkpoint, serves it over local HTTP and compares.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
STEM = "rtmpose-t_8xb256-420e_aic-coco-256x192"


def det_weights(shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Deterministic float32 weights for a state_dict layout (name -> shape), the same in any numpy >= 1.17."""
    out = {}
    for name, shape in shapes.items():
        rng = np.random.Generator(np.random.PCG64(zlib.crc32(name.encode())))
        if name.endswith("running_var"):
            arr = 1.0 + 0.1 * rng.random(shape)
        elif name.endswith("running_mean") or name.endswith("num_batches_tracked"):
            arr = np.zeros(shape)
        elif name.endswith(".weight") and len(shape) == 1:  # norm scales
            arr = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            arr = rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))
        out[name] = arr.astype(np.float32)
    return out


def main() -> None:
    import mmpose
    import torch
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model
    from mmpose.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(
        Path(mmpose.__file__).parent / ".mim" / "configs" / "body_2d_keypoint" / "rtmpose" / "coco" / f"{STEM}.py"
    )
    cfg.model.backbone.pop("_scope_", None)  # mmpose's own CSPNeXt: mmdet's needs mmcv's compiled ops
    model = init_model(cfg, None, device="cpu")
    state = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items() if not k.startswith("data_preprocessor")}
    weights = det_weights(shapes)
    model.load_state_dict({k: torch.from_numpy(v).to(state[k].dtype) for k, v in weights.items()}, strict=False)
    ann = json.loads((ROOT / "tests/data/mmpose_testdata/coco/test_coco.json").read_text())
    images = []
    for img in sorted(ann["images"], key=lambda i: i["file_name"]):
        xywh = np.array([a["bbox"] for a in ann["annotations"] if a["image_id"] == img["id"]], np.float32)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        path = ROOT / "tests/data/mmpose_testdata/coco" / img["file_name"]
        results = inference_topdown(model, str(path), boxes, bbox_format="xyxy")
        images.append(
            {
                "file_name": img["file_name"],
                "bboxes": boxes.round(3).tolist(),
                "keypoints": [r.pred_instances.keypoints[0].round(4).tolist() for r in results],
                "keypoint_scores": [r.pred_instances.keypoint_scores[0].round(5).tolist() for r in results],
            }
        )
    out = ROOT / "tests/data/golden/infer/rtmpose_t_parity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"stem": STEM, "mmpose": mmpose.__version__, "weights": "det_weights() of this script"}
    out.write_text(json.dumps({"meta": meta, "images": images}, separators=(",", ":")))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
