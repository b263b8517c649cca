"""The fault plan below HTTP: parsing, validation messages, matching, windows, determinism, percentiles."""
from __future__ import annotations

import statistics

import pytest
import yaml

from apiserver.clock import ManualClock
from apiserver.faults import FaultPlan, FaultPlanError, RequestContext

PLAN = """
seed: 7
rules:
  - name: slow-pod-lists
    match: {clusters: ["wl-*"], verbs: [list], resources: [pods]}
    latency: {p50: 50ms, p99: 400ms}
  - name: throttle-writes
    match: {verbs: [create, update, patch, delete]}
    error: {code: 429, probability: 0.1, retryAfterSeconds: 1}
  - name: wl-3-down
    match: {clusters: [wl-3]}
    unreachable: {}
    window: {start: 30s, duration: 60s}
  - name: drop-watches
    match: {verbs: [watch]}
    dropWatch: {after: 20s}
  - name: stall
    match: {verbs: [get]}
    timeout: {probability: 0.01}
compaction: {every: 60s}
storage: {latency: {fixed: 2ms}}
"""


def plan(text: str = PLAN, clock: ManualClock | None = None) -> FaultPlan:
    return FaultPlan.from_dict(yaml.safe_load(text), "plan.yaml", clock or ManualClock())


def test_issue_example_parses_and_round_trips() -> None:
    p = plan()
    assert [r.name for r in p.rules] == ["slow-pod-lists", "throttle-writes", "wl-3-down", "drop-watches", "stall"]
    assert p.compaction_every == 60 and p.storage_latency is not None and p.storage_latency.a == 0.002
    again = FaultPlan.from_dict(p.to_dict(), "round-trip")
    assert again.to_dict() == p.to_dict()


def test_match_globs_verbs_resources() -> None:
    p = plan()
    assert p.decide(RequestContext("wl-1", "list", "pods")).delay > 0
    assert p.decide(RequestContext("mgmt", "list", "pods")).delay == 0
    assert p.decide(RequestContext("wl-1", "list", "nodes")).delay == 0
    assert p.decide(RequestContext("wl-1", "watch", "pods")).drop_watch_after == 20


def test_window_start_and_duration() -> None:
    clock = ManualClock()
    p = plan(clock=clock)
    ctx = RequestContext("wl-3", "list", "nodes")
    assert not p.decide(ctx).unreachable
    clock.advance(30)
    assert p.decide(ctx).unreachable
    clock.advance(60)
    assert not p.decide(ctx).unreachable


def test_periodic_window() -> None:
    clock = ManualClock()
    p = FaultPlan.from_dict({"rules": [{"name": "blip", "unreachable": {},
                                        "window": {"every": "5m", "duration": "30s"}}]}, "p", clock)
    seen = []
    for _ in range(20):
        seen.append(p.decide(RequestContext("c", "get")).unreachable)
        clock.advance(30)
    assert seen == [True, False, False, False, False, False, False, False, False, False] * 2


