"""PPO checkpoints: ``ptenv train --agent ppo`` writes a pickle-free ``ptenv-ppo`` checkpoint that
acts exactly as the trained model; stable-baselines3's own (pickled) zips are refused unless the
caller trusts them; a malformed checkpoint fails with one clear line, and nothing in a file runs."""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from conftest import need_extra

import ptenv  # noqa: F401
from ptenv.core.agent import load_agent
from ptenv.rl.candidates import K
from ptenv.rl.features import SIZE

ENV = "ptenv/PersonalTool-Numeric-v0"
MINI = {"dataset": "ptenv-v1-mini"}
META = "ptenv-ppo.json"


class _Touch:
    """Unpickling this creates ``marker``: a harmless stand-in for any code a pickle can run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def _sb3_zip(path: Path, marker: Path) -> Path:
    """A zip laid out as stable-baselines3's ``model.save`` writes it, whose ``data`` entry holds a
    cloudpickle payload (as SB3 stores the policy class) that creates ``marker`` when unpickled."""
    payload = base64.b64encode(pickle.dumps(_Touch(marker))).decode()
    data = {"policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": payload}, "n_envs": 1}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("_stable_baselines3_version", "2.9.2")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A short seeded ``train_ppo`` run on the mini dataset: the model it trained (kept by wrapping
    ``MaskablePPO.learn``) and the checkpoint it wrote."""
    need_extra("sb3_contrib", "rl")
    from sb3_contrib import MaskablePPO

    from ptenv.rl.train import PPO_CHECKPOINT, train_ppo

    out = tmp_path_factory.mktemp("ppo")
    models: list[Any] = []
    learn = MaskablePPO.learn

    def keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        models.append(self)
        return learn(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MaskablePPO, "learn", keep)
        train_ppo(ENV, 512, out, seed=0, env_kwargs=MINI, progress=False)
    (model,) = models
    return model, out / PPO_CHECKPOINT


def _numeric_states(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Observations and action masks met on held-out users' requests, under random valid actions."""
    env = gym.make(ENV, split="test_untrained", **MINI)
    rng = np.random.default_rng(1)
    obs, info = env.reset(seed=1)
    states, masks = [], []
    while len(states) < n:
        mask = info["action_mask"].astype(bool)
        states.append(obs)
        masks.append(mask)
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            obs, info = env.reset()
    return np.array(states), np.array(masks)


def _one_line_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ValueError) as err:
        load_agent(str(path), **kwargs)
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    return message


def test_a_pickled_sb3_checkpoint_is_refused_and_nothing_in_it_runs(tmp_path: Path) -> None:
    need_extra("sb3_contrib", "rl")
    marker = tmp_path / "ran"
    evil = _sb3_zip(tmp_path / "checkpoint.zip", marker)
    message = _one_line_error(evil, seed=0)
    assert "stable-baselines3 pickle checkpoint" in message and "arbitrary code" in message, message
    assert "trust_checkpoint=True" in message and "--trust-checkpoint" in message, message
    assert not marker.exists()
    # only torch's pickled weights (policy.pth): refused the same way, unread
    with zipfile.ZipFile(tmp_path / "weights-only.zip", "w") as z:
        z.writestr("policy.pth", pickle.dumps(_Touch(marker)))
    assert "stable-baselines3 pickle checkpoint" in _one_line_error(tmp_path / "weights-only.zip")
    assert not marker.exists()
    # the payload is live: stable-baselines3's loader, reached only with the trust flag, runs it
    # (and then finds no spaces in the file, which load_agent reports as a load error)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="cannot load checkpoint"):
        warnings.simplefilter("ignore")
        load_agent(str(evil), trust_checkpoint=True, seed=0)
    assert marker.exists()


