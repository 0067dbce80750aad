"""LLM plumbing: settings, keys, the response cache and plain completions (``client``), the
LLM-backed simulated user (``user``) and LLM-assisted synthesis (``synthesis``). SDKs load lazily."""
