"""Time as an object passed in: every timestamp and delay in kubesim reads one clock.

``RealClock`` is wall time; ``ScaledClock`` runs real time faster; a virtual clock for
in-process runs implements the same protocol. Timestamps are RFC 3339 in whole seconds,
as kube-apiserver writes them, and are cached per second because creates format one each.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines and ages)."""


class RealClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ScaledClock:
    """Real time multiplied by ``speed`` from the moment the clock is made."""

    def __init__(self, speed: float, base: RealClock | None = None) -> None:
        self.speed = speed
        self._base = base or RealClock()
        self._wall0 = self._base.now()
        self._mono0 = self._base.monotonic()

    def now(self) -> float:
        return self._wall0 + (self._base.monotonic() - self._mono0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + (self._base.monotonic() - self._mono0) * self.speed


class ManualClock:
    """A clock that moves only when told to: for tests and deterministic replays."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._t = start

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds


class TimestampFormatter:
    """RFC 3339 ``...Z`` strings for a clock, computed once per whole second."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def format(self, t: float) -> str:
        s = int(t)
        if s != self._second:
            self._second = s
            self._text = datetime.fromtimestamp(s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._text


def format_time(t: float) -> str:
    return datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