def test_the_trained_checkpoint_acts_exactly_as_the_trained_model(trained: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    model, path = trained
    assert path.name == "checkpoint.zip" and path.exists()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the pickle-free loader unpickled something")

    with monkeypatch.context() as mp:  # any unpickling while loading fails the test
        for target, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
            mp.setattr(target, name, refuse)
        agent: Any = load_agent(str(path), seed=0)
    policy = agent.model
    assert type(policy).__name__ == "MaskableActorCriticPolicy" and not policy.training
    for key, tensor in model.policy.state_dict().items():
        assert torch.equal(policy.state_dict()[key], tensor), key

    states, masks = _numeric_states(200)
    ours = [int(policy.predict(s, action_masks=m, deterministic=True)[0]) for s, m in zip(states, masks, strict=True)]
    theirs = [int(model.predict(s, action_masks=m, deterministic=True)[0]) for s, m in zip(states, masks, strict=True)]
    assert ours == theirs and len(set(ours)) > 1
    with torch.no_grad():
        probs = [p.get_distribution(torch.as_tensor(states)).distribution.probs for p in (policy, model.policy)]
    assert torch.equal(*probs)

    # and on the text env, through the agent's own candidates and features
    reference: Any = load_agent("ppo", model=model)
    env = gym.make("ptenv/PersonalTool-v0", split="test_untrained", dataset="ptenv-v1-mini", visibility="history")
    steps = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        agent.reset(seed)
        reference.reset(seed)
        done = False
        while not done:
            action = reference.act(obs)
            assert agent.act(obs) == action
            obs, _, terminated, truncated, _ = env.step(action)
            done, steps = terminated or truncated, steps + 1
    assert steps >= 5


def test_the_checkpoint_holds_json_and_npy_arrays_only(trained: tuple[Any, Path]) -> None:
    _, path = trained
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read(META))
        for name in z.namelist():
            if name != META:  # every other member is an .npy array, none a pickle stream
                assert name.endswith(".npy") and z.read(name).startswith(b"\x93NUMPY"), name
    assert meta["format"] == "ptenv-ppo" and meta["version"] == 1 and meta["policy"] == "MaskableActorCriticPolicy"
    assert (meta["observation_size"], meta["actions"], meta["activation_fn"]) == (165, 9, "Tanh")
    assert meta["net_arch"] == {"pi": [64, 64], "vf": [64, 64]}
    assert meta["training"]["env"] == ENV and meta["training"]["seed"] == 0 and meta["training"]["steps"] >= 512
    with np.load(path, allow_pickle=False) as npz:  # numpy reads it as an .npz, and needs no pickle
        arrays = {k: npz[k] for k in npz.files if k != META}
    assert arrays["weights/action_net.weight"].shape == (9, 64) and arrays["observation_space.low"].shape == (165,)
    assert all(a.dtype == np.float32 for a in arrays.values()) and len(arrays) == 14


def test_a_legacy_checkpoint_loads_only_with_the_trust_flag(trained: tuple[Any, Path], tmp_path: Path) -> None:
    model, path = trained
    legacy = tmp_path / "legacy.zip"
    model.save(str(legacy))  # the format ptenv train wrote before
    assert "stable-baselines3 pickle checkpoint" in _one_line_error(legacy)
    agent: Any = load_agent(str(legacy), trust_checkpoint=True, seed=0)
    assert type(agent.model).__name__ == "MaskablePPO"
    states, masks = _numeric_states(50)
    for s, m in zip(states, masks, strict=True):
        assert agent.model.predict(s, action_masks=m, deterministic=True)[0] == model.predict(s, action_masks=m, deterministic=True)[0]
    # the flag changes nothing for a pickle-free checkpoint, and is never passed to an agent's constructor
    assert type(load_agent(str(path), trust_checkpoint=True, seed=0).model).__name__ == "MaskableActorCriticPolicy"  # type: ignore[union-attr]
    assert load_agent("heuristic", trust_checkpoint=True, seed=0).name == "heuristic"


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)  # allowed here: crafting hostile files
    return buf.getvalue()


def _with_meta(**changes: Any) -> Callable[[dict[str, Any], Path], dict[str, bytes | None]]:
    return lambda meta, marker: {META: json.dumps({**meta, **changes}).encode()}


def _lying_header(meta: dict[str, Any], marker: Path) -> dict[str, bytes | None]:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    return {"weights/action_net.bias.npy": buf.getvalue() + b"\0" * 36}


