"""A PTBench record as a multi-step episode. PTBench's tools have no backend: calls are recorded,
not executed, and the recorded calls are judged against the record's answer at the end.

The agent sees the record's prompt parts (profile, platforms, tools) as PTBench shows them, plus
the tools as JSON Schema when the record's tools text is a JSON list. It may call
``Platform__function`` (or PTBench's ``Platform:[function(...)]``), then ``finish``. The
prediction is the platform of the last call and every call made; it is scored with the env's
scorer (``strict`` or ``compat``) like a PTBench answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ptenv.core.actions import ParsedCall
from ptenv.core.builtins import FINISH
from ptenv.core.episode import INSTRUCTIONS, UNANSWERED, EpisodeConfig, EpisodeCore, TaskInfo
from ptenv.core.observations import dumps
from ptenv.core.records import PTBenchRecord
from ptenv.core.reward import EpisodeScore
from ptenv.scoring import Prediction, score_record
from ptenv.tools_registry.specs import TOOL_SEP

_NOTE = "PTBench records have no backend: the call is not executed; it is scored against the answer at the end."


def _slug(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "", name.replace(" ", "_")).lower() or "platform"


class RecordEpisode(EpisodeCore):
    def __init__(self, record: PTBenchRecord, config: EpisodeConfig):
        if config.visibility != "profile":
            raise ValueError("PTBench records carry a profile: use visibility='profile'")
        super().__init__(config)
        self.record = record
        self.info = TaskInfo(record.id, "ptbench", None)
        self.tools, self.platforms = self._tools(record.tools)
        self.calls: list[tuple[str | None, str, dict[str, Any]]] = []

    @staticmethod
    def _tools(text: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Tool definitions from a JSON tools text (``platform``, ``name``, ``parameters``), and
        the platform slugs they use. Free-form text gives none: the agent reads the text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return [], {}
        tools, platforms = [], {}
        for t in data if isinstance(data, list) else []:
            if not isinstance(t, dict) or not isinstance(t.get("name"), str):
                continue
            params = t.get("parameters") if isinstance(t.get("parameters"), dict) else {"type": "object", "properties": {}}
            platform = t.get("platform")
            name = t["name"]
            if isinstance(platform, str):
                platforms[_slug(platform)] = platform
                name = f"{_slug(platform)}{TOOL_SEP}{name}"
            tools.append({"name": name, "description": str(t.get("description", "")), "parameters": params})
        return tools, platforms

    def intro(self, **extra: Any) -> dict[str, Any]:
        r = self.record
        return {
            "type": "task",
            "instructions": INSTRUCTIONS + " " + _NOTE,
            "now": r.now,
            "scenario": "ptbench",
            "query": r.query,
            "user": {"visibility": "profile", "profile": r.user_profile},
            "platforms": [{"id": slug, "name": name, "summary": ""} for slug, name in self.platforms.items()],
            "platforms_text": r.platforms,
            "max_steps": self.config.max_steps,
            **extra,
        }

    def render_intro(self, head: dict[str, Any], with_tools: bool = True) -> str:
        payload = dict(head)
        if with_tools:
            payload["tools"] = [
                *self.tools,
                {"name": FINISH, "description": "Call when the request is done.", "parameters": {"type": "object", "properties": {}}},
            ]
            if not self.tools:
                payload["tools_text"] = self.record.tools
        return dumps(payload)

    def intro_text(self, with_tools: bool = True, **extra: Any) -> str:
        return self.render_intro(self.intro(**extra), with_tools)

    def act(self, action: Any) -> tuple[dict[str, Any], float]:
        parsed = self._parse(action)
        if isinstance(parsed, tuple):
            return parsed
        results = [self._record(c, parsed.platform) for c in parsed.calls if not self.finished]
        return self._payload("tool_results", results=results), 0.0

    def _record(self, call: ParsedCall, platform: str | None) -> dict[str, Any]:
        if call.name == FINISH:
            self.finished = True
            return {"tool": FINISH, "ok": True, "output": {"finished": True}}
        name = call.name
        if TOOL_SEP in name:
            slug, _, name = name.partition(TOOL_SEP)
            platform = self.platforms.get(slug.lower(), slug)
        self.calls.append((platform, name, dict(call.arguments)))
        self.ledger.counts["tool_calls"] += 1
        return {"tool": call.name, "ok": True, "output": {"recorded": True, "note": _NOTE}}

    def debug_gold(self) -> Any:
        return self.record.answer

    def score_unanswered(self) -> EpisodeScore:
        return self.reward.score(score_record(UNANSWERED, self.record.gold, self.config.scorer), self.ledger.penalties)

    def score(self, notes: bool = False) -> EpisodeScore:
        platform = self.calls[-1][0] if self.calls else None
        pred = Prediction(platform=platform, calls=tuple((f, a) for _, f, a in self.calls))
        return self.reward.score(score_record(pred, self.record.gold, self.config.scorer, notes), self.ledger.penalties)
