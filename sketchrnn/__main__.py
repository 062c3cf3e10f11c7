"""`python -m sketchrnn` runs the CLI."""

from sketchrnn.cli.main import main

main()
