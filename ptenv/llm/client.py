"""LLM plumbing shared by the core (the LLM-backed simulated user, LLM-assisted synthesis) and
the LLM agents: settings, API keys, the on-disk response cache, and a plain text completion.

* **Keys** come only from environment variables (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, or the
  variable named by ``api_key_env``). They go to the SDK client and nowhere else: never into a
  cache key, a results file, a log or a report (a test greps every output file for them).
* **Cache.** A response is stored under the SHA-256 of the request (provider, server, body and a
  salt such as the episode's seed), so a rerun is free and identical.
* **Retries** are the SDKs' own (429, 5xx, timeouts, with backoff): ``max_retries``, ``timeout``.
  SDKs are imported only when a request is made, so ``import ptenv`` stays light.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOL_CHOICES: tuple[str, ...] = ("auto", "required", "none")


@dataclass
class LLMConfig:
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout: float = 60.0
    max_retries: int = 4
    #: Environment variable holding the API key (None: the provider's usual one).
    api_key_env: str | None = None
    #: Directory of the response cache; None disables it.
    cache_dir: str | None = ".ptenv-cache/llm"
    #: Local repair attempts when every tool call of a reply is malformed.
    max_local_retries: int = 3
    #: ``tool_choice`` sent with the tools: ``auto``, ``required`` (Anthropic: ``any``) or ``none``.
    tool_choice: str = "auto"
    #: The model's context in tokens, if known: a request that cannot fit is refused before it is
    #: sent (with the figure), instead of failing at the server and being retried.
    context_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.tool_choice not in TOOL_CHOICES:
            raise ValueError(f"tool_choice must be one of {', '.join(TOOL_CHOICES)}, got {self.tool_choice!r}")
        if self.context_tokens is not None and (
            not isinstance(self.context_tokens, int) or isinstance(self.context_tokens, bool) or self.context_tokens < 1
        ):
            raise ValueError(f"context_tokens must be a positive integer, got {self.context_tokens!r}")


class ContextTooSmall(ValueError):
    """A request that cannot fit the model's declared context (``--context-tokens``)."""


#: What a request that does not fit can change, for agents that carry the tools on offer.
FIT_HINT = (
    "use --tool-view platform_first (about a third of the prompt) or compact (three quarters), a lower --max-tokens, or a larger context"
)


def check_fits(body: dict[str, Any], config: LLMConfig, hint: str = FIT_HINT) -> None:
    """Refuse ``body`` before it is sent when its estimated prompt (bytes / 4, the usual rough
    count for English and JSON) and the reply it allows (``max_tokens``) exceed ``context_tokens``;
    ``hint`` says what the user can change."""
    if config.context_tokens is None:
        return
    size = len(json.dumps(body, ensure_ascii=False).encode())
    needed = size // 4 + config.max_tokens
    if needed > config.context_tokens:
        raise ContextTooSmall(
            f"this request needs about {needed:,} tokens ({size // 4:,} of prompt, estimated from its {size:,} bytes, "
            f"plus max_tokens {config.max_tokens:,}), more than --context-tokens {config.context_tokens:,}: {hint}"
        )


#: Secret-shaped text: provider keys (``sk-...``, ``sk-ant-...``), bearer tokens, ``api_key=...``.
_SECRET_SHAPES = re.compile(
    r"sk-[A-Za-z0-9_\-]{8,}|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*|(?i:api[_-]?key|x-api-key|authorization)([\"'\s:=]+)[A-Za-z0-9._\-]{8,}"
)
#: Environment variables whose values are secrets (their values are scrubbed wherever they appear).
_SECRET_VARS = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.I)


def scrub(text: str) -> str:
    """``text`` with every secret we can know of replaced by ``[redacted]``: the values of the
    environment's key, token and secret variables (a server may echo the key in an error), and
    anything shaped like a provider key. Applied to every error ptenv stores or prints."""
    values = [v for k, v in os.environ.items() if _SECRET_VARS.search(k) and len(v) >= 8]
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return _SECRET_SHAPES.sub(lambda m: (m.group(0)[: m.start(1) - m.start(0)] + m.group(1) if m.group(1) else "") + "[redacted]", text)


