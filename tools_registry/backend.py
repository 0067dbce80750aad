"""Stateful mock backends that execute every API of a scenario.

Two layers:

* :class:`~ptenv.tools_registry.world.World` (``world.py``) is the static, per-process listing of a scenario on each of its platforms
  (catalogues, menus, listings), derived from the scenario's base records and each platform's
  traits: a cheap platform lists lower prices, a fast one shorter times, a premium one better
  ratings. Built once, then only read.
* :class:`Backend` is one episode's mutable state on top of it (orders, carts, bookings,
  calendars). It is cheap to create (collections are copied lazily, per platform) and every WRITE
  changes it, so a placed order can then be tracked and cancelled.

Each API declares a generic operation (``search``, ``get``, ``create``, ``transition``, ``delete``,
``clear``) in its scenario file; docs/registry-format.md documents the fields. Errors are returned
as ``{"error": {...}}`` objects naming the field, never raised.
"""

from __future__ import annotations

from typing import Any

from .specs import ApiSpec, OpSpec
from .tools import CheckedArgs, ToolSpec
from .world import Record, World, local_to_platform_id, project, text_of


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        err["field"] = field
    return {"error": err}


class Backend:
    """One episode's executable state for one scenario (all three platforms), on top of its
    shared :class:`World` (``registry.world(scenario)``).

    ``seed`` offsets the ids of created records; ``now`` (ISO ``YYYY-MM-DDTHH:MM``) stamps them.
    """

    def __init__(self, world: World, seed: int = 0, now: str = "2026-03-02T10:00"):
        self.world = world
        self.spec = world.spec
        self.now = now
        self._state: dict[str, dict[str, dict[str, Record]]] = {}
        self._next_id = 1000 + (seed % 9000)
        self._apis = self.world.apis

    def state(self, platform: str) -> dict[str, dict[str, Record]]:
        """The mutable collections of a platform (copied from the world on first touch)."""
        st = self._state.get(platform)
        if st is None:
            # records are flat (updates replace fields, never mutate nested values): a copy per
            # record is enough, and far cheaper than deepcopy on every episode's first write
            st = {c: {rid: dict(rec) for rid, rec in recs.items()} for c, recs in self.world.initial[platform].items()}
            self._state[platform] = st
        return st

    def call(self, tool: ToolSpec, args: Any) -> tuple[bool, dict[str, Any]]:
        """Validate platform-named arguments and execute. Returns ``(ok, json_result)``."""
        ok, result, _ = self.call_checked(tool, args)
        return ok, result

    def call_checked(self, tool: ToolSpec, args: Any) -> tuple[bool, dict[str, Any], CheckedArgs | None]:
        """Like :meth:`call`, also returning the validated canonical arguments (None if invalid)."""
        checked = tool.validate_args(args)
        if isinstance(checked, list):
            return (
                False,
                {
                    "error": {
                        "code": "invalid_arguments",
                        "message": f"{tool.name}: {len(checked)} invalid argument(s)",
                        "fields": [e.model_dump() for e in checked],
                    }
                },
                None,
            )
        result = self.execute(tool.platform, tool.api_key, checked)
        if "error" in result:
            err = result["error"]
            if "field" in err:  # report the platform's own name for the argument
                names = {p.key: tool.arg_name(p) for p in tool.params}
                err["field"] = names.get(err["field"], err["field"])
            return False, result, checked
        return True, result, checked

    def execute(self, platform: str, api_key: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run an API with canonical, already validated arguments."""
        api = self._apis[api_key]
        op = api.op
        handler = _OPS[op.type]
        return handler(self, platform, api, op, args)

    # -- helpers shared by the operations -------------------------------------------------
    def _source(self, platform: str, op: OpSpec) -> tuple[str, str, dict[str, Record]]:
        extra = op.model_extra or {}
        if "entity" in extra:
            return "entity", extra["entity"], self.world.catalog[platform][extra["entity"]]
        name = extra["collection"]
        return "collection", name, self.state(platform)[name]

    def _lookup(self, platform: str, name: str, rid: Any) -> Record | None:
        cat = self.world.catalog[platform]
        if name in cat:
            return cat[name].get(rid)
        return self.state(platform)[name].get(rid)

    def _singular(self, name: str) -> str:
        col = self.spec.collections.get(name)
        return col.singular if col else name

    def new_id(self, platform: str, collection: str) -> str:
        self._next_id += 1
        p = self.spec.platform(platform)
        return f"{p.code}-{self.spec.collections[collection].id_prefix}{self._next_id}"


def _matches(value: Any, mode: str, want: Any) -> bool:
    if value is None:
        return False
    if mode == "eq":
        return str(value).lower() == str(want).lower()
    if mode == "le":
        return bool(value <= want)
    if mode == "ge":
        return bool(value >= want)
    if mode == "in":  # the record's list contains the wanted value
        return isinstance(value, list) and str(want).lower() in (str(v).lower() for v in value)
    raise ValueError(f"unknown match mode {mode!r}")


def _op_search(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    if api.key in be.world.static_searches:  # a pure function of its arguments: computed once
        return be.world.search(platform, api.key, args, lambda: _search(be, platform, op, args))
    return _search(be, platform, op, args)


def _search(be: Backend, platform: str, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    kind, name, records = be._source(platform, op)
    for param, target in spec.get("refs", {}).items():
        if param in args and be._lookup(platform, target, args[param]) is None:
            return _error("not_found", f"no {be._singular(target)} with id {args[param]!r}", param)
    # Text filters first (memoized on the static catalogue), then comparisons on what is left.
    found: list[Record] | tuple[Record, ...] = tuple(records.values())
    matches = [(k, m) for k, m in spec.get("match", {}).items() if k in args]
    for key, m in sorted(matches, key=lambda km: km[1].get("mode", "text") != "text"):
        want = args[key]
        if m.get("mode", "text") == "text":
            fields = tuple(m["fields"])
            tokens = tuple(str(want).lower().split())
            if kind == "entity":
                hits = be.world.text_matches(platform, name, fields, tokens)
                if len(found) == len(records):
                    found = hits
                else:  # by identity: catalogue records are shared objects
                    keep = {id(h) for h in hits}
                    found = [r for r in found if id(r) in keep]
            else:
                found = [r for r in found if all(t in text_of(r, fields) for t in tokens)]
        else:
            field, mode = m["field"], m["mode"]
            found = [r for r in found if _matches(r.get(field), mode, want)]
    sort = spec.get("sort")
    order = None
    if sort and sort["param"] in args:
        order = sort["keys"][args[sort["param"]]]
    elif spec.get("default_sort"):
        order = spec["default_sort"]
    if order:
        field = order.lstrip("-")
        found = sorted(found, key=lambda r: (r.get(field) is None, r.get(field)), reverse=order.startswith("-"))
    limit = args.get(spec.get("limit_param", ""), spec.get("limit", 10))
    proj = spec.get("fields")
    if kind == "entity" and proj:  # catalogue projections are computed once and shared (read-only)
        view = be.world.projection(platform, name, tuple(proj))
        return {"results": [view[id(r)] for r in found[:limit]], "count": len(found)}
    return {"results": [project(r, proj) for r in found[:limit]], "count": len(found)}


def _op_get(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    _, name, records = be._source(platform, op)
    id_param = spec["id_param"]
    rec = records.get(args[id_param])
    if rec is None:
        return _error("not_found", f"no {be._singular(name)} with id {args[id_param]!r}", id_param)
    return {be._singular(name): project(rec, spec.get("fields"))}


def _op_create(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    cname = spec["collection"]
    col = be.state(platform)[cname]
    refs: dict[str, Record] = {}
    for param, target in spec.get("refs", {}).items():
        if param not in args:
            continue
        ref = be._lookup(platform, target, args[param])
        if ref is None:
            return _error("not_found", f"no {be._singular(target)} with id {args[param]!r}", param)
        refs[param] = ref
    id_from = spec.get("id_from")
    rid = args[id_from] if id_from else be.new_id(platform, cname)
    if rid in col:
        return _error("already_exists", f"{be._singular(cname)} {rid!r} already exists", id_from)
    rec: Record = {"id": rid}
    if "status" in spec:
        rec["status"] = spec["status"]
    rec.update(args)
    for param, mapping in spec.get("copy", {}).items():
        if param in refs:
            for new_field, ref_field in mapping.items():
                rec[new_field] = refs[param].get(ref_field)
    total = spec.get("total")
    if total:
        a, b = rec.get(total[0]), rec.get(total[1], 1)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            rec["total"] = round(a * b, 2)
    rec["created_at"] = be.now
    col[rid] = rec
    return {be._singular(cname): dict(rec)}


def _op_transition(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    cname = spec["collection"]
    id_param = spec.get("id_param")
    # Account-like singletons have no id argument: ``fixed_id`` names their (local) record.
    rid = args[id_param] if id_param else local_to_platform_id(be.spec.platform(platform), spec["fixed_id"])
    rec = be.state(platform)[cname].get(rid)
    if rec is None:
        return _error("not_found", f"no {be._singular(cname)} with id {rid!r}", id_param)
    allowed = spec.get("from")
    if allowed and rec.get("status") not in allowed:
        return _error(
            "invalid_state",
            f"{be._singular(cname)} {rec['id']} is {rec.get('status')!r}; this needs one of {', '.join(allowed)}",
            id_param,
        )
    for param in spec.get("set", []):
        if param in args:
            rec[param] = args[param]
    if "to" in spec:
        rec["status"] = spec["to"]
    rec["updated_at"] = be.now
    return {be._singular(cname): dict(rec)}


def _op_delete(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    cname = spec["collection"]
    id_param = spec["id_param"]
    rec = be.state(platform)[cname].pop(args[id_param], None)
    if rec is None:
        return _error("not_found", f"no {be._singular(cname)} with id {args[id_param]!r}", id_param)
    return {"removed": rec["id"]}


def _op_clear(be: Backend, platform: str, api: ApiSpec, op: OpSpec, args: dict[str, Any]) -> dict[str, Any]:
    spec = op.model_extra or {}
    col = be.state(platform)[spec["collection"]]
    n = len(col)
    col.clear()
    return {"removed_count": n}


_OPS = {
    "search": _op_search,
    "get": _op_get,
    "create": _op_create,
    "transition": _op_transition,
    "delete": _op_delete,
    "clear": _op_clear,
}
