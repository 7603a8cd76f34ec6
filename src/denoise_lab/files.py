"""Writing a file so that no one ever sees half of it: under a temporary name in the target's own folder
(the same filesystem, so the final rename is atomic), renamed into place only when complete and flushed; a
failure (a full disk, an encoder error, Ctrl-C) removes the temporary file and leaves any earlier file of
that name as it was. Only a hard kill (``kill -9``, a power cut) can leave a temporary file behind; its name,
``.<name>.partial-<random><suffix>``, says what it is (:func:`leftover_partials` finds them), and nothing
deletes it but the user: it was made by an earlier call."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial-"
# OS errors only writing raises: a full disk or quota, a file over the filesystem's size limit, a read-only
# filesystem. Whatever was being written, every later write would fail the same way.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


@contextmanager
def written_in_place(target: Path) -> Iterator[Path]:
    """Yield the temporary path to write ``target``'s content to; rename it to ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}{PARTIAL}", suffix=target.suffix
    )
    os.close(handle)
    try:
        yield Path(partial)
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        umask = os.umask(0)  # mkstemp made the file private; the result gets the usual permissions
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def write_text_in_place(target: Path, text: str) -> None:
    """``target.write_text(text)``, all of it or nothing (:func:`written_in_place`)."""
    with written_in_place(target) as partial:
        partial.write_text(text)


def leftover_partials(folder: Path) -> list[Path]:
    """The temporary files that killed writes left under ``folder`` (see the module docstring)."""
    return sorted(p for p in folder.rglob(f".*{PARTIAL}*") if p.is_file())