class ServerError(ValueError):
    """A provider or server refused or failed a request, after the SDK's retries (one line: a
    key, an address or a model name to fix)."""


def api_key(config: LLMConfig, default_env: str) -> str:
    """The key from the environment. A local OpenAI-compatible server often needs none."""
    name = config.api_key_env or default_env
    key = os.environ.get(name)
    if key:
        return key
    if config.base_url:
        return "not-needed"
    raise ValueError(f"set the {name} environment variable (or give --base-url for a local server that needs no key)")


class ResponseCache:
    """Responses on disk, one JSON file per request hash (written atomically)."""

    def __init__(self, root: str | None):
        self.root = Path(root) if root else None

    @staticmethod
    def key(provider: str, base_url: str | None, body: dict[str, Any], salt: Any) -> str:
        blob = json.dumps({"provider": provider, "base_url": base_url, "body": body, "salt": salt}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return None
        path = self.root / key[:2] / f"{key}.json"
        if not path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):  # a torn write: ask again
            return None
        return data

    def put(self, key: str, response: dict[str, Any]) -> None:
        if self.root is None:
            return
        folder = self.root / key[:2]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(response, ensure_ascii=False), encoding="utf-8")
        tmp.replace(folder / f"{key}.json")


@functools.lru_cache(maxsize=4)
def _tls_context(http_lib: str) -> ssl.SSLContext:
    # what each SDK client would build for itself (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR),
    # by the HTTP library the SDK is built on (httpx, or httpx2 for the newer SDKs)
    context: ssl.SSLContext = importlib.import_module(http_lib).create_ssl_context()
    return context


def sdk_client(provider: str, asynchronous: bool = False, **kwargs: Any) -> Any:
    """An ``openai`` or ``anthropic`` SDK client (sync or async) with the SDK's default HTTP client,
    except that every client of the process shares one TLS context: building one reads the CA
    bundle (~20 ms), and an evaluation makes a client per event loop plus one for its preflight."""
    sdk: Any
    if provider == "openai":
        import openai as sdk

        async_name, sync_name = "AsyncOpenAI", "OpenAI"
    elif provider == "anthropic":
        import anthropic as sdk

        async_name, sync_name = "AsyncAnthropic", "Anthropic"
    else:
        raise ValueError(f"provider must be 'openai' or 'anthropic', got {provider!r}")
    http_cls = sdk.DefaultAsyncHttpxClient if asynchronous else sdk.DefaultHttpxClient
    http_lib = http_cls.__mro__[1].__module__.partition(".")[0]
    client_cls = getattr(sdk, async_name if asynchronous else sync_name)
    return client_cls(http_client=http_cls(verify=_tls_context(http_lib)), **kwargs)


def complete(provider: str, config: LLMConfig, system: str, user: str, cache: ResponseCache, salt: Any = None) -> str:
    """One plain-text completion (no tools), cached. ``provider`` is ``openai`` or ``anthropic``."""
    if provider == "openai":
        body: dict[str, Any] = {
            "model": config.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        }
    elif provider == "anthropic":  # the current SDK takes no temperature: the model's default applies
        body = {"model": config.model, "system": system, "messages": [{"role": "user", "content": user}], "max_tokens": config.max_tokens}
    else:
        raise ValueError(f"provider must be 'openai' or 'anthropic', got {provider!r}")
    key = cache.key(provider, config.base_url, body, salt)
    resp = cache.get(key)
    if resp is None:
        kwargs: dict[str, Any] = {"base_url": config.base_url, "timeout": config.timeout, "max_retries": config.max_retries}
        try:
            key_env = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
            with sdk_client(provider, api_key=api_key(config, key_env), **kwargs) as client:
                if provider == "openai":
                    resp = client.chat.completions.create(**body).model_dump(mode="json")
                else:
                    resp = client.messages.create(**body).model_dump(mode="json")
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("openai", "anthropic"):  # the SDK gave up (after its retries)
                where = config.base_url or f"the {provider} API"
                raise ServerError(scrub(f"{where} failed the request ({type(exc).__name__}: {exc})")) from None
            raise
        cache.put(key, resp)
    if provider == "openai":
        return str(resp["choices"][0]["message"].get("content") or "")
    return " ".join(b.get("text", "") for b in resp.get("content", []) if b.get("type") == "text")
