"""What several commands share: JSON output, ``--env-arg``, and the LLM options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: The options that configure LLM agents (passed to the agent's constructor when given).
LLM_OPTIONS = ("model", "base_url", "temperature", "max_tokens", "timeout", "max_retries", "api_key_env", "cache_dir")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def add_llm_options(p: argparse.ArgumentParser | Any) -> None:
    """The options that configure LLM agents and LLM calls (keys come only from the environment)."""
    p.add_argument("--model", help="model name (e.g. gpt-4o-mini, claude-sonnet-4-5, or your server's model)")
    p.add_argument("--base-url", help="OpenAI-compatible server (e.g. http://localhost:8000/v1); for anthropic, the server root")
    p.add_argument("--temperature", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--timeout", type=float, help="seconds per request (the SDK retries timeouts)")
    p.add_argument("--max-retries", type=int, help="SDK retries on 429, 5xx and timeouts (with backoff)")
    p.add_argument("--api-key-env", help="environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    p.add_argument("--cache-dir", help="response cache (default .ptenv-cache/llm): a rerun is free and identical")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")


def llm_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {k: getattr(args, k) for k in LLM_OPTIONS if getattr(args, k, None) is not None}
    if getattr(args, "no_cache", False):
        kwargs["cache_dir"] = None
    return kwargs


def add_env_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--env-arg",
        action="append",
        metavar="KEY=VALUE",
        help="extra env kwarg, VALUE as JSON (e.g. --env-arg tasks_per_session=18 --env-arg scenarios='[\"takeout\"]')",
    )


def env_args(args: argparse.Namespace) -> dict[str, Any]:
    """``--env-arg KEY=VALUE`` options as env kwargs (VALUE read as JSON, else as a string)."""
    out: dict[str, Any] = {}
    for item in args.env_arg or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--env-arg takes KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw  # a bare string
    return out
