"""``python -m pivotsim`` runs the command line."""

from .cli import main

main()
