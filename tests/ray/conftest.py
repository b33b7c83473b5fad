"""The Ray head the Ray tests share: started once, as a user starts one, stopped at the end.

Only ever started inside the loopback-only network namespace the Ray tests need.
"""

from collections.abc import Iterator

import pytest
from head_node import RayHead, start_head, stop_tree


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    head, node = start_head(tmp_path_factory.mktemp("ray-head") / "ray-start.log")
    try:
        yield node
    finally:
        stop_tree(head.pid)
