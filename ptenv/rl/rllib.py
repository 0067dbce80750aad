"""PPO on RLlib's current API (RLModule, env runners, learners): ``ptenv train --agent rllib-ppo``.

* **The env.** RLlib samples in env-runner processes, which build the env from a registered
  creator (:func:`make_masked_env`, registered as :data:`RLLIB_ENV`); it imports ptenv itself, so
  the runners need nothing else. RLlib takes an action mask through the observation, so
  :class:`MaskedNumericEnv` shows a numeric id's observation as ``{"observations": ...,
  "action_mask": ...}`` (``info["action_mask"]`` as floats).
* **The module.** :class:`MaskedMLPModule` is a policy MLP and a value MLP (tanh) whose logits
  are pushed to -inf where the mask is 0, so no invalid candidate is ever sampled or learned.
* **The checkpoint.** RLlib's own checkpoint (``rllib/``) unpickles classes and configs when
  loaded, so ``ptenv eval`` never reads it: training also writes ``checkpoint.npz``, the policy
  MLP's weights and settings read back with numpy's ``allow_pickle=False``
  (:class:`ptenv.agents.mlp_policy.MLPPolicyAgent`). ``rllib/`` is there to resume with RLlib.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Box, Dict

from ptenv.rl.candidates import K

#: The name the creator is registered under with Ray Tune's env registry.
RLLIB_ENV = "ptenv-masked-numeric"
#: The policy file ``ptenv eval --agent DIR/checkpoint.npz`` reads (no pickle in it).
MLP_CHECKPOINT = "checkpoint.npz"
MLP_FORMAT = "ptenv-mlp"
_NEEDS_RLLIB = "--agent rllib-ppo needs RLlib: pip install torch==2.13.0 && pip install -e '.[rllib]'"


class MaskedNumericEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """A numeric id with its action mask in the observation (RLlib's way to mask actions).

    Observation Space: ``Dict(observations=<the id's Box>, action_mask=Box(0, 1, (K,)))``.
    Everything else is the wrapped id's (``env_id``, made with ``env_kwargs``)."""

    def __init__(self, env_id: str = "ptenv/PersonalTool-Numeric-v0", **env_kwargs: Any):
        import ptenv  # noqa: F401  (registers the ids in an env-runner process)

        self._env = gym.make(env_id, **env_kwargs)
        self.action_space = self._env.action_space
        self.observation_space = Dict(
            {"observations": self._env.observation_space, "action_mask": Box(0.0, 1.0, shape=(K,), dtype=np.float32)}
        )

    def _obs(self, obs: np.ndarray, info: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"observations": np.asarray(obs, dtype=np.float32), "action_mask": np.asarray(info["action_mask"], dtype=np.float32)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self._env.reset(seed=seed, options=options)
        return self._obs(obs, info), info

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self._env.step(action)
        return self._obs(obs, info), reward, terminated, truncated, info

    def close(self) -> None:
        self._env.close()


def make_masked_env(config: dict[str, Any]) -> MaskedNumericEnv:
    """RLlib's env creator: ``config`` is the env config (``env_id`` and the id's kwargs)."""
    return MaskedNumericEnv(**dict(config))


def check_reachable(cluster: str | None) -> None:
    """A ``host:port`` Ray address nobody answers on is one clear line at once (a ``ValueError``):
    Ray itself would retry it for minutes. ``None``, ``auto`` and ``ray://`` addresses pass."""
    if cluster is None or cluster == "auto" or "://" in cluster:
        return
    host, _, port = cluster.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot reach the Ray cluster at {cluster} ({exc}); is `ray start --head` running there?") from None


def init_ray(address: str | None, **local: Any) -> tuple[bool, bool]:
    """Connect to the cluster at ``address`` (else ``RAY_ADDRESS``), or start a local Ray with the
    ``local`` settings; nothing when Ray is already up. Returns (started here, local)."""
    import ray

    cluster = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        return False, False
    check_reachable(cluster)
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    try:
        ray.init(address=cluster, **kwargs, **(local if cluster is None else {}))
    except ConnectionError as exc:
        raise ValueError(f"cannot reach the Ray cluster at {cluster}: {exc}") from None
    return True, cluster is None


def _module_class() -> Any:
    """The RLModule class, defined once RLlib and torch are importable."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
    from ray.rllib.core.rl_module.torch import TorchRLModule

    def mlp(n_in: int, hidden: list[int], n_out: int) -> torch.nn.Sequential:
        layers: list[torch.nn.Module] = []
        for h in hidden:
            layers += [torch.nn.Linear(n_in, h), torch.nn.Tanh()]
            n_in = h
        return torch.nn.Sequential(*layers, torch.nn.Linear(n_in, n_out))

    class MaskedMLPModule(TorchRLModule, ValueFunctionAPI):
        def setup(self) -> None:
            space: Any = self.observation_space
            settings: Any = self.model_config or {}
            actions: Any = self.action_space
            n_in = int(space["observations"].shape[0])
            hidden = [int(h) for h in settings.get("hidden", (64, 64))]
            self.pi = mlp(n_in, hidden, int(actions.n))
            self.vf = mlp(n_in, hidden, 1)

        def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            obs = batch[Columns.OBS]
            logits = self.pi(obs["observations"])
            # log(0) = -inf, clamped to the most negative float so the softmax stays finite
            masked = logits + torch.clamp(torch.log(obs["action_mask"]), min=torch.finfo(logits.dtype).min)
            return {Columns.ACTION_DIST_INPUTS: masked}

        def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
            return self.vf(batch[Columns.OBS]["observations"]).squeeze(-1)

    return MaskedMLPModule


def _callbacks_class() -> Any:
    """Per finished episode, the platform and profile-argument terms of its last request, averaged
    by RLlib's metrics logger over the latest 200 (they reach ``result["env_runners"]``)."""
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class TaskMetrics(RLlibCallback):
        def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
            info = episode.get_infos(-1)
            result = info.get("result") if isinstance(info, dict) else None  # a RequestResult
            terms = getattr(result, "reward_terms", None)
            if terms and metrics_logger is not None:
                for key in ("platform", "profile_args"):
                    metrics_logger.log_value(key, float(terms[key]), reduce="mean", window=200)

    return TaskMetrics


def train_rllib_ppo(
    env_id: str,
    steps: int,
    out: Path,
    seed: int = 0,
    split: str = "train",
    env_kwargs: dict[str, Any] | None = None,
    env_runners: int = 1,
    hidden: tuple[int, ...] = (64, 64),
    progress: bool = True,
    address: str | None = None,
) -> list[dict[str, float]]:
    """PPO through RLlib on a numeric id with ``env_runners`` sampling processes; writes
    ``checkpoint.npz`` (for ``ptenv eval``), ``rllib/`` (RLlib's checkpoint) and the curve."""
    try:
        import ray
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.core.rl_module.rl_module import RLModuleSpec
        from ray.tune.registry import register_env
    except ImportError:
        raise ValueError(_NEEDS_RLLIB) from None
    from ptenv.rl.train import _bar, write_curve

    out.mkdir(parents=True, exist_ok=True)
    started, local = init_ray(address, num_cpus=env_runners + 1)  # stopped after the run if started here
    register_env(RLLIB_ENV, make_masked_env)
    batch = max(500, min(4000, steps // 4))
    config = (
        PPOConfig()
        .environment(RLLIB_ENV, env_config={"env_id": env_id, "split": split, **(env_kwargs or {})})
        .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=1, num_cpus_per_env_runner=1)
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=batch, minibatch_size=min(128, batch), num_epochs=8, lr=3e-4, gamma=0.99, entropy_coeff=0.01)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=_module_class(), model_config={"hidden": list(hidden)}))
        # on a local Ray a dead env runner means this machine is in trouble: stop rather than
        # restart (restartable runners also make Ray's core log a warning line); on a cluster, restart
        .fault_tolerance(restart_failed_env_runners=not local)
        .callbacks(_callbacks_class())
        .debugging(seed=seed, log_level="ERROR")
    )
    # RLlib announces at WARNING that PPO runs on its new API stack, which is what we chose
    logging.getLogger("ray.rllib.algorithms.algorithm_config").setLevel(logging.ERROR)
    algo = config.build_algo()
    rows: list[dict[str, float]] = []
    bar = _bar(steps, f"RLlib PPO, {env_runners} env runner(s)", progress)
    t0 = time.perf_counter()
    try:
        done = 0
        while done < steps:
            result = algo.train()
            runners = result.get("env_runners", {})
            done = int(runners.get("num_env_steps_sampled_lifetime", done + batch))
            ret = float(runners.get("episode_return_mean", float("nan")))
            platform, profile = (float(runners.get(k, float("nan"))) for k in ("platform", "profile_args"))
            row = {"steps": done, "episodes": int(runners.get("num_episodes_lifetime", 0)), "reward": ret}
            rows.append({**row, "platform": platform, "profile_args": profile})
            if bar is not None:
                bar.update(min(done, steps) - bar.n)
                bar.set_postfix_str(f"return {ret:.3f} platform {platform:.3f} profile {profile:.3f}")
        module: Any = algo.get_module()
        state = {k: v.detach().cpu().numpy() for k, v in module.pi.state_dict().items()}
        algo.save_to_path(str((out / "rllib").resolve()))
    finally:
        if bar is not None:
            bar.close()
        algo.stop()
        if started:
            ray.shutdown()
    meta = {
        "env": env_id,
        "trainer": "RLlib PPO",
        "steps": done,
        "seed": seed,
        "split": split,
        "env_runners": env_runners,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    save_mlp(out / MLP_CHECKPOINT, state, list(hidden), meta)
    write_curve(rows, out, f"{env_id} (RLlib PPO, seed {seed}, {env_runners} env runners)")
    return rows


def save_mlp(path: Path, state: dict[str, np.ndarray], hidden: list[int], meta: dict[str, Any]) -> None:
    """The policy MLP as ``W0, b0, W1, b1, ...`` (torch's ``Linear`` layout: out x in) and a JSON
    header; written whole under a temporary name, then moved into place."""
    from ptenv.rl.features import SIZE

    linear = sorted({k.rsplit(".", 1)[0] for k in state}, key=lambda k: int(k.split(".")[-1]))
    arrays: dict[str, Any] = {}
    for i, name in enumerate(linear):
        arrays[f"W{i}"] = state[f"{name}.weight"].astype(np.float32)
        arrays[f"b{i}"] = state[f"{name}.bias"].astype(np.float32)
    header = {"format": MLP_FORMAT, "version": 1, "activation": "tanh", "hidden": hidden, "size": SIZE, "actions": K, "training": meta}
    partial = path.with_name(path.name + ".partial.npz")
    arrays["header"] = np.array(json.dumps(header))
    np.savez(partial, **arrays)
    os.replace(partial, path)
