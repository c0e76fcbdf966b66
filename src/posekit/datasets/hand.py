"""MMPose's 2D hand datasets: RHD, FreiHand, COCO-WholeBody-Hand, InterHand2.6M (two hands, 2D).

OneHand10K (plain COCO) is :class:`~posekit.datasets.OneHand10KDataset` in ``coco_style.py``.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any

import numpy as np

from .coco_style import CocoStyleDataset

__all__ = ["Rhd2DDataset", "FreiHandDataset", "CocoWholeBodyHandDataset", "InterHand2DDoubleDataset"]


class Rhd2DDataset(CocoStyleDataset):
    """Rendered Hand Pose (21)."""

    METAINFO = "rhd2d"


class FreiHandDataset(CocoStyleDataset):
    """FreiHand (21): every image is a 224 x 224 crop of one hand, so the box is the whole image (as MMPose)."""

    METAINFO = "freihand2d"
    IMAGE_BOX = (0.0, 0.0, 224.0, 224.0)

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann = raw_data_info["raw_ann_info"]
        if "keypoints" not in ann:
            return None
        info = super().parse_data_info({**raw_data_info, "raw_ann_info": {**ann, "bbox": [0, 0, 1, 1]}})
        info["bbox"] = np.array([self.IMAGE_BOX], dtype=np.float32)
        info["num_keypoints"] = int(np.count_nonzero(info["keypoints"].max(axis=2)))
        info["raw_ann_info"] = ann
        return info


class CocoWholeBodyHandDataset(CocoStyleDataset):
    """COCO-WholeBody hands (21): each valid ``lefthand`` / ``righthand`` of a person is one instance, boxed by
    its ``*hand_box``; ids are a running count in file order (as MMPose)."""

    METAINFO = "coco_wholebody_hand"

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        raw = self._read_json(self.ann_file, "ann_file")
        coco = self._build_coco(raw, self.ann_file)
        instance_list, image_list = [], []
        for img_id in coco.getImgIds():
            img = dict(coco.imgs[img_id], img_id=img_id)
            img["img_path"] = osp.join(self.data_prefix["img"], img["file_name"])
            image_list.append(img)
            for ann in coco.imgToAnns.get(img_id, ()):
                if ann.get("iscrowd", 0):
                    continue
                for side in ("left", "right"):
                    kpts = ann.get(f"{side}hand_kpts")
                    if not ann.get(f"{side}hand_valid") or not kpts or max(kpts) <= 0:
                        continue
                    keypoints, visible = self._parse_keypoints({"id": ann["id"], "keypoints": kpts})
                    x, y, w, h = (float(v) for v in ann[f"{side}hand_box"])
                    instance_list.append(
                        {
                            "img_id": ann["image_id"],
                            "img_path": img["img_path"],
                            "img_shape": (img["height"], img["width"]),
                            "ori_shape": (img["height"], img["width"]),
                            "bbox": np.array([[x, y, x + w, y + h]], dtype=np.float32),
                            "bbox_score": np.ones(1, dtype=np.float32),
                            "num_keypoints": int(np.count_nonzero(keypoints.max(axis=2))),
                            "keypoints": keypoints,
                            "keypoints_visible": visible,
                            "iscrowd": ann.get("iscrowd", 0),
                            "segmentation": ann.get("segmentation"),
                            "id": len(instance_list),
                            "category_id": 1,
                            "raw_ann_info": ann,
                        }
                    )
        return instance_list, image_list


class InterHand2DDoubleDataset(CocoStyleDataset):
    """InterHand2.6M in 2D (42 = right hand 0-20, left hand 21-41; MMPose's ``interhand3d`` metainfo).

    The 2D keypoints are the world joints of ``joint_file`` projected with the cameras of ``camera_param_file``;
    a hand whose root (wrist) is not valid has all its joints invalid. Items add ``hand_type`` (1, 2) (right,
    left) and ``hand_type_valid``.

    Args:
        camera_param_file / joint_file: InterHand2.6M's ``*_camera.json`` / ``*_joint_3d.json`` (relative to
            ``data_root`` unless absolute).
        sample_interval: keep every n-th image.
        Others: as :class:`CocoStyleDataset`.
    """

    METAINFO = "interhand3d"
    HAND_TYPES = {"right": (1.0, 0.0), "left": (0.0, 1.0), "interacting": (1.0, 1.0)}

    def __init__(
        self,
        ann_file: str | os.PathLike = "",
        camera_param_file: str | os.PathLike = "",
        joint_file: str | os.PathLike = "",
        *args: Any,
        sample_interval: int = 1,
        **kwargs: Any,
    ) -> None:
        root = kwargs.get("data_root") or ""
        self.camera_param_file = osp.join(root, str(camera_param_file)) if root else str(camera_param_file)
        self.joint_file = osp.join(root, str(joint_file)) if root else str(joint_file)
        self.sample_interval = int(sample_interval)
        super().__init__(ann_file, *args, **kwargs)

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        raw = self._read_json(self.ann_file, "ann_file")
        coco = self._build_coco(raw, self.ann_file)
        cameras = self._read_json(self.camera_param_file, "camera_param_file")
        joints = self._read_json(self.joint_file, "joint_file")
        instance_list, image_list = [], []
        for idx, img_id in enumerate(coco.getImgIds()):
            if idx % self.sample_interval:
                continue
            img = dict(coco.imgs[img_id], img_id=img_id)
            img["img_path"] = osp.join(self.data_prefix["img"], img["file_name"])
            image_list.append(img)
            anns = coco.imgToAnns.get(img_id, ())
            if anns:
                instance_list.append(self._parse_interhand(anns[0], img, cameras, joints))
        return instance_list, image_list

    def _parse_interhand(self, ann: dict, img: dict, cameras: dict, joints: dict) -> dict:
        capture, cam, frame = str(img["capture"]), str(img["camera"]), str(img["frame_idx"])
        where = f"{self.ann_file}: image {img['img_id']!r}"
        try:
            cam_params = cameras[capture]
            pos = np.asarray(cam_params["campos"][cam], dtype=np.float32)
            rot = np.asarray(cam_params["camrot"][cam], dtype=np.float32)
            focal = np.asarray(cam_params["focal"][cam], dtype=np.float32)
            principal = np.asarray(cam_params["princpt"][cam], dtype=np.float32)
            world = np.asarray(joints[capture][frame]["world_coord"], dtype=np.float32)
        except KeyError as e:
            raise ValueError(
                f"{where}: capture {capture} / camera {cam} / frame {frame} is missing from "
                f"{self.camera_param_file} or {self.joint_file} (key {e})"
            ) from e
        valid = np.asarray(ann["joint_valid"], dtype=np.float32).reshape(-1)
        cam_xyz = (rot @ (world.T - pos.reshape(3, 1))).T  # (42, 3)
        valid[:20] *= valid[20]  # right wrist is the right hand's root
        valid[21:] *= valid[41]  # left wrist
        xy = cam_xyz[:, :2] / (cam_xyz[:, 2:3] + 1e-8) * focal.reshape(1, 2) + principal.reshape(1, 2)
        x, y, w, h = (float(v) for v in ann["bbox"])
        hand_type = ann["hand_type"]
        if hand_type not in self.HAND_TYPES:
            raise ValueError(f"{where}: hand_type {hand_type!r} is not one of {sorted(self.HAND_TYPES)}")
        return {
            "img_id": ann["image_id"],
            "img_path": img["img_path"],
            "img_shape": (img["height"], img["width"]),
            "ori_shape": (img["height"], img["width"]),
            "keypoints": xy.reshape(1, -1, 2).astype(np.float32),
            "keypoints_visible": np.minimum(1, valid).reshape(1, -1),
            "hand_type": np.array([self.HAND_TYPES[hand_type]], dtype=np.float32),
            "hand_type_valid": np.array([ann["hand_type_valid"]]),
            "bbox": np.array([[x, y, x + w, y + h]], dtype=np.float32),
            "bbox_score": np.ones(1, dtype=np.float32),
            "num_keypoints": self._metainfo["num_keypoints"],
            "iscrowd": ann.get("iscrowd", False),
            "id": ann["id"],
            "category_id": 1,
            "raw_ann_info": ann,
        }
