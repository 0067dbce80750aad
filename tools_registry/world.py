"""The static side of a scenario: each platform's catalogue (:class:`World`), shared read-only by
every episode, and records that carry their own JSON text (so observations splice it in)."""

from __future__ import annotations

import json
import zlib
from typing import Any

from .specs import ApiSpec, PlatformSpec, ScenarioSpec
from .tools import CheckedArgs

Record = dict[str, Any]

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class Encoded(dict[str, Any]):
    """A shared, read-only output that carries its own compact JSON text (``json``): observation
    encoding splices ``json`` in (the same bytes as encoding the dict) instead of encoding it again."""

    __slots__ = ("json",)

    def __init__(self, data: dict[str, Any]):
        super().__init__(data)
        self.json: str = _JSON.encode(data)


class EncodedRecord(Encoded):
    """A catalogue record, shared by every search that returns it (search results hand these out
    instead of fresh dicts: every search would otherwise encode the same records again)."""

    __slots__ = ()


class EncodedResult(Encoded):
    """A catalogue search's output (``{"results": [...], "count": n}``), shared by every search with
    the same arguments, carrying its compact JSON (``json``). Read-only."""

    __slots__ = ()

    def __init__(self, results: list[EncodedRecord], count: int):
        dict.__init__(self, results=results, count=count)
        self.json = '{"results":[' + ",".join([r.json for r in results]) + '],"count":' + str(count) + "}"


def _jitter(*parts: str) -> float:
    """A stable pseudo-random factor in [0.95, 1.05] (crc32, unlike hash(), is stable across runs)."""
    h = zlib.crc32("/".join(parts).encode())
    return 0.95 + (h % 1001) / 10000.0


def local_to_platform_id(platform: PlatformSpec, local_id: str) -> str:
    return f"{platform.code}-{local_id.upper()}"


