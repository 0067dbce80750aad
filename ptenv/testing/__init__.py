"""Test infrastructure, apart from product code (no product module imports it; an architecture
test checks): the loopback LLM server, the privileged gold door, and the oracle agent built on it.

It ships with the package so ``ptenv eval --agent oracle`` (the validity ceiling of reports) and
tests of installed copies work; nothing here is a baseline or reaches an agent's observations.
"""
