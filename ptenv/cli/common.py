"""What several commands share: JSON output, ``--env-arg``, the LLM options, and the checks that
turn a user's mistake into one line before anything runs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

#: The options that configure LLM agents (passed to the agent's constructor when given).
LLM_OPTIONS = (
    "model",
    "base_url",
    "temperature",
    "max_tokens",
    "timeout",
    "max_retries",
    "api_key_env",
    "cache_dir",
    "tool_choice",
    "context_tokens",
)


def at_least(low: int) -> Any:
    """An argparse type: an integer of at least ``low``."""
    return between(low, None)


def between(low: int, high: int | None) -> Any:
    """An argparse type: an integer in ``[low, high]`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            accepted = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {accepted}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text}")
    return value


def output_file(path: str) -> Path:
    """A file to write: not a directory; its folders are made if missing."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{out} is a directory; give the path of a file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def output_dir(path: str) -> Path:
    """A directory to write into: not a file; made (with its parents) if missing."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a directory to write into")
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_agent(spec: str, kwargs: dict[str, Any], tool_view: str | None = None) -> None:
    """Load the agent once, so an unknown name, a module that is not found, settings the agent
    does not take or a tool view it cannot work in are one line now, not an error in every episode."""
    from ptenv.core.agent import load_agent

    try:
        agent = load_agent(spec, **kwargs)
    except TypeError as exc:
        given = ", ".join("--" + k.replace("_", "-") for k in kwargs if k in LLM_OPTIONS) or "none"
        raise ValueError(f"agent {spec!r} does not take these settings ({given}): {exc}") from None
    views = getattr(agent, "tool_views", None)
    if tool_view is not None and views is not None and tool_view not in views:
        raise ValueError(f"agent {spec!r} works in the tool views {', '.join(views)}, not --tool-view {tool_view}")


def check_env(env_id: str, env_kwargs: dict[str, Any], text: bool) -> None:
    """The env id is registered, of the right kind (a text id to evaluate agents, a numeric id to
    train on), and every ``--env-arg`` is one of its arguments."""
    import inspect

    import gymnasium as gym

    import ptenv
    from ptenv.envs.base import BaseTaskEnv

    try:
        spec = gym.spec(env_id)
    except gym.error.Error:
        raise ValueError(f"unknown env {env_id!r}; ptenv's ids: {', '.join(ptenv.ENV_IDS)}") from None
    entry = spec.entry_point
    target: Any = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    is_text = inspect.isclass(target) and issubclass(target, BaseTaskEnv)
    if text and not is_text:
        raise ValueError(
            f"{env_id} is not a text env; agents are evaluated on text ids ({', '.join(i for i in ptenv.ENV_IDS if 'Numeric' not in i)})"
        )
    if not text and "Numeric" not in env_id:
        raise ValueError(f"{env_id} is not a numeric env; train on ptenv/PersonalTool-Numeric-v0 or ptenv/PersonalSession-Numeric-v0")
    if "split" in env_kwargs:
        raise ValueError("give the split with --split, not --env-arg split=...")
    if is_text:
        accepted = {
            name
            for klass in inspect.getmro(target)
            if "__init__" in vars(klass)
            for name, p in inspect.signature(vars(klass)["__init__"]).parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        } - {"split"}
        unknown = sorted(set(env_kwargs) - accepted)
        if unknown:
            raise ValueError(f"{env_id} takes no argument {', '.join(unknown)}; its arguments: {', '.join(sorted(accepted))}")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def add_llm_options(p: argparse.ArgumentParser | Any) -> None:
    """The options that configure LLM agents and LLM calls (keys come only from the environment)."""
    p.add_argument("--model", help="model name (e.g. gpt-4o-mini, claude-sonnet-4-5, or your server's model)")
    p.add_argument("--base-url", help="OpenAI-compatible server (e.g. http://localhost:8000/v1); for anthropic, the server root")
    p.add_argument("--temperature", type=nonnegative_float, help="sampling temperature, at least 0")
    p.add_argument("--max-tokens", type=at_least(1), help="the most tokens one reply may have")
    p.add_argument("--timeout", type=positive_float, help="seconds per request (the SDK retries timeouts)")
    p.add_argument("--max-retries", type=between(0, 100), help="SDK retries on 429, 5xx and timeouts (with backoff)")
    p.add_argument("--api-key-env", help="environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    p.add_argument("--cache-dir", help="response cache (default .ptenv-cache/llm): a rerun is free and identical")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    p.add_argument(
        "--context-tokens",
        type=at_least(1),
        help="the model's context in tokens: a request that cannot fit is refused at once with its size, not sent and retried",
    )
    p.add_argument(
        "--tool-choice",
        choices=["auto", "required", "none"],
        help="tool_choice sent with the tools (default auto; local servers such as llama-cpp-python show the tools only when it is sent)",
    )


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
    """``--env-arg KEY=VALUE`` options as env kwargs (VALUE read as JSON, else as a string; JSON's
    NaN and Infinity, and numbers too large to be finite, are refused)."""
    out: dict[str, Any] = {}
    for item in args.env_arg or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--env-arg takes KEY=VALUE with KEY an argument name, got {item!r}")
        try:
            value = json.loads(raw, parse_constant=_no_constant)
        except json.JSONDecodeError:
            value = raw  # a bare string
        except ValueError as exc:
            raise ValueError(f"--env-arg {key}: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"--env-arg {key}: {raw} is not a finite number")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value an env takes")
