"""Train a small model on ptenv with TRL's GRPO (not run in CI: needs `pip install trl datasets`
and a GPU, or patience). The reward is ptenv's: each completion is played in ptenv/PTBench-v0.

    python examples/trl_grpo.py --model Qwen/Qwen2.5-0.5B-Instruct --limit 512
"""

import argparse

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from ptenv.rl.trl_adapter import PTEnvReward, grpo_prompts

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B-Instruct")
parser.add_argument("--limit", type=int, default=512)
parser.add_argument("--out", default="runs/grpo")
args = parser.parse_args()

train = Dataset.from_list(grpo_prompts("train", limit=args.limit))
trainer = GRPOTrainer(
    model=args.model,
    reward_funcs=[PTEnvReward("train", reward_mode="shaped")],
    args=GRPOConfig(output_dir=args.out, num_generations=4, max_completion_length=256, logging_steps=10),
    train_dataset=train,
)
trainer.train()
