"""A numpy policy-gradient learner over candidate actions, trained from reward alone.

The policy is a linear softmax over each candidate's features (:mod:`ptenv.rl.candidates`), plus
the candidate-is-``finish`` feature crossed with the stage, so it can learn when to stop. It is
trained with REINFORCE (episode return minus a running baseline) on ``ptenv/*-Numeric-v0``
(``ptenv train``), saved as ``.npz``, and evaluated like any agent on the text envs
(``ptenv eval --agent path/to/checkpoint.npz``): it builds the same candidates and features
from the observation text and takes the most probable candidate.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ptenv.core.observations import parse_observation
from ptenv.rl.candidates import CandidateBuilder, K
from ptenv.rl.features import CAND_FEATURES, SIZE, G, features

F = len(CAND_FEATURES)
D = F + 3  # + finish x stage


def candidate_matrix(obs: np.ndarray) -> np.ndarray:
    """(K, D): each candidate's features and its finish-by-stage crosses."""
    cand = obs[G : G + K * F].reshape(K, F)
    stage = obs[26:29]
    cross = cand[:, 1:2] * stage[None, :]
    out: np.ndarray = np.concatenate([cand, cross], axis=1)
    return out


class CandidateBandit:
    name = "bandit"

    def __init__(self, seed: int | None = 0, lr: float = 0.2, theta: np.ndarray | None = None):
        self.rng = np.random.default_rng(seed)
        self.lr = lr
        self.theta = np.zeros(D) if theta is None else np.asarray(theta, dtype=float)
        self.baseline = 0.0
        self._builder = CandidateBuilder()

    # -- the policy ---------------------------------------------------------------------------
    def probs(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        logits = candidate_matrix(obs) @ self.theta
        logits = np.where(mask.astype(bool), logits, -np.inf)
        logits -= logits.max()
        p = np.exp(logits)
        out: np.ndarray = p / p.sum()
        return out

    def sample(self, obs: np.ndarray, mask: np.ndarray) -> int:
        return int(self.rng.choice(K, p=self.probs(obs, mask)))

    def greedy(self, obs: np.ndarray, mask: np.ndarray) -> int:
        return int(np.argmax(self.probs(obs, mask)))

    def update(self, steps: list[tuple[np.ndarray, np.ndarray, int]], ret: float) -> None:
        """REINFORCE: theta += lr * (G - b) * sum grad log pi(a|s)."""
        adv = ret - self.baseline
        self.baseline += 0.05 * (ret - self.baseline)
        grad = np.zeros(D)
        for obs, mask, a in steps:
            phi = candidate_matrix(obs)
            p = self.probs(obs, mask)
            grad += phi[a] - p @ phi
        self.theta += self.lr * adv * grad

    # -- checkpoints --------------------------------------------------------------------------
    def save(self, path: str | Path, meta: dict[str, Any]) -> None:
        np.savez(path, theta=self.theta, meta=json.dumps({**meta, "features": list(CAND_FEATURES), "size": SIZE}))

    @classmethod
    def load(cls, path: str | Path, seed: int | None = 0) -> CandidateBandit:
        """A checkpoint of ``ptenv train --agent bandit`` (read with ``allow_pickle=False``: arrays
        and a JSON text only). A file that is not one is a ``ValueError`` naming what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                theta = np.asarray(data["theta"], dtype=float)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a bandit checkpoint of ptenv train ({type(exc).__name__}: {exc})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: its metadata is not a JSON object; not a bandit checkpoint of ptenv train")
        if meta.get("size") != SIZE:
            raise ValueError(f"{path}: made for observations of size {meta.get('size')}, this ptenv has {SIZE}")
        if theta.shape != (D,):
            raise ValueError(f"{path}: weights of shape {theta.shape}, expected ({D},)")
        return cls(seed=seed, theta=theta)

    # -- the Agent protocol on text envs ---------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        self._builder = CandidateBuilder()

    def act(self, observation: str) -> str:
        parse_observation(observation, with_tools=False)  # a clear error if this is not a ptenv observation
        self._builder.observe(observation)
        cands = self._builder.candidates()
        obs = features(self._builder, cands)
        mask = np.zeros(K, dtype=np.int8)
        mask[: len(cands)] = 1
        return self._builder.choose(self.greedy(obs, mask), cands)
