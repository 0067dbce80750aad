"""``ptenv train`` and ``ptenv synth``: training learners, LLM-assisted synthesis."""

from __future__ import annotations

import argparse
from typing import Any

from ptenv.cli.common import add_env_arg, add_llm_options, between, check_env, env_args, llm_kwargs, output_dir, output_file


def cmd_train(args: argparse.Namespace) -> int:
    from ptenv.rl.train import train_bandit, train_ppo

    env_kwargs: dict[str, Any] = {"dataset": args.dataset, **env_args(args)}
    if args.env_runners is not None and args.agent != "rllib-ppo":
        raise ValueError("--env-runners is RLlib's: it needs --agent rllib-ppo")
    if args.address is not None and args.agent != "rllib-ppo":
        raise ValueError("--address is the Ray cluster's: it needs --agent rllib-ppo")
    check_env(args.env, env_kwargs, text=False)
    out = output_dir(args.out)
    common: dict[str, Any] = {"seed": args.seed, "split": args.split, "env_kwargs": env_kwargs, "progress": not args.quiet}
    if args.agent == "rllib-ppo":
        from ptenv.rl.rllib import train_rllib_ppo

        rows = train_rllib_ppo(args.env, args.steps, out, env_runners=args.env_runners or 1, address=args.address, **common)
    else:
        rows = (train_bandit if args.agent == "bandit" else train_ppo)(args.env, args.steps, out, **common)
    last = rows[-1] if rows else {}
    print(
        f"trained {last.get('steps', 0)} steps; last block: reward {last.get('reward', 0):.3f}, platform {last.get('platform', 0):.3f}, profile {last.get('profile_args', 0):.3f}"
    )
    ckpt = f"{args.out}/checkpoint.{'zip' if args.agent == 'ppo' else 'npz'}"
    print(f"wrote {ckpt}, curve.csv, curve.png; evaluate: ptenv eval --agent {ckpt}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from ptenv.llm.client import LLMConfig
    from ptenv.llm.synthesis import synthesize

    config = LLMConfig(**{k: v for k, v in llm_kwargs(args).items() if k in LLMConfig.__dataclass_fields__})
    out = output_file(args.out)
    outcome, lines = synthesize(
        args.what, args.provider, config, dataset=args.dataset, split=args.split, scenario=args.scenario, n=args.n, seed=args.seed
    )
    with open(out, "w", encoding="utf-8") as f:  # overwritten, never appended: a rerun stays aligned
        f.writelines(line + "\n" for line in lines)
    print(f"accepted {len(outcome.accepted)}, rejected {len(outcome.rejected)}; wrote {out}")
    for r in outcome.rejected[:20]:
        print(f"  rejected {r['id']}: {r['reason']}")
    return 0


def add_commands(sub: Any) -> None:
    from ptenv.scenarios.dataset import DATASETS, DEFAULT_DATASET
    from ptenv.tools_registry.registry import SCENARIOS

    p = sub.add_parser("train", help="train a learner on a numeric id (bandit, PPO, RLlib PPO); saves a checkpoint and learning curves")
    p.add_argument("--env", default="ptenv/PersonalTool-Numeric-v0")
    p.add_argument(
        "--agent",
        default="bandit",
        choices=["bandit", "ppo", "rllib-ppo"],
        help="bandit (numpy), ppo (MaskablePPO, the rl extra) or rllib-ppo (RLlib's PPO with an action mask, the rllib extra)",
    )
    p.add_argument(
        "--env-runners", type=between(1, 1024), help="rllib-ppo: sampling processes (default 1), each needs a CPU of the Ray cluster"
    )
    p.add_argument("--address", help="rllib-ppo: a Ray cluster to train on (default: $RAY_ADDRESS, else a local Ray started for the run)")
    p.add_argument("--steps", type=between(1, 100_000_000), default=20_000, help="environment steps to train for")
    p.add_argument("--split", default="train")
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    add_env_arg(p)
    p.add_argument("--seed", type=between(0, 2**63 - 1), default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("synth", help="LLM-assisted synthesis (optional): paraphrases, users, APIs; every proposal validated")
    p.add_argument("what", choices=["paraphrase", "users", "apis"])
    p.add_argument("--provider", choices=["openai", "anthropic"], default="openai")
    add_llm_options(p)
    p.set_defaults(model="gpt-4o-mini", temperature=0.7)
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS), help="paraphrase: the dataset")
    p.add_argument("--split", default="test", help="paraphrase: the split")
    p.add_argument("--scenario", default="takeout", choices=list(SCENARIOS), help="apis: the scenario to extend")
    p.add_argument("--n", type=between(1, 10_000), default=10, help="how many proposals (paraphrase: the first n tasks)")
    p.add_argument("--seed", type=between(0, 2**63 - 1), default=0)
    p.add_argument("--out", required=True, help="JSONL of accepted proposals (overwritten)")
    p.set_defaults(func=cmd_synth)
