"""PTBench's text protocol, for models without native tool calling (any OpenAI-compatible server).

One request per task, in PTBench's prompt shape: the user profile, the platforms, the tools and
the required answer form in the system prompt, the query as the user turn. The model's text is
the action as it is; the environment parses it with the safe parser (``json``/``ast``, never
``eval``). In ``PTBench-v0`` a reply that is not in the required form counts against the
``format`` column, as in PTBench. In ``PersonalTool-v0`` the answer's calls execute and the agent
then finishes; a reply that is not a call is an invalid action there, and the task is scored as
answered with no calls (``format`` true, ``func_missing_error``).
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.core.observations import parse_observation
from ptenv.core.records import ANSWER_FORMAT, ptbench_prompt

from .openai_agent import OpenAIAgent


class PTBenchTextAgent(OpenAIAgent):
    name = "ptbench-text"
    #: One request per task, with every platform's tools: the view of the tools must show them all.
    tool_views = ("full", "compact")
    fit_hint = (
        "ptbench-text sends every platform's tools in one request (12-13k tokens of prompt): a lower --max-tokens or a larger context"
    )

    def __init__(self, seed: int | None = 0, **config: Any):
        super().__init__(seed, **config)
        self._answered = False

    def act(self, observation: str) -> str:
        if self._begin(parse_observation(observation)):
            return json.dumps({"name": "finish"})
        return self._answer(self._cached(self._request_body()))

    async def aact(self, observation: str) -> str:
        if self._begin(parse_observation(observation)):
            return json.dumps({"name": "finish"})
        return self._answer(await self._acached(self._request_body()))

    def _begin(self, obs: dict[str, Any]) -> bool:
        """Set up the one request; True when this task is already answered (then finish)."""
        kind = obs.get("type")
        if kind == "ptbench":
            system = ptbench_prompt(
                obs.get("user_profile"), obs["platforms"], obs["tools"], obs.get("answer_format", ANSWER_FORMAT), obs.get("now")
            )
        elif kind == "task":
            if obs.get("tool_view") == "platform_first":
                raise ValueError("ptbench-text answers in one shot with every platform's tools: use the full tool view")
            platforms = "\n".join(f"- {p['name']}: {p['summary']}" for p in obs.get("platforms", []))
            tools = [
                {
                    "platform": t["name"].split("__")[0],
                    "name": t["name"].split("__")[-1],
                    "description": t["description"],
                    "parameters": t["parameters"],
                }
                for t in obs.get("tools", [])
                if "__" in t["name"]
            ]
            system = ptbench_prompt(
                obs.get("user", {}).get("profile"), platforms, json.dumps(tools, ensure_ascii=False), ANSWER_FORMAT, obs.get("now")
            )
        else:
            return self._answered
        self._messages = [{"role": "system", "content": system}, {"role": "user", "content": str(obs["query"])}]
        self._answered = False
        return False

    def _request_body(self) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": self._messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }

    def _answer(self, resp: dict[str, Any]) -> str:
        self._answered = True
        return str(resp["choices"][0]["message"].get("content") or "").strip()

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._answered = False
