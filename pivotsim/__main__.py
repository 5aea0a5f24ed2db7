"""``python -m pivotsim`` runs the command line."""

from .cli import app

app(prog_name="pivotsim")
