"""Users, their preferences and history, task synthesis, and versioned datasets with splits.

Builds on ``ptenv.tools_registry`` (what exists); the core (``ptenv``) builds on this.
"""

from .dataset import DATASETS, DEFAULT_DATASET, SPLITS, Dataset, DatasetConfig, generate, load_dataset
from .profiles import HistoryEvent, ScenarioPreference, UserProfile, render_profile
from .tasks import PREFERENCE_KINDS, TASK_KINDS, ArgGold, Gold, GoldCall, Task

__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "PREFERENCE_KINDS",
    "SPLITS",
    "TASK_KINDS",
    "ArgGold",
    "Dataset",
    "DatasetConfig",
    "Gold",
    "GoldCall",
    "HistoryEvent",
    "ScenarioPreference",
    "Task",
    "UserProfile",
    "generate",
    "load_dataset",
    "render_profile",
]
