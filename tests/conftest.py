import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# The Ray backend starts Ray only inside a loopback-only network namespace while this is set
# (composer.serving.ray.cluster.check_network_isolation).
os.environ["COMPOSER_RAY_GUARD"] = "1"

# Any test that would reach a host off this machine fails (tests/fakes/guard.py).
pytest_plugins = ("fakes.guard",)
