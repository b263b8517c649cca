"""The building blocks of Table rows: column definitions, ages, accessors and formatting.

Shared by the built-in printers (``printers.py``) and custom resources' columns (``crcolumns.py``).
Ages are ``duration.HumanDuration`` strings from the caller's clock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable



_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of a name automatically. Name is primarily intended for "
             "creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_CREATED_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
                "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
                "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null "
                "for lists. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")

Cells = list[Any]
Conditions = list[dict[str, str]] | None
Printer = Callable[[dict[str, Any], float], tuple[Cells, Conditions]]


# --- durations and timestamps --------------------------------------------------------------

def human_duration(seconds: float) -> str:
    """apimachinery ``duration.HumanDuration``: "5s", "3m2s", "15m", "5h4m", "2d4h", "45d", "3y2d"."""
    s = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


@lru_cache(maxsize=4096)
def _parse_ts(ts: str) -> float | None:
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _since(ts: Any, now: float) -> str:
    """printers.go translateTimestampSince: "<unknown>" for a missing timestamp."""
    if not ts or not isinstance(ts, str):
        return "<unknown>"
    t = _parse_ts(ts)
    if t is None:
        return "<unknown>"
    return human_duration(now - t)


# --- small accessors -----------------------------------------------------------------------

def _d(obj: Any, *path: str) -> dict[str, Any]:
    for p in path:
        obj = obj.get(p) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _l(obj: Any, *path: str) -> list[Any]:
    for p in path:
        obj = obj.get(p) if isinstance(obj, dict) else None
    return obj if isinstance(obj, list) else []


def _i(v: Any, default: int = 0) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def _col(name: str, typ: str = "string", description: str = "", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": typ, "format": fmt, "description": description, "priority": priority}


_NAME_COL = _col("Name", "string", _NAME_DOC, fmt="name")
_AGE_COL = _col("Age", "string", _CREATED_DOC)
_CONTAINERS_COL = _col("Containers", "string", "Names of each container in the template.", 1)
_IMAGES_COL = _col("Images", "string", "Images referenced by each container in the template.", 1)


def _name(obj: dict[str, Any]) -> str:
    return str(_d(obj, "metadata").get("name", ""))


def _age(obj: dict[str, Any], now: float) -> str:
    return _since(_d(obj, "metadata").get("creationTimestamp"), now)


def _containers_images(obj: dict[str, Any]) -> tuple[str, str]:
    containers = [c for c in _l(obj, "spec", "template", "spec", "containers") if isinstance(c, dict)]
    return (",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers))


def format_label_selector(sel: Any) -> str:
    """metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key, "" for none."""
    if not isinstance(sel, dict):
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (sel.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for e in sel.get("matchExpressions") or []:
        if not isinstance(e, dict):
            continue
        k, op, values = e.get("key", ""), e.get("operator", ""), sorted(str(v) for v in e.get("values") or [])
        if op == "In":
            reqs.append((k, f"{k} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((k, f"{k} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((k, k))
        elif op == "DoesNotExist":
            reqs.append((k, f"!{k}"))
        else:
            return "<invalid>"
    reqs.sort(key=lambda r: r[0])
    return ",".join(r[1] for r in reqs)


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _format_selector(sel: Any) -> str:
    """metav1.FormatLabelSelector: "<none>" for an empty or missing selector, "<error>" for a bad one."""
    text = format_label_selector(sel)
    return "<error>" if text == "<invalid>" else text or "<none>"


def _more(items: list[str], limit: int = 3) -> str:
    """printers.go listWithMoreString: the first three items, then "+ N more..."; "<unset>" for none."""
    joined = ",".join(items[:limit])
    return f"{joined} + {len(items) - limit} more..." if len(items) > limit else joined or "<unset>"
