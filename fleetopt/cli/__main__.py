"""`python -m fleetopt.cli`."""

from fleetopt.cli import main

main()
