"""The deciding core: users and posts as arrays, routines, targets, trends, and the step that
turns (config, seed, state, tick) into an ActionBatch.

Pure: no I/O, no clock, no global randomness; every draw is keyed by (seed, stream, tick, user).
"""
