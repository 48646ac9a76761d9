"""Writing results to disk: output folders checked up front, files replaced atomically, values made JSON-safe,
finished parts of a long run stored under a key so that a rerun reuses them.

A file is written to a temporary name in its own folder and renamed over the target with :func:`os.replace`,
so a reader sees the old file or the new one, never half of one, and an interrupted write leaves no trace. A part
(:func:`write_part`) is stored with the key of everything that decided its content; :func:`read_part` gives it
back only for an equal key, so a part made with other inputs or by other code (:func:`code_fingerprint`) is never
reused.

>>> import tempfile, pathlib
>>> folder = output_folder(pathlib.Path(tempfile.mkdtemp()) / "out")
>>> atomic_write_text(folder / "a.txt", "hello").read_text()
'hello'
"""
from __future__ import annotations

import contextlib
import functools
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import OutputError


#: Longest file or folder name (bytes) accepted in an output path: the limit of common filesystems.
NAME_MAX = 255


def canonical_path(name: str, value: object) -> Path:
    """``value`` (text or an ``os.PathLike``) as a :class:`~pathlib.Path`; :class:`OutputError` for anything else,
    an empty or blank path, a NUL byte or a component longer than :data:`NAME_MAX` bytes.

    >>> canonical_path("out", "figures")
    PosixPath('figures')
    """
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise OutputError(f"{name} must be a path (text), got {type(value).__name__}")
    try:
        text = os.fspath(value)
    except TypeError:
        raise OutputError(f"{name} must be a path (text), got {type(value).__name__}") from None
    if not isinstance(text, str) or not text.strip():
        raise OutputError(f"{name} must be a non-empty path, got {text!r}")
    if "\x00" in text:
        raise OutputError(f"{name} {text[:60]!r}… holds a NUL character")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise OutputError(f"cannot use {name} {_short(text)}: the name {_short(part, 40)} is longer than "
                              f"{NAME_MAX} bytes")
    return Path(text)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def output_folder(out: str | os.PathLike) -> Path:
    """``out`` as a folder that exists (created if missing); :class:`OutputError` if it is a file or unwritable.

    The writability probe runs now, so an unwritable folder is refused before minutes of work, not after.
    """
    out = canonical_path("output folder", out)
    shown = _short(str(out))
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(f"output folder {shown} is a file")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {shown}: {exc.strerror or exc}") from None
    try:  # one byte written and flushed: a full disk is found now, not at the last file
        with tempfile.TemporaryFile(dir=out) as probe:
            probe.write(b"\0")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise OutputError(f"cannot write into output folder {shown}: {exc.strerror or exc}") from None
    return out


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path``; return the path.

    On any error, or an interrupt, the temporary file is removed and ``path`` is left as it was.
    """
    path = canonical_path("output file", path)
    if path.is_dir():
        raise OutputError(f"cannot write {_short(str(path))}: it is a folder")
    try:  # a short temporary name: the target's own name may be near the length limit
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write into {_short(str(path.parent))}: {exc.strerror or exc}") from None
    _ACTIVE.add(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write {_short(str(path))}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise
    finally:
        _ACTIVE.discard(tmp)
    return path


#: Temporary files of the atomic writes in progress in this process.
_ACTIVE: set[str] = set()


def remove_temporaries() -> None:
    """Remove the temporary files of the atomic writes in progress: for a signal handler that ends the process
    at once (``os._exit``), where no ``finally`` clause runs."""
    for tmp in list(_ACTIVE):
        _remove(tmp)


def _remove(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def json_safe(value: object) -> object:
    """``value`` with every non-finite float spelled as strict JSON allows: NaN → ``None``, ±inf → ``"inf"`` /
    ``"-inf"``; NumPy integers and floats become Python ones, tuples lists, mapping keys text (recursively).

    >>> json_safe({"a": float("nan"), "b": (1, float("-inf")), 2: 0.5})
    {'a': None, 'b': [1, '-inf'], '2': 0.5}
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


# ---------------------------------------------------------------- finished parts, kept for a rerun

def file_digest(path: str | os.PathLike) -> str | None:
    """SHA-256 of the file's bytes (hex), or ``None`` when it cannot be read."""
    import hashlib

    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _canonical_json(value: object) -> str:
    import json

    return json.dumps(json_safe(value), sort_keys=True, ensure_ascii=True, allow_nan=False)


def write_part(path: str | os.PathLike, key: dict, payload: dict) -> Path:
    """Store one finished part: ``{"key": key, "payload": payload}`` as JSON, written atomically, so a part on
    disk is complete or absent. ``key`` holds everything that decides the part's content (:func:`read_part`
    returns the payload only for an equal key).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "part.json"
    >>> _ = write_part(p, {"name": "a", "n": (1, 2)}, {"text": "done"})
    >>> read_part(p, {"name": "a", "n": [1, 2]}), read_part(p, {"name": "a", "n": [1, 3]})
    ({'text': 'done'}, None)
    """
    import json

    text = json.dumps(json_safe({"key": key, "payload": payload}), sort_keys=True, indent=1, ensure_ascii=True,
                      allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_part(path: str | os.PathLike, key: dict) -> dict | None:
    """The payload stored by :func:`write_part` at ``path`` if its key equals ``key`` (compared as canonical
    JSON); ``None`` when the file is missing, unreadable, malformed or was made under another key."""
    import json

    try:
        stored = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not isinstance(stored.get("payload"), dict) or "key" not in stored:
        return None
    return stored["payload"] if _canonical_json(stored["key"]) == _canonical_json(key) else None


def source_digest(folder: str | os.PathLike) -> str:
    """SHA-256 over the relative path and the bytes of every ``*.py`` file below ``folder``, in sorted order."""
    import hashlib

    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> dict[str, str]:
    """What decides every computed output besides its own inputs: the package version, the SHA-256 of the
    package's source files (so any change of the code makes earlier parts stale), and the versions of Python
    and of the libraries that compute and draw (NumPy, SciPy, SymPy, mpmath, Matplotlib)."""
    import importlib.metadata
    import platform

    from .. import __version__

    versions = {"analytic": __version__, "python": platform.python_version(),
                "source": source_digest(Path(__file__).resolve().parents[1])}
    for lib in ("numpy", "scipy", "sympy", "mpmath", "matplotlib"):
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "absent"
    return versions
