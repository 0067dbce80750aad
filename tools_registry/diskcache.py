"""Files kept on disk between processes: what is slow to build and never changes for given code.

Used for the registry's tool schemas (here) and the generated datasets (``ptenv.scenarios.cache``).
An entry is a data file and, beside it, a small JSON holding the entry's key and the sha256 of the
data's bytes. The key names everything the bytes depend on (settings, a digest of the code and
data files that make them, the pydantic version), so a stale entry is never found; an entry whose
bytes do not match its sha256 (torn, edited, corrupt) is ignored and rebuilt, never used.

* **Where:** ``$PTENV_CACHE_DIR``, else ``$XDG_CACHE_HOME/ptenv``, else ``~/.cache/ptenv``.
  ``PTENV_CACHE_DIR=off`` (or ``0``, ``none``, ``false``, ``no``) turns caching off.
* **No pickle:** entries are JSON text, so a cache directory can be shared.
* **Safe when processes write at once:** each writes a file of its own and renames it into place
  (an atomic replace); both write the same bytes. A directory that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path

ENV = "PTENV_CACHE_DIR"
_OFF = {"off", "0", "none", "false", "no"}


def cache_dir() -> Path | None:
    """Where entries are kept, or None when caching is off."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF or not env.strip() else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ptenv"


@cache
def code_digest(*packages: str) -> str:
    """sha256 over the source and data files of ``packages`` (``*.py`` and ``data/*.json``), and the
    pydantic version (schemas and JSON dumps depend on it)."""
    import pydantic

    h = hashlib.sha256(f"pydantic {pydantic.VERSION}\0".encode())
    for package in packages:
        root = resources.files(package)
        files = [p for p in root.iterdir() if p.name.endswith(".py")]
        data = root.joinpath("data")
        if data.is_dir():
            files += [p for p in data.iterdir() if p.name.endswith(".json")]
        for p in sorted(files, key=lambda p: p.name):
            h.update(f"{package}/{p.name}\0".encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def entry_paths(stem: str) -> tuple[Path, Path] | None:
    """The data file and the meta file of an entry (None when caching is off)."""
    root = cache_dir()
    if root is None:
        return None
    return root / f"{stem}.data", root / f"{stem}.json"


def read_entry(data_path: Path, meta_path: Path, key: str) -> bytes | None:
    """An entry's bytes, verified against its key and sha256; None if absent, stale or damaged."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        raw = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key or meta.get("sha256") != hashlib.sha256(raw).hexdigest():
        return None
    return raw


def write_entry(data_path: Path, meta_path: Path, key: str, raw: bytes, **about: str) -> None:
    """Keep an entry (atomically; silently skipped where the directory cannot be written)."""
    meta = json.dumps({"key": key, "sha256": hashlib.sha256(raw).hexdigest(), **about})
    try:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((data_path, raw), (meta_path, meta.encode())):  # data first: meta vouches for it
            fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                os.chmod(tmp, 0o644)  # readable by the others sharing the directory (mkstemp makes it 0600)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError:
        return
