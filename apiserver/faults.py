"""Fault plans: latency, errors, stalls, dropped watches, unreachable clusters and compaction.

A plan decides on a ``RequestContext`` (cluster, verb, resource, namespace, user agent), not on
HTTP, so an in-process client meets the same faults as one over a socket; the HTTP layer only
carries out the connection-level ones (reset, dropped stream). Decisions are drawn from one
seeded RNG in request order: the same seed and request sequence give the same faults.
"""
from __future__ import annotations

import fnmatch
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
import yaml

from . import errors
from .clock import Clock
from .yamllines import line_of
from .yamllines import load as load_yaml

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


@dataclass
class Decision:
    """What to do to one request; all zero/None means nothing."""

    delay: float = 0.0
    error: errors.StatusError | None = None
    unreachable: bool = False
    drop_watch_after: float | None = None
    timeout_after: float | None = None
    rules: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.rules)


NO_FAULT = Decision()


def _error_for(rule: Rule, ctx: RequestContext) -> errors.StatusError:
    code = rule.code
    what = ctx.resource or "resource"
    if code == 429:
        e = errors.too_many_requests(rule.message or "Too many requests, please try again later.",
                                     rule.retry_after or 1)
    elif code == 409:
        e = errors.conflict(what, "", ctx.namespace or what, rule.message or errors.CONFLICT_MODIFIED)
    elif code == 500:
        e = errors.internal_error(rule.message or f"injected by kubesim fault rule {rule.name}")
    elif code == 503:
        e = errors.service_unavailable(rule.message or "the server is currently unable to handle the request")
    else:
        e = errors.timeout(rule.message or f"request did not complete within the allowed duration", rule.retry_after or 1)
    if rule.retry_after and e.details is not None:
        e.details["retryAfterSeconds"] = rule.retry_after
        e.headers["Retry-After"] = str(rule.retry_after)
    elif rule.retry_after:
        e.details = {"retryAfterSeconds": rule.retry_after}
        e.headers["Retry-After"] = str(rule.retry_after)
    return e


