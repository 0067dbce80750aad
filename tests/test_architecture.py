"""The house's rules, checked on the source: no import cycle, imports flow one way
(tools_registry -> scenarios -> core <- agents, and inside ptenv: scoring -> core -> llm -> envs ->
ptbench / rl / evaluation -> cli), and no product module imports the test infrastructure.

Every import counts, the ones inside functions too: a lazy import is still a dependency. Import
strings resolved at run time (the agent table, the env registry's entry points) are not imports;
they are how the core names what sits above it without depending on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Installed name -> folder (pyproject's package-dir).
PACKAGES = {"ptenv": "ptenv", "ptenv.tools_registry": "tools_registry", "ptenv.scenarios": "scenarios", "ptenv.agents": "agents"}

#: Each room's floor; an import may only go to a lower floor, or stay in its own room.
FLOORS: dict[str, int] = {
    "ptenv.tools_registry": 0,
    "ptenv.scenarios": 1,
    "ptenv.scoring": 2,
    "ptenv.core": 3,
    "ptenv.llm": 4,
    "ptenv.envs": 5,
    "ptenv.ptbench": 6,
    "ptenv.rl": 6,
    "ptenv.evaluation": 6,
    "ptenv.agents": 7,
    "ptenv.cli": 8,
    "ptenv.__main__": 9,
    "ptenv": 8,  # the package's face: registers the ids, re-exports a few names
    "ptenv.testing": 10,
}
#: Rooms on one floor that may import each other (still without a cycle between rooms).
PEERS: dict[str, set[str]] = {"ptenv.evaluation": {"ptenv.rl", "ptenv.ptbench"}, "ptenv.rl": {"ptenv.ptbench"}}
#: What agents may not reach into: environments, the evaluation machinery, the CLI, test hooks.
AGENTS_NEVER = ("ptenv.envs", "ptenv.evaluation", "ptenv.cli", "ptenv.testing")


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg, folder in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if name.startswith("ptenv.") and any(name == p or name.startswith(p + ".") for p in PACKAGES if p != pkg and p != "ptenv"):
                continue
            mods[name] = path
    return mods


MODULES = _modules()


def room(module: str) -> str:
    """The room a module belongs to: the longest entry of FLOORS that prefixes it."""
    best = max((r for r in FLOORS if module == r or module.startswith(r + ".")), key=len)
    return best


def _imports(name: str, path: Path) -> set[str]:
    """Every ptenv module ``name`` imports, at any depth of the file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # "from pkg import submodule" depends on the submodule itself
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]
        for t in targets:
            while t and t not in MODULES and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in MODULES and t != name:
                out.add(t)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_rooms_are_known() -> None:
    """Every module lives in a room with a floor (a new subpackage needs a line in FLOORS)."""
    assert len(MODULES) > 60
    for name in MODULES:
        assert room(name), name


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle (strongly connected component of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def against_direction(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes up a floor, or across to a room of its floor that is not a peer."""
    wrong = []
    for a, targets in sorted(graph.items()):
        ra = room(a)
        for b in sorted(targets):
            rb = room(b)
            if ra == rb or rb == "ptenv":
                continue
            if FLOORS[rb] < FLOORS[ra] or rb in PEERS.get(ra, set()):
                continue
            wrong.append(f"{a} (floor {FLOORS[ra]}) imports {b} (floor {FLOORS[rb]})")
    return wrong


def test_no_import_cycle() -> None:
    assert not cycles_in(GRAPH), f"import cycles: {cycles_in(GRAPH)}"


def test_imports_flow_one_way() -> None:
    wrong = against_direction(GRAPH)
    assert not wrong, "imports against the direction:\n" + "\n".join(wrong)


def test_the_rules_catch_what_they_forbid() -> None:
    """The checks are not vacuous: the old loop env -> ptbench -> ptbench_env -> env, and an
    import up from the core to the envs, are both caught."""
    loop = {
        "ptenv.envs.base": {"ptenv.ptbench.files"},
        "ptenv.ptbench.files": {"ptenv.envs.ptbench_env"},
        "ptenv.envs.ptbench_env": {"ptenv.envs.base"},
    }
    assert cycles_in(loop) == [sorted(loop)]
    assert against_direction({"ptenv.core.sources": {"ptenv.envs.base"}, "ptenv.envs.base": set()}) == [
        "ptenv.core.sources (floor 3) imports ptenv.envs.base (floor 5)"
    ]


def test_rooms_on_one_floor_do_not_import_each_other_in_a_loop() -> None:
    edges = {(room(a), room(b)) for a, ts in GRAPH.items() for b in ts if room(a) != room(b)}
    loops = [(x, y) for x, y in edges if (y, x) in edges]
    assert not loops, loops


@pytest.mark.parametrize("prefix", ["ptenv.testing"])
def test_product_code_never_imports_test_infrastructure(prefix: str) -> None:
    offenders = [f"{a} -> {b}" for a, ts in GRAPH.items() for b in ts if b.startswith(prefix) and not a.startswith(prefix)]
    assert not offenders, offenders


def test_agents_use_public_types_only() -> None:
    offenders = [f"{a} -> {b}" for a, ts in GRAPH.items() if a.startswith("ptenv.agents") for b in ts if b.startswith(AGENTS_NEVER)]
    assert not offenders, offenders


def test_the_registry_and_scenarios_import_nothing_above_them() -> None:
    for name, targets in GRAPH.items():
        if name.startswith("ptenv.tools_registry"):
            assert all(t.startswith("ptenv.tools_registry") for t in targets), (name, targets)
        if name.startswith("ptenv.scenarios"):
            assert all(t.startswith(("ptenv.scenarios", "ptenv.tools_registry")) for t in targets), (name, targets)


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Imports inside functions, relative imports and ``from package import module`` are all read
    (the rules would be toothless otherwise)."""
    src = tmp_path / "probe.py"
    src.write_text(
        "import ptenv.scoring\n"
        "def f():\n    from ptenv.core.actions import parse_action\n"
        "class C:\n    def g(self):\n        from ..envs import base\n"
        "from ptenv import ptbench\n"
    )
    assert _imports("ptenv.core.probe", src) == {"ptenv.scoring", "ptenv.core.actions", "ptenv.envs.base", "ptenv.ptbench"}
    # and the real house has lazy imports the rules see: the CLI imports its commands' modules inside them
    assert "ptenv.evaluation.runner" in GRAPH["ptenv.cli.evaluate"] or "ptenv.evaluation" in GRAPH["ptenv.cli.evaluate"]


def test_modules_stay_readable_in_one_sitting() -> None:
    """No module over ~400 lines; ptenv/ itself keeps about ten entries."""
    long = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in MODULES.items()}
    assert not {n: k for n, k in long.items() if k > 410}, {n: k for n, k in long.items() if k > 410}
    entries = [p.name for p in (ROOT / "ptenv").iterdir() if p.name != "__pycache__" and not p.name.endswith(".egg-info")]
    assert len(entries) <= 11, sorted(entries)
