"""`python -m fleetopt` is the `fleetopt` command."""

from fleetopt.cli import main

main()
