"""ptenv through verifiers' GymEnv: evaluate a model served by any OpenAI-compatible endpoint on the
held-out users, or hand ``load_environment()`` to a verifiers trainer. Needs the verifiers extra
(``pip install -e '.[verifiers]'``); not run in CI (tests/test_verifiers.py drives the same route
against a loopback server).

    python examples/verifiers_gymenv.py --model Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8000/v1 --episodes 20

The API key, if the server needs one, comes from OPENAI_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import openai
import verifiers as vf

from ptenv.rl.verifiers_adapter import gym_env_kwargs


def load_environment(env_id: str = "ptenv/PersonalTool-v0", **kwargs: Any) -> vf.Environment:
    """The verifiers convention: an environment module exposes ``load_environment``. Train rows come
    from the train split, eval rows from test_untrained (the held-out users)."""
    return vf.GymEnv(**gym_env_kwargs(env_id, **kwargs))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--base-url", default=None, help="an OpenAI-compatible endpoint (default: OpenAI)")
    ap.add_argument("--env", default="ptenv/PersonalTool-v0")
    ap.add_argument("--visibility", default="profile", choices=["profile", "history", "facts", "hidden"])
    ap.add_argument("--episodes", type=int, default=20, help="eval episodes (held-out users)")
    args = ap.parse_args()
    env = load_environment(args.env, num_train_episodes=1, num_eval_episodes=args.episodes, visibility=args.visibility)
    client = vf.OpenAIChatCompletionsClient(openai.AsyncOpenAI(base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", "unused")))
    results = await env.evaluate(client, args.model, sampling_args={"temperature": 0.0}, num_examples=-1)
    rewards = [out["reward"] for out in results["outputs"]]  # the episode's return, as ptenv paid it
    errors = sum(out["error"] is not None for out in results["outputs"])
    print(f"{len(rewards)} episodes, mean return {sum(rewards) / max(len(rewards), 1):.3f}, {errors} errored")


if __name__ == "__main__":
    asyncio.run(main())
