"""Download a weights file once, check it against the sha256 prefix in its name, keep it in the cache folder.

Zoo file names carry the first hex digits of the file's sha256 (MMPose's ``publish_model`` and torchvision both do
it): ``rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192-63eb25f7_20230126.pth``, ``resnet50-0676ba61.pth``.
A file whose digest does not start with that prefix is deleted and reported; names without one are not checked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import urllib.error
from pathlib import Path
from urllib.parse import urlsplit

import torch

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

logger = logging.getLogger(__name__)

MIRROR_ENV = "POSEKIT_WEIGHTS_MIRROR"
HOME_ENV = "POSEKIT_HOME"
# `-<hex>` right before an optional `_<date>` and the extension: MMPose's and torchvision's naming
_HASH_RE = re.compile(r"-([0-9a-f]{8,64})(?:_\d{6,8})?\.(?:pth|pt|ckpt|bin)$")
# written next to a file whose digest was checked, so a cached file is hashed once
_VERIFIED_SUFFIX = ".sha256"


class WeightsDownloadError(FileNotFoundError):
    """The weights file is not in the cache and could not be downloaded (offline, unknown host, HTTP error); the
    message says where to put it by hand. A ``FileNotFoundError``, so the CLIs report it as a user error."""


class WeightsHashError(ValueError):
    """A downloaded or cached file's sha256 does not start with the prefix in its name (the file is deleted)."""


def weights_dir() -> Path:
    """The cache folder: ``$POSEKIT_HOME`` when set, else ``<torch.hub.get_dir()>/posekit``."""
    home = os.environ.get(HOME_ENV)
    return Path(home).expanduser() if home else Path(torch.hub.get_dir()) / "posekit"


def file_name_from_url(url: str) -> str:
    """The last path component of ``url`` (query and fragment dropped)."""
    name = os.path.basename(urlsplit(url).path)
    if not name:
        raise ValueError(f"{url}: the URL names no file (its path ends with '/')")
    return name


def sha256_prefix_from_name(name: str) -> str | None:
    """The hex digest prefix a zoo file name carries (``...-63eb25f7_20230126.pth`` -> ``'63eb25f7'``), or None."""
    m = _HASH_RE.search(os.path.basename(name))
    return m.group(1) if m else None


def apply_mirror(url: str, mirror: str | None = None) -> str:
    """``url`` with its scheme and host replaced by ``mirror`` (default ``$POSEKIT_WEIGHTS_MIRROR``), path kept:
    ``https://download.openmmlab.com/mmpose/v1/x.pth`` + ``http://10.0.0.5/zoo`` -> ``http://10.0.0.5/zoo/mmpose/v1/x.pth``.
    """
    mirror = os.environ.get(MIRROR_ENV) if mirror is None else mirror
    if not mirror:
        return url
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return mirror.rstrip("/") + rest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, prefix: str | None = None) -> None:
    """Check ``path``'s sha256 against ``prefix`` (default: the one in its name); on a mismatch the file is deleted
    and :class:`WeightsHashError` says so. A file that passed once is not hashed again (a ``.sha256`` note)."""
    path = Path(path)
    prefix = prefix or sha256_prefix_from_name(path.name)
    if not prefix:
        return
    note = path.with_name(path.name + _VERIFIED_SUFFIX)
    if note.is_file() and note.read_text().strip().startswith(prefix):
        return
    digest = _sha256(path)
    if not digest.startswith(prefix):
        path.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        raise WeightsHashError(
            f"{path.name}: sha256 {digest[: len(prefix)]}... does not match the {prefix} in its name (a truncated or "
            f"altered download); the file was deleted from {path.parent}, run again to download it anew"
        )
    note.write_text(digest + "\n")


def download_weights(
    url: str,
    file_name: str | None = None,
    folder: str | os.PathLike | None = None,
    check_hash: bool = True,
    progress: bool = True,
) -> Path:
    """The local copy of ``url``, downloaded into ``folder`` (default :func:`weights_dir`) on first use.

    The download goes through :func:`torch.hub.download_url_to_file` (a temporary file, moved into place when
    complete), from ``$POSEKIT_WEIGHTS_MIRROR`` instead of the URL's host when that is set. With ``check_hash``,
    the sha256 prefix in the file name (if any) is verified, for fresh downloads and for files already in the
    folder (once). A file already in the folder is never downloaded again.

    Raises:
        WeightsDownloadError: offline / HTTP error: one message naming the URL, the file and the folder to put it in.
        WeightsHashError: the digest does not match the name (the file is deleted).
    """
    name = file_name or file_name_from_url(url)
    folder = Path(folder).expanduser() if folder is not None else weights_dir()
    dest = folder / name
    if dest.is_file():
        if check_hash:
            verify_file(dest)
        return dest
    source = apply_mirror(url)
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s to %s", source, dest)
    try:
        torch.hub.download_url_to_file(source, str(dest), hash_prefix=None, progress=progress)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        hint = f" (through the mirror {os.environ.get(MIRROR_ENV)})" if source != url else ""
        raise WeightsDownloadError(
            f"could not download {source}{hint}: {' '.join(str(reason).split())}. Without internet, download "
            f"{name} on another machine and put it in {folder}/ (or set {MIRROR_ENV} to a server that has it)"
        ) from None
    if check_hash:
        verify_file(dest)
    return dest
