"""``python -m simcore``: the command line, as the ``simcore`` script runs it."""

from simcore.ui.cli import main

main(prog_name="simcore")
