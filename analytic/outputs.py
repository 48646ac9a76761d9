"""Writing results to disk: output folders checked up front, files replaced atomically.

A file is written to a temporary name in its own folder and renamed over the target with :func:`os.replace`,
so a reader sees the old file or the new one, never half of one, and an interrupted write leaves no trace.

>>> import tempfile, pathlib
>>> folder = output_folder(pathlib.Path(tempfile.mkdtemp()) / "out")
>>> atomic_write_text(folder / "a.txt", "hello").read_text()
'hello'
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import OutputError


def output_folder(out: str | os.PathLike) -> Path:
    """``out`` as a folder that exists (created if missing); :class:`OutputError` if it is a file or unwritable.

    The writability probe runs now, so an unwritable folder is refused before minutes of work, not after.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output folder {out} is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write into output folder {out}: {exc.strerror or exc}") from None
    return out


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path``; return the path.

    On any error, or an interrupt, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write into {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
