"""Weights by URL: download once through ``torch.hub``, verify, cache (bottom layer: imports nothing from posekit).

See :func:`download_weights`; the cache folder is :func:`weights_dir` (``$POSEKIT_HOME`` or
``<torch hub dir>/posekit``); ``POSEKIT_WEIGHTS_MIRROR`` replaces the scheme and host of every URL.
"""

from .download import (
    WeightsDownloadError,
    WeightsHashError,
    apply_mirror,
    download_weights,
    file_name_from_url,
    sha256_prefix_from_name,
    verify_file,
    weights_dir,
)

__all__ = [
    "WeightsDownloadError",
    "WeightsHashError",
    "apply_mirror",
    "download_weights",
    "file_name_from_url",
    "sha256_prefix_from_name",
    "verify_file",
    "weights_dir",
]
