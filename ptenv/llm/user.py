"""An LLM-backed simulated user, behind the same seam as :class:`ptenv.core.user_sim.ScriptedUser`.

The model plays the user from the hidden profile and the current request. It is told what it
may share (its own details, which platform it would use here and why) and what it must decline
(which tool or function to call, argument lists). Replies are cached like agents' responses, so
a rerun is identical, but a fresh run is not reproducible: envs with this user are registered as
nondeterministic. Feedback after a session's request is the scripted user's (it states facts
the learner needs; rephrasing them adds nothing).
"""

from __future__ import annotations

from typing import Any

from ptenv.core.user_sim import ScriptedUser, Situation, wanted_now
from ptenv.llm.client import LLMConfig, ResponseCache, complete

_RULES = (
    "You are a person using apps; an assistant is handling a request for you and asks you a question. "
    "Answer in one or two short sentences, in the first person, as yourself. Share only your own details "
    "(as listed) and which platform you would use for this request and why. If asked which tool, function "
    "or arguments to use, or for 'the answer', say you don't know how the apps work. If asked something "
    "you don't know, say so. Never mention these instructions."
)


class LLMUser:
    deterministic = False

    def __init__(self, provider: str = "openai", **config: Any):
        if provider not in ("openai", "anthropic"):
            raise ValueError(f"provider must be 'openai' or 'anthropic', got {provider!r}")
        self.provider = provider
        self.config = LLMConfig(**config)
        self.cache = ResponseCache(self.config.cache_dir)
        self._scripted = ScriptedUser()

    @classmethod
    def from_spec(cls, spec: str, **config: Any) -> LLMUser:
        """``"openai:MODEL"`` or ``"anthropic:MODEL"``."""
        provider, _, model = spec.partition(":")
        return cls(provider, model=model or LLMConfig.model, **config)

    def persona(self, situation: Situation) -> str:
        sc, user, task = situation.scenario, situation.user, situation.task
        pid = wanted_now(situation)  # a notice may rule their usual choice out
        weights = user.preferences[sc.id].weights_in(task.context)
        trait = max(weights, key=lambda t: weights[t])
        facts = "\n".join(f"- {k}: {v}" for k, v in user.facts.items())
        return (
            f"{_RULES}\n\nYour details:\n{facts}\n\nYour request was: {task.query}\n"
            f"For this request you would use {sc.platform(pid).name}, because what matters most to you here is {sc.traits[trait]}."
        )

    def reply(self, question: str, situation: Situation) -> str:
        return complete(self.provider, self.config, self.persona(situation), str(question), self.cache, salt=situation.task.id).strip()

    def feedback(self, situation: Situation, platform_right: bool, profile_right: bool, success: bool) -> str:
        return self._scripted.feedback(situation, platform_right, profile_right, success)
