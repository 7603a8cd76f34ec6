"""Run a benchmark probe in a fresh Python process, with its own environment and a time limit.

For what one process cannot measure twice: settings read once at start-up (OpenMP's wait policy),
and work whose cost must be bounded (a cold ``torch.compile``). This module imports nothing heavy, so
a child that only needs the standard library starts in well under a second.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable


def _child(send, fn: Callable[..., object], args: tuple) -> None:
    try:
        send.send((True, fn(*args)))
    except Exception:
        send.send((False, traceback.format_exc()))


def in_subprocess(
    fn: Callable[..., object], *args: object, env: dict[str, str] | None = None, timeout: float = 600.0
) -> object | None:
    """``fn(*args)`` in a fresh Python process with ``env`` added (for settings read once at start-up,
    such as OpenMP's), killed after ``timeout`` seconds: the result, or None when it ran out of time."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, fn, args), daemon=True)
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        process.start()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value
    send.close()
    try:
        if not receive.poll(timeout):
            return None
        ok, result = receive.recv()
    finally:
        process.kill()
        process.join()
    if not ok:
        raise RuntimeError(f"benchmark subprocess failed:\n{result}")
    return result
