"""A policy MLP trained on a numeric id (RLlib PPO, ``ptenv train --agent rllib-ppo``), acting on the
text envs like any agent: ``ptenv eval --agent DIR/checkpoint.npz``.

It builds the candidates and features from each observation as the numeric ids do, runs the MLP
in numpy (no torch, no Ray needed to evaluate) and takes the most probable valid candidate. The
checkpoint (``ptenv-mlp``) is an ``.npz`` of a JSON header and the weights ``W0, b0, W1, b1, ...``,
read with ``allow_pickle=False``: nothing in it is ever unpickled, imported or evaluated.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ptenv.core.observations import parse_observation
from ptenv.rl.candidates import CandidateBuilder, K, action_mask
from ptenv.rl.features import SIZE, features

FORMAT = "ptenv-mlp"


class MLPPolicyAgent:
    name = "mlp-policy"

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]] | None = None, seed: int | None = 0):
        self.layers = layers or []
        self._builder = CandidateBuilder()

    @classmethod
    def load(cls, path: str | Path, seed: int | None = 0) -> MLPPolicyAgent:
        """A ``ptenv-mlp`` checkpoint; anything else is a ``ValueError`` naming what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                count = sum(1 for f in data.files if f.startswith("W"))
                layers = [(np.asarray(data[f"W{i}"], np.float32), np.asarray(data[f"b{i}"], np.float32)) for i in range(count)]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a policy checkpoint of ptenv train ({type(exc).__name__}: {exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} checkpoint")
        if header.get("size") != SIZE or header.get("actions") != K:
            raise ValueError(
                f"{path}: made for {header.get('size')} features and {header.get('actions')} candidates; this ptenv has {SIZE} and {K}"
            )
        if header.get("activation") != "tanh" or not layers:
            raise ValueError(f"{path}: only tanh MLPs with at least one layer are supported")
        n_in = SIZE
        for i, (w, b) in enumerate(layers):
            if w.ndim != 2 or w.shape[1] != n_in or b.shape != (w.shape[0],):
                raise ValueError(f"{path}: layer {i} has weights {w.shape} and bias {b.shape}, expected (*, {n_in}) and (*,)")
            n_in = w.shape[0]
        if n_in != K:
            raise ValueError(f"{path}: the last layer gives {n_in} logits, expected {K}")
        return cls(layers, seed)

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, np.float32)
        for w, b in self.layers[:-1]:
            h = np.tanh(w @ h + b)
        w, b = self.layers[-1]
        out: np.ndarray = w @ h + b
        return out

    def reset(self, seed: int | None = None) -> None:
        self._builder = CandidateBuilder()

    def act(self, observation: str) -> str:
        if not self.layers:
            raise RuntimeError("MLPPolicyAgent needs weights: load a checkpoint with MLPPolicyAgent.load(path)")
        self._builder.observe_payload(parse_observation(observation, with_tools=False))
        cands = self._builder.candidates()
        mask = action_mask(cands).astype(bool)
        scores = np.where(mask, self.logits(features(self._builder, cands)), -np.inf)
        return self._builder.choose(int(np.argmax(scores)), cands)
