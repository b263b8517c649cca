"""Fault rules as users write them: durations, latency distributions, matches, windows, actions.

Parsing and validation live here (every error names the source, the rule, the field and, for YAML
files, the line); ``faults.py`` holds the plan that makes decisions from these rules at run time.
"""
from __future__ import annotations

import fnmatch
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from .yamllines import line_of

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
ERROR_CODES = (409, 429, 500, 503, 504)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(ms|s|m|h)\s*$")
MAX_DURATION = 1e9  # seconds (~31 years): longer is "forever", and still prints and parses back
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class FaultPlanError(ValueError):
    """An invalid plan; the message names the file, the rule and the field."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    cluster: str
    verb: str
    resource: str = ""
    namespace: str = ""
    user_agent: str = ""


# ---- parsing helpers ------------------------------------------------------------------------
class _Where:
    """Where a value came from: the file, the rule, and (for YAML files) the lines of its keys."""

    def __init__(self, source: str, rule: str | None = None, node: Any = None) -> None:
        self.source, self.rule, self.node = source, rule, node

    def fail(self, fieldname: str, message: str) -> FaultPlanError:
        line = self._line(fieldname)
        where = f"{self.source}:{line}: " if line else f"{self.source}: "
        where += f"rule {self.rule!r}: " if self.rule else ""
        return FaultPlanError(f"{where}{fieldname}: {message}")

    def _line(self, fieldname: str) -> int | None:
        node, best = self.node, line_of(self.node)
        for part in fieldname.split("."):
            part = part.split("[", 1)[0]
            found = line_of(node, part)
            if found is None:
                break
            best = found
            node = node.get(part) if isinstance(node, dict) else None
        return best


def parse_duration(value: Any, where: _Where, fieldname: str) -> float:
    if isinstance(value, bool) or value is None:
        raise where.fail(fieldname, f"expected a duration like 20ms, 1.5s or 5m, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise where.fail(fieldname, f"a duration cannot be negative, got {value!r}")
        seconds = float(value) if not isinstance(value, int) or value <= MAX_DURATION else math.inf
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise where.fail(fieldname, f"expected a duration like 20ms, 1.5s or 5m, got {value!r}")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if not seconds <= MAX_DURATION:  # also NaN and infinity
        raise where.fail(fieldname, f"a duration must be a finite number of at most {MAX_DURATION:g}s, got {value!r}")
    return seconds


def _probability(value: Any, where: _Where, fieldname: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise where.fail(fieldname, f"a probability must be a number in [0, 1], got {value!r}")
    return float(value)


def _mapping(value: Any, where: _Where, fieldname: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise where.fail(fieldname, f"expected a mapping, got {type(value).__name__}")
    for k in value:
        if k not in allowed:
            raise where.fail(f"{fieldname}.{k}", f"unknown key (allowed: {', '.join(allowed)})")
    return value


def _strings(value: Any, where: _Where, fieldname: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise where.fail(fieldname, "expected a list of non-empty strings")
    return tuple(value)


# ---- the model ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Latency:
    """fixed, uniform [lo, hi], or a log-normal through the given p50 and p99."""

    kind: str
    a: float
    b: float = 0.0

    @classmethod
    def parse(cls, value: Any, where: _Where, fieldname: str) -> "Latency":
        spec = _mapping(value, where, fieldname, ("fixed", "uniform", "p50", "p99"))
        if "fixed" in spec:
            if len(spec) > 1:
                raise where.fail(fieldname, "fixed cannot be combined with other keys")
            return cls("fixed", parse_duration(spec["fixed"], where, f"{fieldname}.fixed"))
        if "uniform" in spec:
            u = spec["uniform"]
            if len(spec) > 1 or not isinstance(u, list) or len(u) != 2:
                raise where.fail(f"{fieldname}.uniform", "expected [low, high]")
            lo = parse_duration(u[0], where, f"{fieldname}.uniform[0]")
            hi = parse_duration(u[1], where, f"{fieldname}.uniform[1]")
            if hi < lo:
                raise where.fail(f"{fieldname}.uniform", "high must not be below low")
            return cls("uniform", lo, hi)
        if "p50" in spec:
            p50 = parse_duration(spec["p50"], where, f"{fieldname}.p50")
            p99 = parse_duration(spec.get("p99", spec["p50"]), where, f"{fieldname}.p99")
            if p99 < p50:
                raise where.fail(f"{fieldname}.p99", "p99 must not be below p50")
            return cls("lognormal", p50, p99)
        raise where.fail(fieldname, "expected one of fixed, uniform, or p50 (with p99)")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.a <= 0:
            return 0.0
        sigma = math.log(self.b / self.a) / 2.3263478740408408 if self.b > self.a else 0.0
        return self.a * math.exp(sigma * rng.gauss(0.0, 1.0))

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "fixed":
            return {"fixed": f"{self.a * 1000:g}ms"}
        if self.kind == "uniform":
            return {"uniform": [f"{self.a * 1000:g}ms", f"{self.b * 1000:g}ms"]}
        return {"p50": f"{self.a * 1000:g}ms", "p99": f"{self.b * 1000:g}ms"}


@dataclass(frozen=True)
class Match:
    clusters: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: Any, where: _Where) -> "Match":
        spec = _mapping(value, where, "match", ("clusters", "verbs", "resources", "namespaces", "userAgents"))
        verbs = _strings(spec.get("verbs"), where, "match.verbs")
        for v in verbs:
            if v not in VERBS:
                raise where.fail("match.verbs", f"unknown verb {v!r} (known: {', '.join(VERBS)})")
        return cls(_strings(spec.get("clusters"), where, "match.clusters"), verbs,
                   _strings(spec.get("resources"), where, "match.resources"),
                   _strings(spec.get("namespaces"), where, "match.namespaces"),
                   _strings(spec.get("userAgents"), where, "match.userAgents"))

    def matches(self, ctx: RequestContext) -> bool:
        return (_any(self.clusters, ctx.cluster) and (not self.verbs or ctx.verb in self.verbs)
                and _any(self.resources, ctx.resource) and _any(self.namespaces, ctx.namespace)
                and _any(self.user_agents, ctx.user_agent))

    def to_dict(self) -> dict[str, Any]:
        d = {"clusters": self.clusters, "verbs": self.verbs, "resources": self.resources,
             "namespaces": self.namespaces, "userAgents": self.user_agents}
        return {k: list(v) for k, v in d.items() if v}


def _any(patterns: tuple[str, ...], value: str) -> bool:
    if not patterns:
        return True
    for p in patterns:
        if p == value or (("*" in p or "?" in p or "[" in p) and fnmatch.fnmatchcase(value, p)):
            return True
    return False


@dataclass(frozen=True)
class Window:
    start: float = 0.0
    duration: float | None = None
    every: float | None = None

    @classmethod
    def parse(cls, value: Any, where: _Where) -> "Window | None":
        if value is None:
            return None
        spec = _mapping(value, where, "window", ("start", "duration", "every"))
        start = parse_duration(spec.get("start", 0), where, "window.start")
        duration = parse_duration(spec["duration"], where, "window.duration") if "duration" in spec else None
        every = parse_duration(spec["every"], where, "window.every") if "every" in spec else None
        if every is not None and (duration is None or every <= 0 or duration > every):
            raise where.fail("window.every", "needs a duration no longer than the period")
        return cls(start, duration, every)

    def active(self, elapsed: float) -> bool:
        t = elapsed - self.start
        if t < 0:
            return False
        if self.every is not None:
            t = t % self.every
        return self.duration is None or t < self.duration

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": f"{self.start:g}s"}
        if self.duration is not None:
            d["duration"] = f"{self.duration:g}s"
        if self.every is not None:
            d["every"] = f"{self.every:g}s"
        return d


ACTIONS = ("latency", "error", "unreachable", "dropWatch", "timeout")


@dataclass
class Rule:
    name: str
    match: Match
    action: str
    latency: Latency | None = None
    probability: float = 1.0
    code: int = 0
    retry_after: int = 0
    message: str = ""
    after: float = 0.0
    window: Window | None = None
    enabled: bool = True

    @classmethod
    def parse(cls, value: Any, source: str, index: int) -> "Rule":
        where = _Where(source, f"#{index}", value)
        if not isinstance(value, dict):
            raise where.fail("rule", "expected a mapping")
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise where.fail("name", "every rule needs a name")
        where = _Where(source, name, value)
        allowed = ("name", "match", "window", "enabled") + ACTIONS
        for k in value:
            if k not in allowed:
                raise where.fail(k, f"unknown key (allowed: {', '.join(allowed)})")
        actions = [a for a in ACTIONS if a in value]
        if len(actions) != 1:
            raise where.fail("rule", f"needs exactly one action of {', '.join(ACTIONS)}, has {actions or 'none'}")
        action = actions[0]
        rule = cls(name, Match.parse(value.get("match"), where), action, window=Window.parse(value.get("window"), where))
        enabled = value.get("enabled", True)
        if not isinstance(enabled, bool):
            raise where.fail("enabled", "expected true or false")
        rule.enabled = enabled
        spec = value[action]
        if action == "latency":
            if isinstance(spec, dict) and "probability" in spec:
                spec = dict(spec)
                rule.probability = _probability(spec.pop("probability"), where, "latency.probability")
            rule.latency = Latency.parse(spec, where, "latency")
        elif action == "error":
            s = _mapping(spec, where, "error", ("code", "probability", "retryAfterSeconds", "message"))
            code = s.get("code")
            if isinstance(code, bool) or not isinstance(code, int) or code not in ERROR_CODES:
                raise where.fail("error.code", f"expected one of {', '.join(map(str, ERROR_CODES))}, got {code!r}")
            rule.code = code
            rule.probability = _probability(s.get("probability", 1.0), where, "error.probability")
            ra = s.get("retryAfterSeconds", 1 if code == 429 else 0)
            if isinstance(ra, bool) or not isinstance(ra, int) or not 0 <= ra <= 2**31 - 1:
                raise where.fail("error.retryAfterSeconds", f"expected a whole number of seconds, got {ra!r}")
            rule.retry_after = ra
            msg = s.get("message", "")
            if not isinstance(msg, str):
                raise where.fail("error.message", "expected a string")
            rule.message = msg
        elif action == "unreachable":
            s = _mapping(spec, where, "unreachable", ("probability",))
            rule.probability = _probability(s.get("probability", 1.0), where, "unreachable.probability")
        elif action == "dropWatch":
            s = _mapping(spec, where, "dropWatch", ("after", "probability"))
            rule.after = parse_duration(s.get("after", 0), where, "dropWatch.after")
            rule.probability = _probability(s.get("probability", 1.0), where, "dropWatch.probability")
        elif action == "timeout":
            s = _mapping(spec, where, "timeout", ("probability", "after"))
            rule.probability = _probability(s.get("probability", 1.0), where, "timeout.probability")
            rule.after = parse_duration(s.get("after", "1s"), where, "timeout.after")
        return rule

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "match": self.match.to_dict(), "enabled": self.enabled}
        if self.action == "latency":
            assert self.latency is not None
            spec = self.latency.to_dict()
            if self.probability < 1:
                spec["probability"] = self.probability
            d["latency"] = spec
        elif self.action == "error":
            d["error"] = {"code": self.code, "probability": self.probability, "retryAfterSeconds": self.retry_after}
            if self.message:
                d["error"]["message"] = self.message
        elif self.action == "unreachable":
            d["unreachable"] = {"probability": self.probability}
        elif self.action == "dropWatch":
            d["dropWatch"] = {"after": f"{self.after:g}s", "probability": self.probability}
        else:
            d["timeout"] = {"probability": self.probability, "after": f"{self.after:g}s"}
        if self.window is not None:
            d["window"] = self.window.to_dict()
        return d
