"""A MaskablePPO policy (sb3-contrib, optional ``rl`` extra) trained on a numeric id, acting on the
text envs like any agent: it builds the candidates and features from the observation text and
takes the policy's most probable valid candidate. ``ptenv eval --agent DIR/checkpoint.zip``.

Checkpoints are in the ``ptenv-ppo`` format, which holds no pickle: a zip archive of
``ptenv-ppo.json`` (the settings that rebuild the policy) and ``.npy`` arrays (the observation
bounds and every tensor of the policy's ``state_dict``), written and read with numpy's
``allow_pickle=False``. Loading rebuilds the policy from the JSON and a fixed table of activation
names, so nothing in the file is ever imported, unpickled or evaluated.

stable-baselines3's own ``model.save`` zip unpickles parts of the file on load (cloudpickle of the
policy class, the spaces, ...), so evaluating a crafted one runs arbitrary code: it is refused
unless the caller passes ``trust_checkpoint=True``.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ptenv.core.observations import parse_observation
from ptenv.rl.candidates import CandidateBuilder, K, action_mask
from ptenv.rl.features import SIZE, features

FORMAT = "ptenv-ppo"
VERSION = 1
#: The archive member holding the settings; every other member is an ``.npy`` array.
META = "ptenv-ppo.json"
WEIGHTS = "weights/"
LOW, HIGH = "observation_space.low", "observation_space.high"
#: The activations a checkpoint may name. The name is looked up here, never imported from the file.
ACTIVATIONS = ("Tanh", "ReLU", "ELU", "LeakyReLU", "GELU", "SiLU", "Sigmoid")
#: Cap on the archive's total uncompressed size. The policy of ``ptenv train`` is ~100 KB; the cap
#: stops a crafted archive (a zip bomb) from exhausting memory before anything is checked.
MAX_BYTES = 256 * 1024 * 1024
_NEEDS_RL = "PPO checkpoints need the rl extra: pip install torch==2.13.0 && pip install -e '.[rl]'"


class PPOAgent:
    name = "ppo"

    def __init__(self, model: Any = None, seed: int | None = 0):
        # a MaskablePPO, or its bare policy as rebuilt from a ptenv-ppo checkpoint: both predict
        # with the same signature, and the model's predict is its policy's predict
        self.model = model
        self._builder = CandidateBuilder()

    @classmethod
    def load(cls, path: str | Path, seed: int | None = 0, trust_checkpoint: bool = False) -> PPOAgent:
        """A ``ptenv-ppo`` checkpoint, or (only with ``trust_checkpoint``) a stable-baselines3 zip."""
        path = Path(path)
        if not path.exists():
            raise OSError(f"no such file: {path}")
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise ValueError(f"{path} is not a PPO checkpoint (not a zip archive)") from None
        with archive:
            names = archive.namelist()
            # decided on the content, not the file name: a renamed file gets the same treatment
            if META in names:
                return cls(_read_policy(archive, path), seed)
            if "data" not in names and not any(n.endswith(".pth") for n in names):
                raise ValueError(f"{path} is neither a ptenv-ppo checkpoint (no {META}) nor a stable-baselines3 one")
        if not trust_checkpoint:
            raise ValueError(
                f"{path} is a stable-baselines3 pickle checkpoint: loading it unpickles objects from the file, which can run "
                "arbitrary code. Refused; if you trust its origin, opt in with trust_checkpoint=True (ptenv eval --trust-checkpoint), "
                "or retrain with ptenv train to get a pickle-free ptenv-ppo checkpoint"
            )
        try:
            from sb3_contrib import MaskablePPO
        except ImportError:
            raise ValueError(_NEEDS_RL) from None
        return cls(MaskablePPO.load(str(path), device="cpu"), seed)

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> None:
        """Write the model's policy as a ``ptenv-ppo`` checkpoint; ``meta`` (JSON) records the run."""
        policy = getattr(self.model, "policy", self.model)
        header, arrays = _describe(policy)
        header["training"] = dict(meta or {})
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(META, json.dumps(header, indent=2, sort_keys=True) + "\n")
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(name + ".npy", buf.getvalue())
        os.replace(partial, path)  # a run stopped mid-write never leaves half a checkpoint under the name

    def reset(self, seed: int | None = None) -> None:
        self._builder = CandidateBuilder()

    def act(self, observation: str) -> str:
        if self.model is None:
            raise RuntimeError("PPOAgent needs a trained model: load one with PPOAgent.load(path)")
        self._builder.observe_payload(parse_observation(observation, with_tools=False))
        cands = self._builder.candidates()
        mask = action_mask(cands).astype(bool)
        action, _ = self.model.predict(features(self._builder, cands), action_masks=mask, deterministic=True)
        index = int(np.asarray(action).item())
        return self._builder.choose(index if index < K else 0, cands)


