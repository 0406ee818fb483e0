"""``python -m paretoml``: the command-line interface."""

from paretoml.cli import main

main()
