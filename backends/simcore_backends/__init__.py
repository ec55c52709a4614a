"""simcore's built-in backends and the reference social app.

Each backend is registered in the ``simcore.backends`` entry-point group, the
way a third party's backend would be, and found by name by the CLI.
"""
