"""The Gymnasium environments: the classes, their registration, and the text space.

Kept import-free so ``import ptenv`` (which registers the ids) loads nothing heavy; the classes
load when ``gym.make`` first needs them.
"""
