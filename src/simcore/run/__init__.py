"""Running: the one run builder, the run loop, pacing, control, snapshots and the run directory."""
