"""Starting and stopping a Ray head node as a user does (`ray start --head`), for the tests.

The head runs in its own session and is stopped by the ids of the processes it started, never
by `ray stop`, which stops every Ray process on the machine.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WORKER_PORTS = range(10002, 20000)
"""Ray's default worker port range, which the head's own ports must stay out of."""


@dataclass(frozen=True)
class RayHead:
    """A running head node: its GCS address, its Ray Client address and the env to reach it."""

    address: str
    client_address: str
    env: dict[str, str]


def free_port() -> int:
    """A free loopback port outside Ray's worker port range."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in WORKER_PORTS:
            return port


def stop_tree(pid: int) -> None:
    """Stop the process `pid` and every process it started, by their ids."""
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    processes = [parent, *parent.children(recursive=True)]
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=3)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def start_head(log: Path, *, gpus: int = 4) -> tuple[subprocess.Popen[bytes], RayHead]:
    """`ray start --head --block` on loopback: 2 CPUs, `gpus` logical GPUs, no dashboard."""
    port, client_port = free_port(), free_port()
    # Token authentication off explicitly: a `~/.ray/auth_token` on the machine would turn it
    # on for `ray start` but not for a driver given an explicit address.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    command = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--ray-client-server-port={client_port}",
        "--num-cpus=2",
        f"--num-gpus={gpus}",
        f"--object-store-memory={150 * 2**20}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    with log.open("w") as out:
        head = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text():
        if head.poll() is not None or time.monotonic() > deadline:
            stop_tree(head.pid)
            raise RuntimeError(f"ray start --head did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return head, RayHead(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}", env)
