"""pytest configuration for the minigrad suite (kept free of minigrad imports so that collection of
other test files never depends on the framework importing cleanly)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    """Each test starts with grad mode on; a test that leaves it off does not leak into the next."""
    yield
    mod = sys.modules.get("torch" if os.environ.get("MINIGRAD_TEST_AGAINST") == "torch" else "minigrad")
    setter = getattr(mod, "set_grad_enabled", None) if mod is not None else None
    if setter is not None:
        try:
            setter(True)
        except Exception:
            pass
