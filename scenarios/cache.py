"""Generated datasets kept on disk, so a process does not spend a second regenerating one.

A dataset is stored as its canonical JSONL bytes (:meth:`Dataset.jsonl_bytes`, the bytes its
checksum pins) under a key made of its settings and a digest of the generator: the source of
``ptenv.scenarios`` and ``ptenv.tools_registry`` and their data files. Changing any of them
changes the key, so a stale file is never found; a file whose bytes do not match the sha256
recorded beside it is rebuilt, never used. Where entries live, how to turn caching off, and why
concurrent writers are safe: :mod:`ptenv.tools_registry.diskcache`.

**Lazy:** only the users are read at once; a task is read the first time a split asks for it,
so a process evaluating the test split reads 1,440 of the 10,800 tasks. Each task line's id,
user, scenario and kind are read without parsing it (:func:`task_index`), which is what splits,
filters and sessions need.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ptenv.tools_registry.diskcache import ENV, cache_dir, code_digest, read_entry, write_entry

__all__ = ["ENV", "cache_dir", "generator_digest", "cache_key", "paths", "read", "write", "task_index", "TaskMeta"]

#: A task line: its split, then the task, whose id, user, scenario and kind are read without
#: parsing it (the dataset writes a task's fields in its model's order, so these four come first).
_TASK_LINE = re.compile(
    r'^\{"type": "task", "split": "([a-z_]+)", "task": '
    r'(\{"id":"([^"\\\n]+)","user_id":"([^"\\\n]+)","scenario":"([a-z_]+)","kind":"([a-z_]+)"[^\n]*\})\}$',
    re.MULTILINE,
)


def generator_digest() -> str:
    """sha256 over the generator's source and data (the packages that make a dataset)."""
    return code_digest("ptenv.scenarios", "ptenv.tools_registry")


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
    return None if where is None else read_entry(*where, cache_key(config))


def write(config: Any, raw: bytes) -> None:
    """Keep a dataset's bytes (atomically; silently skipped where the cache cannot be written)."""
    where = paths(config)
    if where is not None:
        write_entry(*where, cache_key(config), raw, version=config.version)


#: What a task's line tells without parsing it: its user, scenario and kind.
TaskMeta = tuple[str, str, str]


def task_index(text: str) -> tuple[dict[str, list[str]], dict[str, tuple[int, int]], dict[str, TaskMeta]] | None:
    """From a dataset's JSONL text: each split's task ids in order, where each task's JSON is in
    ``text`` (start, end), and its meta; None if a task line is not as the dataset writes it."""
    splits: dict[str, list[str]] = {}
    spans: dict[str, tuple[int, int]] = {}
    meta: dict[str, TaskMeta] = {}
    for m in _TASK_LINE.finditer(text):  # one pass in C over the whole text: ~10,800 lines in ~20 ms
        split, task_id = m.group(1, 3)
        splits.setdefault(split, []).append(task_id)
        spans[task_id] = m.span(2)
        meta[task_id] = (m.group(4), m.group(5), m.group(6))
    if len(spans) != text.count('\n{"type": "task"'):  # a task line the pattern refused, or a repeated id
        return None
    return splits, spans, meta
