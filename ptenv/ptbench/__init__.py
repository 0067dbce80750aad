"""PTBench's files: records (``data.json``), predictions (``generation.jsonl``), scoring them,
and predicting with an agent."""
