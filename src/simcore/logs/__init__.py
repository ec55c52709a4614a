"""Action logs: writing them (JSONL, SQLite, Parquet) a batch at a time, and reading them back."""
