"""MMPose 1.3.2's model zoo as data (generated from its metafiles): config stems, weights URLs, published metrics.

>>> from posekit.models.zoo import get_model_info, find_stem_for_checkpoint
>>> get_model_info("td-hm_hrnet-w32_8xb64-210e_coco-256x192").coco_ap
0.746
>>> find_stem_for_checkpoint("cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth")
'cspnext-m_udp_8xb256-210e_aic-coco-256x192'
"""

from .metafile import config_stem, parse_metafile, parse_weights_name
from .registry import REGISTRY_FILE, ZooModel, find_stem_for_checkpoint, get_model_info, list_configs

__all__ = [
    "REGISTRY_FILE",
    "ZooModel",
    "config_stem",
    "find_stem_for_checkpoint",
    "get_model_info",
    "list_configs",
    "parse_metafile",
    "parse_weights_name",
]
