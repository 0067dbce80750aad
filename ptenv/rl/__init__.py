"""ptenv for learners: the request reader, candidate actions and numeric features, the wrappers
behind the numeric ids, ``ptenv train``, and adapters for LLM RL trainers (TRL, verifiers)."""
