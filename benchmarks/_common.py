"""Helpers shared by the benchmark modules: timing, memory, child processes, the results file.

Every benchmark prints a readable table, then (as its LAST line) one JSON object with its
figures, and can rewrite its own section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import fcntl
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

RESULTS = Path(__file__).with_name("RESULTS.md")
RESULTS_TITLE = "# kubesim benchmark results"


# ---- machine ------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "cpu": cpu_model(),
            "platform": platform.platform(terse=True)}


def machine_line() -> str:
    m = machine()
    return f"nproc={m['nproc']}, {m['implementation']} {m['python']}, {m['cpu']}, {m['platform']}"


# ---- timing -------------------------------------------------------------------------------
# CPU time of the calling thread: what one core spends, whatever else the machine is running
# (benchmarks here are single-threaded and in process; a shared CI box or laptop is noisy).
CLOCK = time.thread_time


def timed(fn: Callable[[], Any], clock: Callable[[], float] = CLOCK) -> float:
    """Seconds one call of ``fn`` takes (garbage collection off while it runs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = clock()
        fn()
        return clock() - t0
    finally:
        if enabled:
            gc.enable()


def repeat(fn: Callable[[], Any], *, runs: int, warmup: int = 1,
           clock: Callable[[], float] = CLOCK) -> list[float]:
    """Seconds per call over ``runs`` calls, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    return [timed(fn, clock) for _ in range(runs)]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


# ---- memory -------------------------------------------------------------------------------
def rss_bytes() -> int:
    """Resident set size now (Linux /proc; falls back to the peak on other systems)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class RssDelta:
    """``with RssDelta() as m: ...`` then ``m.bytes``: RSS growth across the block, after full GCs."""

    def __enter__(self) -> "RssDelta":
        gc.collect()
        self.before = rss_bytes()
        self.bytes = 0
        return self

    def __exit__(self, *exc: Any) -> None:
        gc.collect()
        self.bytes = rss_bytes() - self.before


def run_child(module: str, args: Iterable[str], *, timeout: float = 900) -> dict[str, Any]:
    """Run ``python -m module ARGS`` in a fresh interpreter; its last stdout line is a JSON object."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"child {module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_children(module: str, jobs: Sequence[Sequence[str]], *, parallel: int = 1,
                 timeout: float = 900) -> list[dict[str, Any]]:
    """Several children, at most ``parallel`` at a time; results in ``jobs`` order."""
    if parallel <= 1:
        return [run_child(module, j, timeout=timeout) for j in jobs]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda j: run_child(module, j, timeout=timeout), jobs))


# ---- output -------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    value: str
    reference: str = ""
    target: str = ""
    verdict: str = ""


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "FAIL")


def format_table(rows: Sequence[Row], *, markdown: bool = False) -> str:
    head = ("figure", "kubesim", "reference (same run)", "target", "")
    cells = [head] + [(r.name, r.value, r.reference, r.target, r.verdict) for r in rows]
    if markdown:
        out = ["| " + " | ".join(head[:4]) + " | result |", "|" + "---|" * 5]
        out += ["| " + " | ".join(c) + " |" for c in cells[1:]]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(5)).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the ``## name`` section of the results file, leaving the others alone."""
    path.touch(exist_ok=True)
    with open(path, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read()
        if not text.strip():
            text = RESULTS_TITLE + "\n"
        section = f"## {name}\n\n{body.strip()}\n"
        pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + section
        f.seek(0)
        f.write(text)
        f.truncate()


def command_line(module: str, argv: Sequence[str]) -> str:
    return " ".join(["python -m", module, *argv]).strip()


def install_uvloop() -> str:
    """Run asyncio on uvloop when it is installed (as kubesim serve does); returns the loop's name."""
    import asyncio
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _task_cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid``: /proc's schedstat in nanoseconds (stat's 10 ms ticks come
    to ~1% of a 2 s run: more than the differences measured here), ticks where schedstat is missing."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
        total = 0
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except FileNotFoundError:  # the thread ended
                pass
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK


def process_cpu_seconds(pid: int, *, children: bool = True) -> float:
    """CPU time of ``pid`` (and, with ``children``, of its descendants: nginx's master and worker)."""
    try:
        total = _task_cpu_seconds(pid)
    except (OSError, ValueError, IndexError):
        return 0.0
    if not children:
        return total
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return total
    return total + sum(process_cpu_seconds(c) for c in kids)