def test_same_seed_same_faults_and_different_seed_differs() -> None:
    def run(seed: int) -> list[bool]:
        p = FaultPlan.from_dict({"seed": seed, "rules": [{"name": "e", "error": {"code": 503, "probability": 0.3}}]},
                                "p")
        return [p.decide(RequestContext("c", "get", "pods")).error is not None for _ in range(500)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 100 < sum(run(1)) < 200


def test_error_shapes_match_kube_apiserver() -> None:
    p = FaultPlan.from_dict({"rules": [{"name": "t", "error": {"code": 429, "retryAfterSeconds": 3}}]}, "p")
    err = p.decide(RequestContext("c", "create", "pods", "default")).error
    assert err is not None and err.code == 429 and err.reason == "TooManyRequests"
    assert err.headers["Retry-After"] == "3" and err.status()["details"]["retryAfterSeconds"] == 3
    for code, reason in ((500, "InternalError"), (503, "ServiceUnavailable"), (504, "Timeout"), (409, "Conflict")):
        p = FaultPlan.from_dict({"rules": [{"name": "x", "error": {"code": code}}]}, "p")
        e = p.decide(RequestContext("c", "update", "pods", "default")).error
        assert e is not None and (e.code, e.reason) == (code, reason)


def test_latency_percentiles_within_tolerance() -> None:
    p = FaultPlan.from_dict({"seed": 3, "rules": [{"name": "l", "latency": {"p50": "50ms", "p99": "400ms"}}]}, "p")
    samples = sorted(p.decide(RequestContext("c", "get")).delay for _ in range(20_000))
    p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    assert 0.045 < p50 < 0.055
    assert 0.34 < p99 < 0.46
    u = FaultPlan.from_dict({"rules": [{"name": "u", "latency": {"uniform": ["10ms", "30ms"]}}]}, "p")
    us = [u.decide(RequestContext("c", "get")).delay for _ in range(5000)]
    assert 0.01 <= min(us) and max(us) <= 0.03 and abs(statistics.mean(us) - 0.02) < 0.001


def test_log_and_counts() -> None:
    clock = ManualClock()
    p = FaultPlan.from_dict({"rules": [{"name": "e", "match": {"resources": ["pods"]}, "error": {"code": 500}}]},
                            "p", clock)
    p.decide(RequestContext("c1", "get", "pods", "ns", "kubectl/v1.37"))
    p.decide(RequestContext("c1", "get", "nodes"))
    assert p.injected == {("e", "error"): 1}
    assert p.log == [{"time": clock.now(), "rule": "e", "fault": "error",
                      "request": {"cluster": "c1", "verb": "get", "resource": "pods", "namespace": "ns",
                                  "userAgent": "kubectl/v1.37"}}]


def test_disabled_rule_and_offline_cluster() -> None:
    p = FaultPlan.from_dict({"rules": [{"name": "e", "enabled": False, "error": {"code": 500}}]}, "p")
    assert not p.decide(RequestContext("c", "get")).any
    p.offline.add("c")
    assert p.decide(RequestContext("c", "get")).unreachable
    assert not p.decide(RequestContext("d", "get")).any


@pytest.mark.parametrize("doc, message", [
    ({"rules": [{"name": "a", "latency": {"fixed": "2x"}}]},
     "plan.yaml: rule 'a': latency.fixed: expected a duration"),
    ({"rules": [{"name": "a", "error": {"code": 429, "probability": 1.5}}]},
     "plan.yaml: rule 'a': error.probability: a probability must be a number in [0, 1], got 1.5"),
    ({"rules": [{"name": "a", "match": {"verbs": ["fetch"]}, "unreachable": {}}]},
     "plan.yaml: rule 'a': match.verbs: unknown verb 'fetch'"),
    ({"rules": [{"name": "a", "bogus": 1, "unreachable": {}}]}, "plan.yaml: rule 'a': bogus: unknown key"),
    ({"rules": [{"name": "a", "error": {"code": 418}}]}, "plan.yaml: rule 'a': error.code: expected one of"),
    ({"rules": [{"name": "a"}]}, "plan.yaml: rule 'a': rule: needs exactly one action"),
    ({"rules": [{"latency": {"fixed": "1ms"}}]}, "plan.yaml: rule '#0': name: every rule needs a name"),
    ({"rules": [{"name": "a", "unreachable": {}}, {"name": "a", "unreachable": {}}]},
     "plan.yaml: rules: duplicate rule names: a"),
    ({"compaction": {"every": "0s"}}, "plan.yaml: compaction.every: must be at least 100ms"),
    ({"compaction": {"every": "5ms"}}, "plan.yaml: compaction.every: must be at least 100ms"),
    ({"storage": {"latency": {"p50": "5ms", "p99": "1ms"}}}, "plan.yaml: storage.latency.p99: p99 must not be below p50"),
    ({"seeds": 1}, "plan.yaml: seeds: unknown key"),
])
def test_validation_names_file_rule_and_field(doc: dict, message: str) -> None:
    with pytest.raises(FaultPlanError) as e:
        FaultPlan.from_dict(doc, "plan.yaml")
    assert str(e.value).startswith(message)


def test_load_reports_yaml_line(tmp_path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("seed: 1\nrules:\n  - name: a\n    latency: {fixed: [\n")
    with pytest.raises(FaultPlanError) as e:
        FaultPlan.load(str(f))
    assert str(f) in str(e.value) and "line" in str(e.value)


def test_field_errors_carry_the_yaml_line(tmp_path) -> None:
    f = tmp_path / "plan.yaml"
    f.write_text("seed: 1\nrules:\n  - name: ok\n    latency: {fixed: 1ms}\n  - name: bad\n"
                 "    match: {verbs: [get]}\n    error:\n      code: 429\n      probability: 7\n")
    with pytest.raises(FaultPlanError) as e:
        FaultPlan.load(str(f))
    assert str(e.value).startswith(f"{f}:9: rule 'bad': error.probability: a probability must be")
