"""Fixtures for the tests that need a real Spark standalone cluster (1 master + 2 workers).

The cluster is started once per test session by tools/sparkcluster.py (with the installed
PySpark's sbin/spark-daemon.sh), on 127.0.0.1 only, with its logs and work dirs in a pytest temp
dir; it is always stopped at the end, also when tests fail. Tests using it should carry
``pytest.mark.cluster`` (skip them with ``-m "not cluster"``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sparkcluster import Cluster, start_cluster, stop_cluster

CLUSTER_WORKERS = 2


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A running standalone cluster: 2 workers x 1 core x 2g, master URL in ``.master_url``."""
    state_dir = tmp_path_factory.mktemp("standalone-cluster")
    try:
        # 2 cores shared by 3 JVMs (and whatever else runs): allow more than the default 90 s.
        yield start_cluster(
            workers=CLUSTER_WORKERS,
            cores_per_worker=1,
            memory_per_worker="2g",
            state_dir=state_dir,
            timeout=180,
        )
    finally:
        stop_cluster(state_dir)  # idempotent; also cleans up after a failed or partial start
