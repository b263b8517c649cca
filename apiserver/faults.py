"""Fault plans: latency, errors, stalls, dropped watches, unreachable clusters and compaction.

A plan decides on a ``RequestContext`` (cluster, verb, resource, namespace, user agent), not on
HTTP, so an in-process client meets the same faults as one over a socket; the HTTP layer only
carries out the connection-level ones (reset, dropped stream). Decisions are drawn from one
seeded RNG in request order: the same seed and request sequence give the same faults.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
import yaml

from . import errors
from .clock import Clock
from .faultrules import (  # noqa: F401 (the rule model is re-exported: callers import it from here)
    ACTIONS, ERROR_CODES, VERBS, FaultPlanError, Latency, Match, RequestContext, Rule, Window, _mapping, _Where,
    parse_duration)
from .yamllines import load as load_yaml


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
        e = errors.timeout(rule.message or "request did not complete within the allowed duration", rule.retry_after or 1)
    if rule.retry_after and e.details is not None:
        e.details["retryAfterSeconds"] = rule.retry_after
        e.headers["Retry-After"] = str(rule.retry_after)
    elif rule.retry_after:
        e.details = {"retryAfterSeconds": rule.retry_after}
        e.headers["Retry-After"] = str(rule.retry_after)
    return e


MIN_COMPACTION_EVERY = 0.1  # below this the compactor would keep the loop busy and every watch in 410s


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
            if every < MIN_COMPACTION_EVERY:
                raise where.fail("compaction.every", f"must be at least {MIN_COMPACTION_EVERY * 1000:g}ms (each "
                                 f"compaction cuts every cluster's watch history; 0 is not 'off': leave it out)")
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
