"""ptenv: Gymnasium environments for personalized tool invocation.

``import ptenv`` is kept light: heavy parts (registry data, pydantic argument models, LLM SDKs)
load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
