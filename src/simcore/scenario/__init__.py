"""The scenario: the config schema, parsing and validation, the action kinds, durations and schedules.

Pure: no I/O, no clock, no global randomness. The lowest layer (docs/architecture.md).
"""
