import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Any test that would reach a host off this machine fails (tests/fakes/guard.py).
pytest_plugins = ("fakes.guard",)
