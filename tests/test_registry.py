"""The tool registry: counts, names, schemas valid for both providers, every API executed."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from ptenv.tools_registry import SCENARIOS, Backend, Registry, ScenarioSpec, ToolKind, World, load_scenario
from ptenv.tools_registry.checks import _ORDER, _sample_args, check_scenario

REG = Registry.default()


def _primed(scenario: str) -> Backend:
    """A backend where every create API has run once on every platform (so records exist to act on)."""
    sc = REG.scenarios[scenario]
    be = Backend(REG.world(sc.id), seed=3)
    for api in sc.apis:
        if api.op.type == "create":
            for p in sc.platforms:
                tool = REG.tool_for(scenario, p.id, api.key)
                args = _sample_args(sc, be, p.id, api) or {}
                ok, res = be.call(tool, {tool.arg_name(q): args[q.key] for q in api.params if q.key in args})
                assert ok, res
    return be


def test_counts_match_ptbench_scale() -> None:
    assert list(REG.scenarios) == list(SCENARIOS) == ["shopping", "takeout", "entertainment", "work", "travel"]
    assert all(len(sc.platforms) == 3 and len(sc.apis) == 24 for sc in REG.scenarios.values())
    assert len(REG.tools) == 5 * 3 * 24 == 360
    assert len(set(REG.platform_ids())) == 15


def test_tool_names_are_provider_safe_and_unique() -> None:
    pattern = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
    names = list(REG.tools)
    assert len(names) == len(set(names))
    assert all(pattern.match(n) for n in names)


def test_both_kinds_present_in_every_scenario() -> None:
    for sc in REG.scenarios.values():
        kinds = {a.kind for a in sc.apis}
        assert kinds == {ToolKind.READ, ToolKind.WRITE}, sc.id
        assert sum(a.kind == ToolKind.WRITE for a in sc.apis) >= 9, sc.id


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_file_passes_all_checks(scenario: str) -> None:
    assert check_scenario(load_scenario(scenario)) == []


def test_no_invalid_schemas() -> None:
    assert REG.invalid_schemas() == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_schemas_are_valid_json_schema_for_openai_and_anthropic(scenario: str) -> None:
    be = Backend(REG.world(scenario))
    # creates first, as the scenario checker does, so that records to act on exist
    for tool in sorted(REG.tools_for(scenario), key=lambda t: _ORDER[REG.scenarios[scenario].api(t.api_key).op.type]):
        oa = tool.openai_tool()
        an = tool.anthropic_tool()
        assert oa["type"] == "function" and oa["function"]["name"] == tool.name
        assert set(an) == {"name", "description", "input_schema"}
        schema = an["input_schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert "$ref" not in json.dumps(schema) and "title" not in schema
        # the schema and the pydantic model agree on a valid call and on an extra argument
        api = REG.scenarios[scenario].api(tool.api_key)
        args = _sample_args(REG.scenarios[scenario], be, tool.platform, api)
        assert args is not None
        named = {tool.arg_name(p): args[p.key] for p in api.params if p.key in args}
        jsonschema.validate(named, schema)
        assert not isinstance(tool.validate_args(named), list)
        ok, res = be.call(tool, named)
        assert ok, (tool.name, res)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**named, "bogus": 1}, schema)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_api_rejects_bad_arguments_with_a_named_field(scenario: str) -> None:
    sc = REG.scenarios[scenario]
    be = _primed(scenario)
    for tool in REG.tools_for(scenario):
        api = sc.api(tool.api_key)
        # unknown argument
        ok, res = be.call(tool, {"definitely_not_an_argument": "x"})
        assert not ok and res["error"]["code"] == "invalid_arguments"
        assert any(f["field"] == "definitely_not_an_argument" for f in res["error"]["fields"])
        # not an object
        ok, res = be.call(tool, ["a", "list"])
        assert not ok and res["error"]["fields"][0]["expected"]
        for p in api.params:
            name = tool.arg_name(p)
            if p.required:  # each required argument missing on its own
                args = _sample_args(sc, be, tool.platform, api)
                assert args is not None, tool.name
                named = {tool.arg_name(q): args[q.key] for q in api.params if q.key in args and q.key != p.key}
                ok, res = be.call(tool, named)
                assert not ok, (tool.name, name)
                assert [(f["field"], f["problem"]) for f in res["error"]["fields"]] == [(name, "missing required argument")]
            if p.type in ("integer", "number", "boolean"):  # wrong type
                ok, res = be.call(tool, {name: "not a number"})
                assert not ok and any(f["field"] == name and f["expected"] for f in res["error"]["fields"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_id_arguments_that_do_not_exist_are_not_found(scenario: str) -> None:
    sc = REG.scenarios[scenario]
    be = _primed(scenario)
    seen = 0
    for tool in REG.tools_for(scenario):
        api = sc.api(tool.api_key)
        extra = api.op.model_extra or {}
        id_param = extra.get("id_param") or next(iter(extra.get("refs", {})), None)
        if id_param is None or api.op.type == "create" and extra.get("id_from") == id_param and id_param not in extra.get("refs", {}):
            continue
        args = _sample_args(sc, be, tool.platform, api)
        assert args is not None, tool.name
        named = {tool.arg_name(p): args[p.key] for p in api.params if p.key in args}
        prm = next(p for p in api.params if p.key == id_param)
        named[tool.arg_name(prm)] = "NO-SUCH-ID"
        ok, res = be.call(tool, named)
        assert not ok and res["error"]["code"] == "not_found", (tool.name, res)
        assert res["error"]["field"] == tool.arg_name(prm)
        seen += 1
    assert seen >= 10


def test_write_calls_change_state_order_track_cancel() -> None:
    sc = REG.scenarios["takeout"]
    be = Backend(REG.world(sc.id), seed=11, now="2026-03-05T12:00")
    search = REG.tools["quickbite__search_dishes"]
    ok, res = be.call(search, {"keyword": "curry", "sort_by": "price"})
    assert ok and res["count"] >= 2
    prices = [r["price"] for r in res["results"]]
    assert prices == sorted(prices)
    dish = res["results"][0]["id"]
    order_args = {"dish_id": dish, "quantity": 2, "delivery_address": "1 A St", "contact_phone": "555", "payment_method": "cash"}
    ok, placed = be.call(REG.tools["quickbite__place_order"], order_args)
    assert ok and placed["order"]["status"] == "placed" and placed["order"]["total"] == round(2 * prices[0], 2)
    oid = placed["order"]["id"]
    ok, tracked = be.call(REG.tools["quickbite__track_order"], {"order_id": oid})
    assert ok and tracked["order"]["status"] == "placed"
    ok, cancelled = be.call(REG.tools["quickbite__cancel_order"], {"order_id": oid, "reason": "changed_mind"})
    assert ok and cancelled["order"]["status"] == "cancelled"
    ok, again = be.call(REG.tools["quickbite__cancel_order"], {"order_id": oid})
    assert not ok and again["error"]["code"] == "invalid_state"
    # another platform's state is separate, and a fresh episode starts clean
    ok, other = be.call(REG.tools["pennyplate__order_status"], {"order_no": oid})
    assert not ok and other["error"]["code"] == "not_found"
    ok, fresh = Backend(REG.world(sc.id), seed=11).call(REG.tools["quickbite__track_order"], {"order_id": oid})
    assert not ok


def test_platform_listings_follow_traits() -> None:
    """The cheapest platform lists the lowest prices, the fastest the shortest times, the premium
    one the best ratings: the trait numbers are true of the catalogue agents will see."""
    for sc in REG.scenarios.values():
        assert set(sc.traits) == {"affordability", "speed", "quality"}, sc.id
        world = REG.world(sc.id)
        best = {t: max(sc.platforms, key=lambda p, t=t: p.traits[t]).id for t in sc.traits}

        def mean(platform: str, kind: str, sc: ScenarioSpec = sc, world: World = world) -> float:
            vals = [
                rec[f]
                for name, ent in sc.entities.items()
                for f in getattr(ent, f"{kind}_fields")
                for rec in world.catalog[platform][name].values()
            ]
            return sum(vals) / len(vals)

        for trait, kind, pick in (("affordability", "price", min), ("speed", "time", min), ("quality", "rating", max)):
            means = {p.id: mean(p.id, kind) for p in sc.platforms}
            assert pick(means, key=lambda k: means[k]) == best[trait], (sc.id, trait, means)


def test_registry_and_tools_pickle() -> None:
    import pickle

    tool = REG.tools["quickbite__search_restaurants"]
    tool.parameters_schema()  # builds the (unpicklable) dynamic model
    clone = pickle.loads(pickle.dumps(tool))
    assert clone.model_dump() == tool.model_dump() and clone.parameters_schema() == tool.parameters_schema()


def test_short_renderings_keep_what_a_call_needs() -> None:
    from ptenv.tools_registry.views import compact_definition, short_description, signature_line

    d = {
        "name": "quickbite__search_dishes",
        "description": "[QuickBite] Search dishes by keyword. Results show price.",
        "parameters": {
            "type": "object",
            "properties": {
                "keyword": {"type": "string", "description": "Words to look for."},
                "diet": {"type": "string", "enum": ["vegan", "halal"], "description": "A diet."},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["keyword"],
            "additionalProperties": False,
        },
    }
    assert short_description(d["description"]) == "Search dishes by keyword"
    assert short_description("No sentence break here.") == "No sentence break here"
    assert (
        signature_line(d)
        == "- quickbite__search_dishes(keyword: string, diet?: vegan|halal, tags?: list[string]): Search dishes by keyword"
    )
    c = compact_definition(d)
    assert c["parameters"]["properties"]["diet"] == {"type": "string", "enum": ["vegan", "halal"]}
    assert c["parameters"]["required"] == ["keyword"] and c["parameters"]["additionalProperties"] is False
    assert d["parameters"]["properties"]["keyword"]["description"] == "Words to look for."  # the original is untouched
