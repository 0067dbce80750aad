"""Versioned datasets: users, tasks and splits, generated from a seed.

``load_dataset("ptenv-v1")`` generates the benchmark in about a second and caches it per process.
Its bytes (``Dataset.jsonl_bytes()``) are pinned by a checksum test, so the benchmark cannot drift
silently: a change to the generator or the data files that alters them needs a new version id.

Splits follow PTBench's proportions: the tasks of a few held-out users form ``test_untrained``;
``test_trained`` samples tasks of the other users so that it is 474/609 the size of
``test_untrained``; everything else is ``train`` (about 87%).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ptenv.tools_registry import Backend, Registry

from . import cache as dataset_cache
from .cache import TaskMeta, task_index
from .evidence import EvidenceUser, make_evidence_user
from .profiles import UserProfile, make_facts, make_history, make_preference, render_profile
from .situations import MINOR_RATE, difficulty_shares, draw_policies, employer_rule
from .synthesis import synthesize_user_tasks
from .tasks import Task

SPLITS: tuple[str, ...] = ("train", "test_trained", "test_untrained")
#: A user line of the dataset's JSONL, and the user's JSON in it.
_USER_LINE = re.compile(r'^\{"type": "user", "user": (\{[^\n]*\})\}$', re.MULTILINE)
#: PTBench's test split sizes (trained users : untrained users).
_PTBENCH_TEST_RATIO = 474 / 609


@dataclass(frozen=True)
class DatasetConfig:
    version: str
    seed: int
    n_users: int
    n_untrained: int
    #: How users are made: ``v1`` (complete, consistent histories; template statements) or ``v2``
    #: (noisy, drifting evidence and free-text statements: :mod:`ptenv.scenarios.evidence`).
    recipe: str = "v1"

    @property
    def user_model(self) -> type[UserProfile]:
        return EvidenceUser if self.recipe == "v2" else UserProfile


DATASETS: dict[str, DatasetConfig] = {
    "ptenv-v1": DatasetConfig("ptenv-v1", seed=2505_04072, n_users=120, n_untrained=9),
    # A small dataset with the same recipe, for quick experiments and tests.
    "ptenv-v1-mini": DatasetConfig("ptenv-v1-mini", seed=7, n_users=12, n_untrained=2),
    # Harder and still decidable (docs/datasets.md); pinned like ptenv-v1 (tests/test_dataset_v2.py).
    "ptenv-v2": DatasetConfig("ptenv-v2", seed=2026_1202, n_users=120, n_untrained=9, recipe="v2"),
    "ptenv-v2-mini": DatasetConfig("ptenv-v2-mini", seed=11, n_users=12, n_untrained=2, recipe="v2"),
}
DEFAULT_DATASET = "ptenv-v1"


class Dataset:
    """Users, tasks and splits. Tasks come generated, or as JSON text read from the dataset cache
    (``raw``: the dataset's JSONL bytes), in which case each is parsed the first time it is asked
    for: a process that evaluates the test split parses 1,440 of 10,800 tasks."""

    def __init__(
        self,
        config: DatasetConfig,
        users: list[UserProfile],
        tasks: list[Task] | None,
        splits: dict[str, tuple[str, ...]],
        *,
        task_spans: dict[str, tuple[int, int]] | None = None,
        task_meta: dict[str, TaskMeta] | None = None,
        raw: bytes | None = None,
        text: str = "",
    ):
        self.config = config
        self.users = {u.user_id: u for u in users}
        self.splits = splits
        self._spans = task_spans or {}
        self._raw, self._text = raw, text
        self._by_id: dict[str, Task] = {t.id: t for t in tasks or ()}
        self._meta: dict[str, TaskMeta] = task_meta or {t.id: (t.user_id, t.scenario, t.kind) for t in tasks or ()}
        #: Every task id in the dataset's order (generation order, as its JSONL lists them).
        self._order = [t.id for t in tasks] if tasks is not None else list(self._spans)
        #: Where the dataset came from: ``"generated"`` or ``"cache"``.
        self.origin = "generated" if raw is None else "cache"

    @property
    def version(self) -> str:
        return self.config.version

    def task(self, task_id: str) -> Task:
        """A task by id (read from the cached JSON the first time)."""
        hit = self._by_id.get(task_id)
        if hit is None:
            start, end = self._spans[task_id]
            hit = self._by_id[task_id] = Task.model_validate_json(self._text[start:end])
        return hit

    @property
    def tasks(self) -> list[Task]:
        """Every task, in the dataset's order."""
        return [self.task(i) for i in self._order]

    @property
    def by_id(self) -> dict[str, Task]:
        return {i: self.task(i) for i in self._order}

    def meta(self, task_id: str) -> TaskMeta:
        """A task's user id, scenario and kind, without parsing the task."""
        return self._meta[task_id]

    def split_ids(self, name: str) -> list[str]:
        """The ids of a split's tasks, in order (``test``: both test splits; ``all``: every task)."""
        if name == "test":
            return self.split_ids("test_trained") + self.split_ids("test_untrained")
        if name == "all":
            return list(self._order)
        if name not in self.splits:
            raise KeyError(f"unknown split {name!r}; choose from {', '.join((*SPLITS, 'test', 'all'))}")
        return list(self.splits[name])

    def split(self, name: str) -> list[Task]:
        return [self.task(i) for i in self.split_ids(name)]

    @classmethod
    def from_jsonl(cls, config: DatasetConfig, raw: bytes) -> Dataset | None:
        """A dataset from its JSONL bytes (as :meth:`jsonl_bytes` writes them), users parsed at once
        and tasks when asked for; None if the bytes are not such a file."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not text.endswith("\n"):
            return None
        first_task = text.find('\n{"type": "task"')
        try:
            header = json.loads(text[: text.index("\n")])
            # users come before the tasks: only that part is searched
            model = config.user_model
            users = [model.model_validate_json(m.group(1)) for m in _USER_LINE.finditer(text, 0, max(first_task, 0) + 1)]
        except ValueError:
            return None
        index = task_index(text)
        if index is None or not isinstance(header, dict) or header.get("version") != config.version or len(users) != header.get("users"):
            return None
        splits, spans, meta = index
        if len(spans) != header.get("tasks"):
            return None
        split_ids = {s: tuple(splits.get(s, ())) for s in SPLITS}
        return cls(config, users, None, split_ids, task_spans=spans, task_meta=meta, raw=raw, text=text)

    def split_users(self, name: str) -> list[str]:
        return sorted({self._meta[i][0] for i in self.split_ids(name)})

    # -- serialization -------------------------------------------------------------------
    def jsonl_lines(self) -> list[str]:
        if self._raw is not None:
            return self._text.split("\n")[:-1]
        return self._make_lines()

    def _make_lines(self) -> list[str]:
        """One JSON object per line: a header, the users, the tasks (each tagged with its split)."""
        split_of = {tid: s for s, ids in self.splits.items() for tid in ids}
        header = {"type": "dataset", "version": self.version, "seed": self.config.seed, "users": len(self.users), "tasks": len(self.tasks)}
        lines = [json.dumps(header, sort_keys=True)]
        lines += ['{"type": "user", "user": ' + u.model_dump_json() + "}" for u in self.users.values()]
        lines += ['{"type": "task", "split": "' + split_of[t.id] + '", "task": ' + t.model_dump_json() + "}" for t in self.tasks]
        return lines

    def jsonl_bytes(self) -> bytes:
        if self._raw is not None:  # the cached bytes, verified against their sha256 when read
            return self._raw
        return ("\n".join(self._make_lines()) + "\n").encode("utf-8")

    def checksum(self) -> str:
        return hashlib.sha256(self.jsonl_bytes()).hexdigest()

    def write_jsonl(self, path: str | Path) -> None:
        Path(path).write_bytes(self.jsonl_bytes())

    def to_ptbench(self, split: str, registry: Registry | None = None) -> list[dict[str, Any]]:
        """Records in PTBench's data.json format (see docs/datasets.md)."""
        reg = registry or Registry.default()
        out = []
        for t in self.split(split):
            if t.gold.decline:  # PTBench's answers are calls: declining has no form there
                continue
            platforms, tools = reg.ptbench_prompt_parts(t.scenario)
            answer, query_params, profile_params = ptbench_answer(t, reg)
            out.append(
                {
                    "id": t.id,
                    "user_profile": render_profile(self.users[t.user_id], reg, scenarios=[t.scenario]),
                    "platforms": platforms,
                    "tools": tools,
                    "query": ptbench_query(t, self.users[t.user_id]),
                    "answer": answer,
                    "query_params": query_params,
                    "profile_params": profile_params,
                    # an extension PTBench ignores: the task's clock, for relative dates
                    "now": t.now,
                }
            )
        return out

    # -- statistics and validation ---------------------------------------------------------
    def gold_problems(self, registry: Registry | None = None) -> tuple[list[str], list[str]]:
        """(validation errors, execution errors) of every gold call, run on a fresh backend."""
        reg = registry or Registry.default()
        invalid, failed = [], []
        for t in self.tasks:
            backend = Backend(reg.world(t.scenario), seed=t.seed, now=t.now)
            for call in t.gold.calls:
                tool = reg.tools[call.tool]
                for k, arg in call.args.items():  # every accepted alternative must validate
                    for v in arg.accepted:
                        checked = tool.validate_args({**call.canonical_args(), k: v})
                        if isinstance(checked, list):
                            invalid.append(f"{t.id} {call.tool} {k}={v!r}: {checked[0].problem}")
                ok, result = backend.call(tool, call.canonical_args())
                if not ok:
                    failed.append(f"{t.id} {call.tool}: {result['error']['message']}")
        return invalid, failed

    def stats(self, validate: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "seed": self.config.seed,
            "users": len(self.users),
            "tasks": len(self.tasks),
            "splits": {s: {"users": len(self.split_users(s)), "tasks": len(self.splits[s])} for s in SPLITS},
            "kinds": dict(sorted(Counter(t.kind for t in self.tasks).items())),
            "scenarios": dict(sorted(Counter(t.scenario for t in self.tasks).items())),
            "calls_per_task": round(sum(len(t.gold.calls) for t in self.tasks) / max(1, len(self.tasks)), 3),
            "with_context": sum(t.context is not None for t in self.tasks),
            "checksum": self.checksum(),
        }
        if self.config.recipe == "v2":  # the share of tasks with each source of difficulty
            out["difficulty"] = difficulty_shares(self.users, self.tasks, Registry.default())
        if validate:
            invalid, failed = self.gold_problems()
            out["gold_validation_errors"] = len(invalid)
            out["gold_execution_errors"] = len(failed)
            out["gold_error_examples"] = (invalid + failed)[:5]
        return out


def ptbench_query(task: Task, user: UserProfile) -> str:
    """A task's request in PTBench's one-shot form: on ptenv-v2, the notices and the employer's
    rule that decide it go first (PTBench's records have no place for them, and without them such
    a task could not be decided); else the query as it is."""
    policy = employer_rule(user, task.scenario)
    said = [n.text for n in task.notices] + ([policy.text] if policy is not None else [])
    return " ".join([*said, task.query]) if said else task.query


def ptbench_answer(task: Task, registry: Registry) -> tuple[list[Any], list[str], list[str]]:
    """A task's gold in PTBench's vocabulary: ``[platform name, [{func: {param: [accepted]}}]]``,
    and the names of the parameters whose values come from the query and from the profile."""
    platform = registry.scenarios[task.scenario].platform(task.gold.platform).name
    # an argument a preference decides (ptenv-v2) is scored in its own column, never in PTBench's
    answer = [platform, [{c.api: {k: list(a.accepted) for k, a in c.args.items() if a.source != "preference"}} for c in task.gold.calls]]
    query_params = sorted({k for c in task.gold.calls for k, a in c.args.items() if a.source == "query"})
    profile_params = sorted({k for c in task.gold.calls for k, a in c.args.items() if a.source == "profile"})
    return answer, query_params, profile_params


def generate(config: DatasetConfig, registry: Registry | None = None, progress: bool = False) -> Dataset:
    """Make a dataset from its seed (offline, deterministic). ``progress`` shows a bar on a
    terminal's stderr (it takes a second or more)."""
    reg = registry or Registry.default()
    rng = random.Random(f"ptenv/{config.seed}/users")
    scenarios = list(reg.scenarios.values())
    # Balanced default traits: user i gets trait (perm[i] mod 3) in each scenario, so every
    # platform is the default of a third of the users and there is no prior to exploit.
    orders = {sc.id: rng.sample(range(config.n_users), config.n_users) for sc in scenarios}
    users: list[UserProfile] = []
    for i in range(config.n_users):
        uid = f"u{i:03d}"
        urng = random.Random(f"ptenv/{config.seed}/{uid}")
        facts = make_facts(urng, i)
        if config.recipe == "v2" and urng.random() < MINOR_RATE:  # a teenager (the guardian rule covers them)
            facts = {**facts, "age": urng.choice([16, 17]), "occupation": "student"}
        traits = {sc.id: list(sc.traits)[orders[sc.id][i] % 3] for sc in scenarios}
        if config.recipe == "v2":
            user = make_evidence_user(urng, reg, uid, facts, traits)
            users.append(user.model_copy(update={"policies": draw_policies(urng, reg)}))
            continue
        prefs = {sc.id: make_preference(urng, sc, traits[sc.id]) for sc in scenarios}
        users.append(UserProfile(user_id=uid, facts=facts, preferences=prefs, history=make_history(urng, reg, prefs)))
    tasks: list[Task] = []
    bar = None
    if progress:
        from tqdm import tqdm

        where = dataset_cache.cache_dir()
        note = f"; kept in {where}" if where is not None else ""
        # disable=None: shown on a terminal only (not in logs, pipes or tests)
        bar = tqdm(total=len(users), desc=f"building {config.version} (once{note})", unit="user", disable=None, leave=False)
    for u in users:
        tasks.extend(synthesize_user_tasks(reg, u, config.seed, varied=config.recipe == "v2"))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    untrained = set(rng.sample([u.user_id for u in users], config.n_untrained))
    test_untrained = tuple(t.id for t in tasks if t.user_id in untrained)
    trained_pool = [t.id for t in tasks if t.user_id not in untrained]
    n_test_trained = round(len(test_untrained) * _PTBENCH_TEST_RATIO)
    chosen = set(rng.sample(trained_pool, n_test_trained))
    splits = {
        "train": tuple(i for i in trained_pool if i not in chosen),
        "test_trained": tuple(i for i in trained_pool if i in chosen),
        "test_untrained": test_untrained,
    }
    return Dataset(config, users, tasks, splits)


@cache
def load_dataset(name: str = DEFAULT_DATASET) -> Dataset:
    """A built-in dataset by version id: read from the on-disk cache (:mod:`ptenv.scenarios.cache`)
    when it holds this version made by this generator, else generated (and kept there); then kept
    in this process."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; built-in: {', '.join(DATASETS)}")
    return read_or_generate(DATASETS[name])


def read_or_generate(config: DatasetConfig) -> Dataset:
    """A dataset from the on-disk cache if it holds it (verified), else generated and kept there."""
    raw = dataset_cache.read(config)
    ds = Dataset.from_jsonl(config, raw) if raw is not None else None
    if ds is None:
        ds = generate(config, progress=True)
        dataset_cache.write(config, ds.jsonl_bytes())
    return ds
