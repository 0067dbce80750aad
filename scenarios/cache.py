"""Generated datasets kept on disk, so a process does not spend a second regenerating one.

A dataset is stored as its canonical JSONL bytes (:meth:`Dataset.jsonl_bytes`, the bytes its
checksum pins) under a key made of its settings and a digest of the generator: the source of
``ptenv.scenarios`` and ``ptenv.tools_registry`` and their data files. Changing any of them
changes the key, so a stale file is never found. Beside each file a small JSON records its key
and the sha256 of its bytes; a file whose bytes do not match (torn, edited, corrupt) is rebuilt,
never used.

* **Where:** ``$PTENV_CACHE_DIR``, else ``$XDG_CACHE_HOME/ptenv``, else ``~/.cache/ptenv``.
  ``PTENV_CACHE_DIR=off`` (or ``0``, ``none``) turns the cache off.
* **No pickle:** the file is JSON text; a cache directory can be shared.
* **Safe when processes build at once:** each writes a file of its own and renames it into place
  (an atomic replace); both write the same bytes. A cache that cannot be written is skipped.
* **Lazy:** only the users are read at once; a task is read the first time a split asks for it,
  so a process evaluating the test split reads 1,440 of the 10,800 tasks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

ENV = "PTENV_CACHE_DIR"
_OFF = {"off", "0", "none", "false", "no"}
#: A task line's start: its split and its id, read without parsing the task.
_TASK_LINE = re.compile(rb'^\{"type": "task", "split": "([a-z_]+)", "task": \{"id":"([^"\\]+)"')


def cache_dir() -> Path | None:
    """Where datasets are kept, or None when the cache is off."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF or not env.strip() else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ptenv"


@cache
def generator_digest() -> str:
    """sha256 over the generator's source and data (the packages that make a dataset)."""
    h = hashlib.sha256()
    for package in ("ptenv.scenarios", "ptenv.tools_registry"):
        root = resources.files(package)
        files = [p for p in root.iterdir() if p.name.endswith(".py")]
        data = root.joinpath("data")
        if data.is_dir():
            files += [p for p in data.iterdir() if p.name.endswith(".json")]
        for p in sorted(files, key=lambda p: p.name):
            h.update(f"{package}/{p.name}\0".encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def cache_key(config: Any) -> str:
    """The key of a dataset: its settings and the generator that makes it."""
    settings = json.dumps(vars(config), sort_keys=True)
    return hashlib.sha256(f"{settings}\0{generator_digest()}".encode()).hexdigest()


def paths(config: Any) -> tuple[Path, Path] | None:
    root = cache_dir()
    if root is None:
        return None
    stem = f"{config.version}-{cache_key(config)[:20]}"
    return root / f"{stem}.jsonl", root / f"{stem}.json"


def read(config: Any) -> bytes | None:
    """The cached bytes of a dataset, verified; None if absent, stale or damaged."""
    where = paths(config)
    if where is None:
        return None
    data_path, meta_path = where
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        raw = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != cache_key(config) or meta.get("sha256") != hashlib.sha256(raw).hexdigest():
        return None
    return raw


def write(config: Any, raw: bytes) -> None:
    """Keep a dataset's bytes (atomically; silently skipped where the cache cannot be written)."""
    where = paths(config)
    if where is None:
        return
    data_path, meta_path = where
    meta = json.dumps({"key": cache_key(config), "sha256": hashlib.sha256(raw).hexdigest(), "version": config.version})
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


def task_index(lines: list[bytes]) -> tuple[dict[str, list[str]], dict[str, bytes]] | None:
    """From a dataset's JSONL lines: each split's task ids in order, and each task's JSON text;
    None if a task line is not as the dataset writes it."""
    splits: dict[str, list[str]] = {}
    tasks: dict[str, bytes] = {}
    for line in lines:
        if not line.startswith(b'{"type": "task"'):
            continue
        m = _TASK_LINE.match(line)
        if m is None or not line.endswith(b"}}"):
            return None
        split, task_id = m.group(1).decode(), m.group(2).decode()
        splits.setdefault(split, []).append(task_id)
        tasks[task_id] = line[line.index(b'"task": ') + 8 : -1]
    return splits, tasks
