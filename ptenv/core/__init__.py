"""The episode protocol and everything an episode is made of: actions, observations, built-in
tools, the simulated user, task sources and the reward model. No Gymnasium here: the envs wrap it.
"""
