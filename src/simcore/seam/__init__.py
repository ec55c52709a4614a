"""The seam between deciding and doing: the backend contract, Outcomes, finding backends by
name, and what every backend shares (the retry policy, simulated faults)."""
