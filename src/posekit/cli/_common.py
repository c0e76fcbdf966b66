"""Shared CLI plumbing: user errors become one line on stderr and exit status 2."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Sequence
from typing import Any, NoReturn, TypeVar

from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

T = TypeVar("T")

USER_ERRORS = (
    OSError,  # unreadable / undecodable files (FileNotFoundError included)
    ValueError,
    KeyError,
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationResolutionError,
)


def guarded(prog: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn``; a user-facing error prints ``prog: error: ...`` and exits 2 (``POSEKIT_DEBUG=1`` re-raises)."""
    from hydra.errors import InstantiationException

    from posekit.engine.runner import PosekitError
    from posekit.utils.errors import one_line

    try:
        return fn(*args, **kwargs)
    except (PosekitError, InstantiationException, *USER_ERRORS) as err:
        if os.environ.get("POSEKIT_DEBUG"):
            raise
        cause = err
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        msg = one_line(cause)  # a DataLoader worker's error: its original line, not the flattened traceback
        if isinstance(err, InstantiationException) and cause is not err:
            where = str(err).split("\n")[0]
            msg = f"{msg} ({where})"
        print(f"{prog}: error: {type(cause).__name__}: {msg}", file=sys.stderr)
        sys.exit(2)


# Hydra's own command-line flags (left alone by the key=value translation); those that take a value
HYDRA_FLAGS = {
    "-h", "--help", "--hydra-help", "--version", "-m", "--multirun", "--resolve", "-sc", "--shell-completion",
    "-c", "--cfg", "-p", "--package", "-i", "--info", "-cp", "--config-path", "-cn", "--config-name",
    "-cd", "--config-dir", "--experimental-rerun", "-r", "--run",
}  # fmt: skip
HYDRA_VALUE_FLAGS = {
    "-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir",
    "--experimental-rerun", "-sc", "--shell-completion",
}  # fmt: skip
# `--info` takes a value only when one of these follows
HYDRA_INFO_CHOICES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def split_hydra_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``argv`` -> (Hydra's flags with their values, everything else), both in their order."""
    flags: list[str] = []
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and name in HYDRA_FLAGS:
            flags.append(arg)
            takes = name in HYDRA_VALUE_FLAGS or (
                name in ("-i", "--info") and i + 1 < len(args) and args[i + 1] in HYDRA_INFO_CHOICES
            )
            if takes and "=" not in arg and i + 1 < len(args):
                flags.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return flags, rest


def quote_value(value: str) -> str:
    """A value for a Hydra override: as is when Hydra's grammar reads it plainly, else single-quoted."""
    import re

    if re.fullmatch(r"[\w./\-:~+@%]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_hydra_app(app: Callable[[], Any], prog: str, argv: Sequence[str] | None) -> Any:
    """Run a ``@hydra.main`` function with ``argv`` as its command line (``None``: the process's own)."""
    if argv is None:
        return app()
    saved = sys.argv
    sys.argv = [prog, *argv]
    try:
        return app()
    finally:
        sys.argv = saved


def _doc(name: str) -> str:
    """``${posekit_doc:infer}`` in a Hydra help template: the docstring of ``posekit.cli.<name>``."""
    import importlib

    return (importlib.import_module(f"posekit.cli.{name}").__doc__ or "").strip()


def register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("posekit_doc"):
        OmegaConf.register_new_resolver("posekit_doc", _doc)


def fail(prog: str, msg: str) -> NoReturn:
    """Print ``prog: error: msg`` to stderr and exit with status 2 (a usage error)."""
    print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_key_values(
    argv: Sequence[str],
    prog: str,
    doc: str | None,
    own_keys: Collection[str],
    allow_overrides: bool = False,
    strip_dashes: bool = False,
    options_hint: str | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Split ``key=value`` arguments into the command's own options and the rest.

    ``-h`` / ``--help`` prints ``doc`` and exits 0; an argument without ``=`` fails. Keys in ``own_keys`` (with
    leading dashes dropped when ``strip_dashes``) go to the returned dict; the others are returned as config
    overrides when ``allow_overrides``, else fail as unknown options (listing ``options_hint``, by default the
    own keys in their order).
    """
    own: dict[str, str] = {}
    overrides: list[str] = []
    for arg in argv:
        if arg in ("-h", "--help"):
            print(doc)
            sys.exit(0)
        if "=" not in arg:
            fail(prog, f"argument {arg!r} is not key=value (see {prog} --help)")
        key, value = arg.split("=", 1)
        if strip_dashes:
            key = key.lstrip("-")
        if key in own_keys:
            own[key] = value
        elif allow_overrides:
            overrides.append(arg)
        else:
            fail(prog, f"unknown option {key!r}; options: {options_hint or ', '.join(own_keys)}")
    return own, overrides

register_resolvers()  # the help templates of conf/{train,eval,infer}.yaml use ${posekit_doc:...}
