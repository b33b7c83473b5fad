"""`python -m composer.cli` runs the command-line interface."""

from composer.cli import main

main()