class World:
    """The static listings of one scenario on each of its platforms (shared, read-only).

    A :class:`~ptenv.tools_registry.Registry` builds each of its scenarios' worlds once
    (``registry.world(scenario)``); a spec outside a registry gets one with ``World(spec)``."""

    def __init__(self, spec: ScenarioSpec):
        self.spec = spec
        #: platform -> entity -> id -> record
        self.catalog: dict[str, dict[str, dict[str, Record]]] = {}
        #: platform -> collection -> initial records (copied into each episode)
        self.initial: dict[str, dict[str, dict[str, Record]]] = {}
        self._haystacks: dict[tuple[str, str, tuple[str, ...]], dict[int, str]] = {}
        self._projections: dict[tuple[str, str, tuple[str, ...]], dict[int, EncodedRecord]] = {}
        self._text_hits: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[Record, ...]] = {}
        #: (platform, api, arguments) -> the output of a search over the static catalogue
        self._searches: dict[tuple[str, str, tuple[tuple[str, type, Any], ...]], EncodedResult] = {}
        self.apis: dict[str, ApiSpec] = {a.key: a for a in spec.apis}
        #: Searches whose output depends on their arguments alone: over a catalogue entity, with
        #: every referenced id in a catalogue too (not in an episode's mutable collections).
        self.static_searches = frozenset(
            a.key
            for a in spec.apis
            if a.op.type == "search"
            and "entity" in (a.op.model_extra or {})
            and all(t in spec.entities for t in (a.op.model_extra or {}).get("refs", {}).values())
            and (a.op.model_extra or {}).get("fields")
        )
        local_ids = {r["id"] for e in spec.entities.values() for r in e.records}
        local_ids |= {r["id"] for c in spec.collections.values() for r in c.initial}
        for p in spec.platforms:
            ents: dict[str, dict[str, Record]] = {}
            for ename, ent in spec.entities.items():
                recs: dict[str, Record] = {}
                for base in ent.records:
                    rec = self._localize(base, p, local_ids)
                    for f in ent.price_fields:
                        rec[f] = round(base[f] * p.price_factor * _jitter(p.id, base["id"], f), 2)
                    for f in ent.time_fields:
                        rec[f] = max(1, int(round(base[f] * p.time_factor * _jitter(p.id, base["id"], f))))
                    for f in ent.rating_fields:
                        rec[f] = round(min(5.0, max(1.0, base[f] + p.rating_offset + (_jitter(p.id, base["id"], f) - 1.0) * 4)), 1)
                    recs[rec["id"]] = rec
                ents[ename] = recs
            self.catalog[p.id] = ents
            self.initial[p.id] = {
                cname: {r["id"]: r for r in (self._localize(b, p, local_ids) for b in col.initial)}
                for cname, col in spec.collections.items()
            }

    @staticmethod
    def _localize(base: Record, p: PlatformSpec, local_ids: set[str]) -> Record:
        """Give a base record this platform's ids (its own and those it references)."""
        rec = dict(base)
        for k, v in base.items():
            if (k == "id" or k.endswith("_id")) and isinstance(v, str) and v in local_ids:
                rec[k] = local_to_platform_id(p, v)
        return rec

    def __reduce__(self) -> tuple[type[World], tuple[ScenarioSpec]]:
        # derived data: a pickle carries the spec and the world is rebuilt from it (about 1 ms)
        return (World, (self.spec,))

    def text_matches(self, platform: str, name: str, fields: tuple[str, ...], tokens: tuple[str, ...]) -> tuple[Record, ...]:
        """Catalogue records whose ``fields`` contain every token (memoized: search is the hot path)."""
        key = (platform, name, fields, tokens)
        hit = self._text_hits.get(key)
        if hit is None:
            hay = self._haystack(platform, name, fields)
            hit = tuple(r for r in self.catalog[platform][name].values() if all(t in hay[id(r)] for t in tokens))
            if len(self._text_hits) > 50_000:  # agents may search for anything: keep the memo bounded
                self._text_hits.clear()
            self._text_hits[key] = hit
        return hit

    def search(self, platform: str, api: str, args: dict[str, Any], run: Any) -> dict[str, Any]:
        """A static search's output, memoized by its arguments (``run()`` computes it on a miss).
        Arguments that are not plain scalars, and errors, are not memoized."""
        key = args.key if type(args) is CheckedArgs else CheckedArgs(args, ()).key
        if key is None:
            out: dict[str, Any] = run()
            return out
        memo_key = (platform, api, key)
        hit = self._searches.get(memo_key)
        if hit is not None:
            return hit
        out = run()
        if "error" in out:
            return out
        if len(self._searches) > 50_000:  # agents may search for anything: keep the memo bounded
            self._searches.clear()
        result = self._searches[memo_key] = EncodedResult(out["results"], out["count"])
        return result

    def projection(self, platform: str, name: str, fields: tuple[str, ...]) -> dict[int, EncodedRecord]:
        """Each catalogue record reduced to ``fields`` (by the id of the full record, which this
        world holds), built and encoded once. Treat them as read-only."""
        key = (platform, name, fields)
        view = self._projections.get(key)
        if view is None:
            view = {id(r): EncodedRecord(project(r, list(fields))) for r in self.catalog[platform][name].values()}
            self._projections[key] = view
        return view

    def _haystack(self, platform: str, name: str, fields: tuple[str, ...]) -> dict[int, str]:
        key = (platform, name, fields)
        hay = self._haystacks.get(key)
        if hay is None:
            hay = {id(r): text_of(r, fields) for r in self.catalog[platform][name].values()}
            self._haystacks[key] = hay
        return hay


def text_of(rec: Record, fields: tuple[str, ...]) -> str:
    parts: list[str] = []
    for f in fields:
        v = rec.get(f)
        if isinstance(v, list):
            parts.extend(str(x) for x in v)
        elif v is not None:
            parts.append(str(v))
    return " ".join(parts).lower()


def project(rec: Record, fields: list[str] | None) -> Record:
    return {f: rec[f] for f in fields if f in rec} if fields else dict(rec)