# -- writing ---------------------------------------------------------------------------------------
def _describe(policy: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The settings that rebuild ``policy`` and its arrays; a ValueError for what the format cannot hold."""
    try:
        import torch
        from gymnasium import spaces
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
        from stable_baselines3.common.torch_layers import FlattenExtractor
    except ImportError:
        raise ValueError(_NEEDS_RL) from None
    # exactly MaskablePPO's MlpPolicy: a subclass or another extractor could hold layers that the
    # JSON below does not describe, and the checkpoint would not rebuild the same network
    if type(policy) is not MaskableActorCriticPolicy or policy.features_extractor_class is not FlattenExtractor:
        raise ValueError(f"the {FORMAT} format holds MaskablePPO's MlpPolicy, not {type(policy).__name__}")
    obs_space, act_space = policy.observation_space, policy.action_space
    if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1 and isinstance(act_space, spaces.Discrete)):
        raise ValueError(f"the {FORMAT} format holds a policy over a flat Box and Discrete actions, not {obs_space} -> {act_space}")
    activation = policy.activation_fn.__name__
    # by identity, not name: loading maps the name to torch.nn's class, so another class of that name would not round-trip
    if activation not in ACTIVATIONS or policy.activation_fn is not getattr(torch.nn, activation) or policy.features_extractor_kwargs:
        raise ValueError(f"the {FORMAT} format cannot hold activation {activation} or features_extractor_kwargs")
    arch = policy.net_arch
    net_arch = {"pi": list(arch.get("pi", [])), "vf": list(arch.get("vf", []))} if isinstance(arch, dict) else {"pi": arch, "vf": arch}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "policy": "MaskableActorCriticPolicy",
        "observation_size": int(obs_space.shape[0]),
        "observation_dtype": str(obs_space.dtype),
        "actions": int(act_space.n),
        "net_arch": {k: [int(n) for n in v] for k, v in net_arch.items()},
        "activation_fn": activation,
        "share_features_extractor": bool(policy.share_features_extractor),
        # images only; recorded so the rebuilt policy preprocesses exactly as the trained one
        "normalize_images": bool(policy.normalize_images),
    }
    arrays = {LOW: obs_space.low, HIGH: obs_space.high}
    arrays.update({WEIGHTS + k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()})
    return header, arrays


# -- reading (never unpickles, imports or evaluates anything from the file) ------------------------
def _read_policy(archive: zipfile.ZipFile, path: Path) -> Any:
    where = f"{path}: malformed {FORMAT} checkpoint"
    if sum(info.file_size for info in archive.infolist()) > MAX_BYTES:
        raise ValueError(f"{where}: more than {MAX_BYTES >> 20} MB uncompressed")
    try:
        header = json.loads(archive.read(META).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where}: {META} is not JSON ({_line(exc)})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise ValueError(f"{where}: cannot read {META} ({_line(exc)})") from None
    spec = _settings(header, path, where)
    arrays = _read_arrays(archive, where)
    return _rebuild(spec, arrays, where)


def _line(exc: BaseException) -> str:
    """An exception's message on one line (numpy and zipfile messages may span several)."""
    return " ".join(str(exc).split())


def _settings(header: Any, path: Path, where: str) -> dict[str, Any]:
    """The checked settings of ``ptenv-ppo.json``: each wrong shape is a one-line ValueError."""
    if not isinstance(header, dict):
        raise ValueError(f"{where}: {META} must hold a JSON object, not a {type(header).__name__}")
    if header.get("format") != FORMAT:
        raise ValueError(f"{where}: format is {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ValueError(f"{where}: format version {header.get('version')!r}; this ptenv reads version {VERSION}")
    if header.get("policy") != "MaskableActorCriticPolicy":
        raise ValueError(f"{where}: policy {header.get('policy')!r}; this ptenv rebuilds MaskableActorCriticPolicy")

    def count(key: str, value: Any) -> int:
        if type(value) is not int or value < 1:  # type(): a JSON true is a bool, which is an int subclass
            raise ValueError(f"{where}: {key} must be a positive integer, not {value!r}")
        return value

    size, actions = count("observation_size", header.get("observation_size")), count("actions", header.get("actions"))
    if size != SIZE or actions != K:
        raise ValueError(f"{path}: made for {size} observations and {actions} actions, this ptenv has {SIZE} and {K}")
    arch = header.get("net_arch")
    if not isinstance(arch, dict) or set(arch) != {"pi", "vf"} or not all(isinstance(v, list) for v in arch.values()):
        raise ValueError(f'{where}: net_arch must be an object {{"pi": [sizes], "vf": [sizes]}}, not {arch!r}')
    net_arch = {k: [count(f"net_arch.{k} sizes", n) for n in v] for k, v in arch.items()}
    if header.get("activation_fn") not in ACTIVATIONS:
        raise ValueError(f"{where}: activation_fn {header.get('activation_fn')!r} is not one of {', '.join(ACTIVATIONS)}")
    if header.get("observation_dtype") not in ("float32", "float64"):
        raise ValueError(f"{where}: observation_dtype {header.get('observation_dtype')!r} is not float32 or float64")
    for key in ("share_features_extractor", "normalize_images"):
        if not isinstance(header.get(key), bool):
            raise ValueError(f"{where}: {key} must be true or false, not {header.get(key)!r}")
    if not isinstance(header.get("training", {}), dict):
        raise ValueError(f"{where}: training must be a JSON object")
    return {**header, "net_arch": net_arch}


def _read_arrays(archive: zipfile.ZipFile, where: str) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name in archive.namelist():
        if name == META:
            continue
        if not name.endswith(".npy") or not (name.startswith(WEIGHTS) or name in (LOW + ".npy", HIGH + ".npy")):
            raise ValueError(f"{where}: unexpected member {name!r}")
        try:
            array = _npy(archive.read(name))
        except (ValueError, EOFError, OSError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
            raise ValueError(f"{where}: cannot read {name} ({_line(exc)})") from None
        if array.dtype.kind != "f":
            raise ValueError(f"{where}: {name} holds {array.dtype}, not floats")
        arrays[name[: -len(".npy")]] = array
    return arrays


def _npy(data: bytes) -> np.ndarray:
    """One ``.npy`` member. Its header is checked against its length first, since numpy allocates
    the shape the header declares before reading: a crafted header could ask for terabytes."""
    buf = io.BytesIO(data)
    version = np.lib.format.read_magic(buf)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(buf)
    else:
        raise ValueError(f"npy format version {version} is not read here")
    if dtype.hasobject:
        raise ValueError(f"it holds Python objects ({dtype}), which only unpickling could read: refused")
    if math.prod(shape) * dtype.itemsize > len(data) - buf.tell():
        raise ValueError(f"its header declares {list(shape)} {dtype}, more than the data it holds")
    buf.seek(0)
    # allow_pickle=False as well: numpy itself refuses to unpickle, whatever the checks above missed
    array: np.ndarray = np.lib.format.read_array(buf, allow_pickle=False)
    return array


def _mlp_weights(size: int, actions: int, net_arch: dict[str, list[int]]) -> int:
    """How many numbers MaskableActorCriticPolicy's MLP holds: each net's Linear layers, then the
    action head on the policy net and the value head on the value net."""
    total = 0
    for key, head in (("pi", actions), ("vf", 1)):
        dims = [size, *net_arch[key], head]
        total += sum(a * b + b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return total


def _rebuild(spec: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> Any:
    try:
        import torch
        from gymnasium import spaces
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    except ImportError:
        raise ValueError(_NEEDS_RL) from None
    size, net_arch = spec["observation_size"], spec["net_arch"]
    weights = {k[len(WEIGHTS) :]: v for k, v in arrays.items() if k.startswith(WEIGHTS)}
    # checked before building: a crafted net_arch of huge layers would otherwise allocate them all
    implied, held = _mlp_weights(size, spec["actions"], net_arch), sum(int(v.size) for v in weights.values())
    if implied != held:
        raise ValueError(f"{where}: the weights do not match net_arch {net_arch}, which needs {implied} numbers; the file holds {held}")
    for key in (LOW, HIGH):
        if key not in arrays or arrays[key].shape != (size,):
            raise ValueError(f"{where}: {key} must be an array of shape ({size},)")
    dtype = np.dtype(spec["observation_dtype"])
    low, high = arrays[LOW].astype(dtype), arrays[HIGH].astype(dtype)
    if not np.all(low <= high):  # NaN bounds fail this too
        raise ValueError(f"{where}: {LOW} must be <= {HIGH} everywhere")
    try:
        obs_space = spaces.Box(low, high, shape=(size,), dtype=dtype)
    except ValueError as exc:
        raise ValueError(f"{where}: bad observation bounds ({_line(exc)})") from None
    policy = MaskableActorCriticPolicy(
        obs_space,
        spaces.Discrete(spec["actions"]),
        lambda _: 0.0,  # the learning rate: the optimizer is never stepped
        net_arch=net_arch,
        activation_fn=getattr(torch.nn, spec["activation_fn"]),  # a name from ACTIVATIONS, checked above
        ortho_init=False,  # every weight is overwritten below
        share_features_extractor=spec["share_features_extractor"],
        normalize_images=spec["normalize_images"],
    )
    expected = policy.state_dict()
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"{where}: weights missing {missing[:3]}, unexpected {extra[:3]}")
    for key, tensor in expected.items():
        if weights[key].shape != tuple(tensor.shape) or weights[key].dtype != tensor.numpy().dtype:
            raise ValueError(
                f"{where}: {WEIGHTS}{key} is {weights[key].dtype}{list(weights[key].shape)}, expected {tensor.dtype}{list(tensor.shape)}"
            )
    policy.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, strict=True)
    policy.set_training_mode(False)
    return policy
