"""Shared fixtures: a virtual clock and one fake cluster's store on it."""
from __future__ import annotations

import pytest

from apiserver.clock import ManualClock
from apiserver.cluster import ClusterStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> ClusterStore:
    """A bootstrapped cluster (default, kube-system, kube-public, kube-node-lease) on a manual clock."""
    return ClusterStore("test", clock=clock, seed=1)