W = "weights/action_net.weight.npy"
MALFORMED: dict[str, tuple[Callable[[dict[str, Any], Path], dict[str, bytes | None]], str]] = {
    "metadata is a list": (lambda meta, marker: {META: b"[1, 2]"}, "ptenv-ppo.json must hold a JSON object, not a list"),
    "metadata is not JSON": (lambda meta, marker: {META: b"{'format': 1"}, "ptenv-ppo.json is not JSON"),
    "another format": (_with_meta(format="sb3"), "format is 'sb3', expected 'ptenv-ppo'"),
    "a later version": (_with_meta(version=2), "format version 2; this ptenv reads version 1"),
    "net_arch is a list": (_with_meta(net_arch=[64, 64]), "net_arch must be an object"),
    "a layer size is a string": (_with_meta(net_arch={"pi": ["64", 64], "vf": [64, 64]}), "net_arch.pi sizes must be a positive integer"),
    "a size is a bool": (_with_meta(observation_size=True), "observation_size must be a positive integer, not True"),
    "an activation by import path": (_with_meta(activation_fn="os.system"), "activation_fn 'os.system' is not one of Tanh"),
    "another observation size": (_with_meta(observation_size=10), "made for 10 observations and 9 actions, this ptenv has 165 and 9"),
    "huge layers": (_with_meta(net_arch={"pi": [2**20, 2**20], "vf": [64, 64]}), "the weights do not match net_arch"),
    "a missing array": (lambda meta, marker: {"weights/action_net.bias.npy": None}, "the weights do not match net_arch"),
    "a transposed array": (
        lambda meta, marker: {W: _npy(np.zeros((64, 9), np.float32))},
        re.escape("weights/action_net.weight is float32[64, 9], expected torch.float32[9, 64]"),
    ),
    "a float64 array": (lambda meta, marker: {W: _npy(np.zeros((9, 64)))}, "weights/action_net.weight is float64"),
    "an object array": (
        lambda meta, marker: {W: _npy(np.array([_Touch(marker)] * 576, dtype=object).reshape(9, 64))},
        "cannot read weights/action_net.weight.npy .*Python objects.*only unpickling could read",
    ),
    "a header larger than its data": (_lying_header, "cannot read weights/action_net.bias.npy .*more than the data it holds"),
    "an extra member": (lambda meta, marker: {"data": b"{}"}, "unexpected member 'data'"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_checkpoint_fails_with_one_clear_line(trained: tuple[Any, Path], tmp_path: Path, case: str) -> None:
    _, path = trained
    change, expected = MALFORMED[case]
    marker = tmp_path / "ran"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    replaced = change(json.loads(members[META]), marker)
    bad = tmp_path / "checkpoint.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in {**members, **replaced}.items():
            if data is not None:
                z.writestr(name, data)
    message = _one_line_error(bad, seed=0)
    assert re.search(expected, message), message
    assert not marker.exists()


def _not_checkpoints(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    (tmp_path / "text.zip").write_text("not a zip")
    yield tmp_path / "text.zip", re.escape("is not a PPO checkpoint (not a zip archive)")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    yield tmp_path / "other.zip", "is neither a ptenv-ppo checkpoint .* nor a stable-baselines3 one"


def test_a_zip_that_is_no_checkpoint_fails_with_one_clear_line(tmp_path: Path) -> None:
    for path, expected in _not_checkpoints(tmp_path):
        assert re.search(expected, _one_line_error(path, trust_checkpoint=True)), path


# -- the policy MLP of ptenv train --agent rllib-ppo (ptenv-mlp, .npz) --------------------------
def _mlp_state(hidden: list[int], seed: int = 0, actions: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [SIZE, *hidden, actions or K]
    state = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):  # torch's Sequential numbering
        state[f"{2 * i}.weight"] = rng.normal(size=(n_out, n_in)).astype(np.float32)
        state[f"{2 * i}.bias"] = rng.normal(size=(n_out,)).astype(np.float32)
    return state


def test_a_policy_mlp_checkpoint_is_read_without_pickle_and_acts_on_the_text_env(tmp_path: Path) -> None:
    from ptenv.rl.rllib import save_mlp

    path = tmp_path / "checkpoint.npz"
    save_mlp(path, _mlp_state([16, 8]), [16, 8], {"trainer": "test"})
    with zipfile.ZipFile(path) as archive:  # arrays only, each readable without pickle
        assert sorted(archive.namelist()) == ["W0.npy", "W1.npy", "W2.npy", "b0.npy", "b1.npy", "b2.npy", "header.npy"]
    agent: Any = load_agent(str(path))
    assert type(agent).__name__ == "MLPPolicyAgent" and len(agent.layers) == 3
    torch = need_extra("torch", "rl")  # the layout is torch's: the same weights give the same logits
    net = torch.nn.Sequential(torch.nn.Linear(SIZE, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, K))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in _mlp_state([16, 8]).items()})
    x = np.random.default_rng(1).random(SIZE).astype(np.float32)
    np.testing.assert_allclose(agent.logits(x), net(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    env = gym.make("ptenv/PersonalTool-v0", split="test", visibility="history", max_steps=6)
    obs, _ = env.reset(seed=0)
    agent.reset(seed=0)
    for _ in range(6):  # an untrained policy: its actions are candidates, right or wrong, never a crash
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        if terminated or truncated:
            break
    assert terminated or truncated


@pytest.mark.parametrize(
    "hidden, actions, message",
    [([16], 5, "the last layer gives 5 logits"), ([], None, "layer 0")],
)
def test_a_policy_mlp_checkpoint_of_the_wrong_shape_is_one_clear_line(
    tmp_path: Path, hidden: list[int], actions: int | None, message: str
) -> None:
    from ptenv.rl.rllib import save_mlp

    state = _mlp_state(hidden, actions=actions)
    if not hidden:  # a first layer that does not take the features
        state["0.weight"] = state["0.weight"][:, :-1]
    save_mlp(tmp_path / "bad.npz", state, hidden, {})
    with pytest.raises(ValueError, match=message):
        load_agent(str(tmp_path / "bad.npz"))