class FaultPlan:
    """Rules plus compaction and storage latency; mutable at run time through the admin API."""

    def __init__(self, rules: list[Rule] | None = None, *, seed: int = 0, compaction_every: float | None = None,
                 storage_latency: Latency | None = None, clock: Clock | None = None,
                 log_limit: int = 10_000) -> None:
        self.rules = list(rules or [])
        self.seed = seed
        self.rng = random.Random(seed)
        self.compaction_every = compaction_every
        self.storage_latency = storage_latency
        self.clock = clock
        self.started = clock.monotonic() if clock is not None else 0.0
        self.log: list[dict[str, Any]] = []
        self.log_limit = log_limit
        self.injected: dict[tuple[str, str], int] = {}
        self.on_inject: Callable[[dict[str, Any]], None] | None = None
        # Clusters taken offline through the admin API: unreachable until brought back.
        self.offline: set[str] = set()
        # The rules whose ``match`` selects a request shape (cluster, verb, resource, namespace[, user
        # agent]): matching runs once per shape, so rules that match nothing cost one dict lookup.
        # Rebuilt when ``rules`` is replaced or changes length (``add``/``remove``/``replace``).
        self._shapes: dict[tuple[str, ...], tuple[Rule, ...]] = {}
        self._shapes_of: list[Rule] | None = None
        self._shapes_len = -1
        self._by_user_agent = False

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: Any, source: str = "<fault plan>", clock: Clock | None = None) -> "FaultPlan":
        where = _Where(source, None, doc)
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise where.fail("plan", "expected a mapping at the top level")
        for k in doc:
            if k not in ("seed", "rules", "compaction", "storage"):
                raise where.fail(k, "unknown key (allowed: seed, rules, compaction, storage)")
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise where.fail("seed", f"expected an integer, got {seed!r}")
        rules_doc = doc.get("rules") or []
        if not isinstance(rules_doc, list):
            raise where.fail("rules", "expected a list of rules")
        rules = [Rule.parse(r, source, i) for i, r in enumerate(rules_doc)]
        names = [r.name for r in rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise where.fail("rules", f"duplicate rule names: {', '.join(sorted(dup))}")
        every = None
        if "compaction" in doc:
            c = _mapping(doc["compaction"], where, "compaction", ("every",))
            every = parse_duration(c.get("every"), where, "compaction.every")
            if every <= 0:
                raise where.fail("compaction.every", "must be positive")
        storage = None
        if "storage" in doc:
            s = _mapping(doc["storage"], where, "storage", ("latency",))
            storage = Latency.parse(s.get("latency"), where, "storage.latency")
        return cls(rules, seed=seed, compaction_every=every, storage_latency=storage, clock=clock)

    @classmethod
    def load(cls, path: str, clock: Clock | None = None) -> "FaultPlan":
        try:
            with open(path) as f:
                doc = load_yaml(f.read())
        except OSError as e:
            raise FaultPlanError(f"{path}: cannot read: {e.strerror}") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise FaultPlanError(f"{path}:{line} invalid YAML: {getattr(e, 'problem', e)}") from None
        return cls.from_dict(doc, path, clock)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"seed": self.seed, "rules": [r.to_dict() for r in self.rules]}
        if self.compaction_every:
            d["compaction"] = {"every": f"{self.compaction_every:g}s"}
        if self.storage_latency is not None:
            d["storage"] = {"latency": self.storage_latency.to_dict()}
        return d

    # ---- run-time changes -------------------------------------------------------------------
    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def add(self, rule: Rule) -> None:
        if self.rule(rule.name) is not None:
            raise FaultPlanError(f"rule {rule.name!r}: already exists")
        self.rules.append(rule)

    def remove(self, name: str) -> Rule:
        r = self.rule(name)
        if r is None:
            raise KeyError(name)
        self.rules.remove(r)
        return r

    def replace(self, other: "FaultPlan") -> None:
        self.rules = other.rules
        self.injected = {}
        self.seed = other.seed
        self.rng = random.Random(other.seed)
        self.compaction_every = other.compaction_every
        self.storage_latency = other.storage_latency

    # ---- decisions ----------------------------------------------------------------------------
    def elapsed(self) -> float:
        return (self.clock.monotonic() - self.started) if self.clock is not None else 0.0

    @property
    def active(self) -> bool:
        """False when no request can be affected: the HTTP hot path then skips ``decide``."""
        return bool(self.rules or self.offline)

    def decide(self, ctx: RequestContext) -> Decision:
        if self.offline and ctx.cluster in self.offline:
            self._record("offline", "unreachable", ctx)
            return Decision(unreachable=True, rules=["offline"])
        if not self.rules:
            return NO_FAULT
        matched = self._matching(ctx.cluster, ctx.verb, ctx.resource, ctx.namespace, ctx.user_agent)
        return self._decide(ctx, matched) if matched else NO_FAULT

    def decide_request(self, cluster: str, verb: str, resource: str, namespace: str,
                       user_agent: Callable[[], str]) -> Decision:
        """``decide`` for the HTTP hot path: the user agent is read only if a rule matches on it or fires."""
        if self.offline and cluster in self.offline:
            return self.decide(RequestContext(cluster, verb, resource, namespace, user_agent()))
        rules = self.rules
        if not rules:
            return NO_FAULT
        if rules is self._shapes_of and not self._by_user_agent and len(rules) == self._shapes_len:
            matched = self._shapes.get((cluster, verb, resource, namespace))  # the common case: seen before
            if matched is not None:
                return self._decide(RequestContext(cluster, verb, resource, namespace, user_agent()),
                                    matched) if matched else NO_FAULT
        ua = user_agent() if self._by_user_agent or self._shapes_of is not rules else ""
        matched = self._matching(cluster, verb, resource, namespace, ua)
        if not matched:
            return NO_FAULT
        return self._decide(RequestContext(cluster, verb, resource, namespace, ua or user_agent()), matched)

    def _matching(self, cluster: str, verb: str, resource: str, namespace: str, user_agent: str) -> tuple[Rule, ...]:
        rules = self.rules
        if rules is not self._shapes_of or len(rules) != self._shapes_len:
            self._shapes = {}
            self._shapes_of, self._shapes_len = rules, len(rules)
            self._by_user_agent = any(r.match.user_agents for r in rules)
        key = (cluster, verb, resource, namespace, user_agent) if self._by_user_agent else (
            cluster, verb, resource, namespace)
        matched = self._shapes.get(key)
        if matched is None:
            ctx = RequestContext(cluster, verb, resource, namespace, user_agent)
            matched = tuple(r for r in rules if r.match.matches(ctx))
            if len(self._shapes) >= 65536:
                self._shapes.clear()
            self._shapes[key] = matched
        return matched

    def _decide(self, ctx: RequestContext, matched: tuple[Rule, ...]) -> Decision:
        decision: Decision | None = None
        elapsed = -1.0
        for rule in matched:
            if not rule.enabled:
                continue
            if rule.window is not None:
                if elapsed < 0:
                    elapsed = self.elapsed()
                if not rule.window.active(elapsed):
                    continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            if decision is None:
                decision = Decision()
            action = rule.action
            if action == "latency":
                assert rule.latency is not None
                decision.delay += rule.latency.sample(self.rng)
            elif action == "error":
                if decision.error is None and not decision.unreachable:
                    decision.error = _error_for(rule, ctx)
                else:
                    continue
            elif action == "unreachable":
                decision.unreachable = True
            elif action == "dropWatch":
                if ctx.verb != "watch":
                    continue
                decision.drop_watch_after = rule.after if decision.drop_watch_after is None else min(
                    decision.drop_watch_after, rule.after)
            elif action == "timeout":
                if decision.timeout_after is None:
                    decision.timeout_after = rule.after
            decision.rules.append(rule.name)
            self._record(rule.name, action, ctx)
        return decision or NO_FAULT

    def unreachable(self, ctx: RequestContext) -> Decision:
        """A cluster's non-resource paths (discovery, /version, /healthz): only an outage applies there,
        so a cluster that is down is down for every path, as a host that is off."""
        if self.offline and ctx.cluster in self.offline:
            self._record("offline", "unreachable", ctx)
            return Decision(unreachable=True, rules=["offline"])
        for rule in self.rules:
            if rule.action != "unreachable" or not rule.enabled or not rule.match.matches(ctx):
                continue
            if rule.window is not None and not rule.window.active(self.elapsed()):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            self._record(rule.name, "unreachable", ctx)
            return Decision(unreachable=True, rules=[rule.name])
        return NO_FAULT

    def storage_delay(self) -> float:
        return self.storage_latency.sample(self.rng) if self.storage_latency is not None else 0.0

    def _record(self, name: str, action: str, ctx: RequestContext) -> None:
        """Count and log one injected fault (``name``: the rule's, or "offline" for the admin toggle)."""
        key = (name, action)
        self.injected[key] = self.injected.get(key, 0) + 1
        entry = {"time": self.clock.now() if self.clock is not None else 0.0, "rule": name, "fault": action,
                 "request": {"cluster": ctx.cluster, "verb": ctx.verb, "resource": ctx.resource,
                             "namespace": ctx.namespace, "userAgent": ctx.user_agent}}
        self.log.append(entry)
        if len(self.log) > self.log_limit:
            del self.log[: len(self.log) - self.log_limit]
        if self.on_inject is not None:
            self.on_inject(entry)

    def log_lines(self) -> bytes:
        return b"".join(orjson.dumps(e) + b"\n" for e in self.log)
