"""One-line error messages, also for errors raised inside DataLoader worker processes."""

from __future__ import annotations

__all__ = ["one_line"]

_WORKER_MARK = "Original Traceback (most recent call last):"


def one_line(err: BaseException, limit: int = 600) -> str:
    """``err``'s message on one line. A DataLoader worker's error (torch re-raises it in the main process with
    "Caught X in DataLoader worker process N" and the worker's whole traceback in the message) becomes the original
    ``Type: message`` line."""
    text = str(err)
    if _WORKER_MARK in text:
        tail = [ln for ln in text.split(_WORKER_MARK, 1)[1].splitlines() if ln.strip()]
        # the last non-indented line is "<Type>: <message>" (a message may continue on following lines)
        starts = [i for i, ln in enumerate(tail) if not ln.startswith((" ", "\t"))]
        if starts:
            text = " ".join(tail[starts[-1] :])
            exc_type, sep, message = text.partition(": ")
            if sep and exc_type.replace(".", "").replace("_", "").isalnum():
                text = message
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
