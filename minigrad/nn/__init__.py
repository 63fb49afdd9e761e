"""minigrad.nn: layers and losses (the modules arrive with the nn issue); `functional` has the ops."""
from . import functional  # noqa: F401
