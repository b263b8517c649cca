"""Custom resources' Table columns: a CRD's ``additionalPrinterColumns`` and the JSONPath subset they use."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from .cells import Cells, Conditions, Printer, _CREATED_DOC, _NAME_COL, _i, _l, _name, _parse_ts, human_duration

# --- custom resources: additionalPrinterColumns --------------------------------------------

_DEFAULT_CR_COLUMNS = [{"name": "Age", "type": "date", "description": _CREATED_DOC,
                        "jsonPath": ".metadata.creationTimestamp"}]


def printer_columns_from_crd(crd: dict[str, Any], version: str) -> list[dict[str, Any]]:
    """A CRD's additionalPrinterColumns for one version ([] when it has none)."""
    for v in _l(crd, "spec", "versions"):
        if isinstance(v, dict) and v.get("name") == version:
            return [c for c in v.get("additionalPrinterColumns") or [] if isinstance(c, dict)]
    return []


_TOKEN = re.compile(r"""
    \.\.                                     # recursive descent (unsupported)
  | \.(?P<field>[^.\[\]]+)                   # .field
  | \[\s*(?P<q>['"])(?P<key>.*?)(?P=q)\s*\]   # ['key']
  | \[\s*\?\(\s*(?P<filter>.*?)\s*\)\s*\]    # [?(@.a=="b")]
  | \[\s*(?P<index>-?\d+|\*)\s*\]            # [0], [*]
  | \[\s*(?P<start>-?\d*)\s*:\s*(?P<end>-?\d*)\s*\]  # [1:3]
""", re.VERBOSE)
_FILTER = re.compile(r"""^@((?:\.[^.\s=!<>]+)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$""")


@lru_cache(maxsize=512)
def _compile_path(path: str) -> tuple[tuple[str, Any], ...] | None:
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1].strip()
    if p.startswith("$"):
        p = p[1:]
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(p):
        m = _TOKEN.match(p, pos)
        if m is None or m.group(0) == "..":
            return None
        if m.group("field") is not None:
            steps.append(("field", m.group("field")))
        elif m.group("key") is not None:
            steps.append(("field", m.group("key")))
        elif m.group("filter") is not None:
            f = _FILTER.match(m.group("filter"))
            if f is None:
                return None
            sub = tuple(f.group(1)[1:].split("."))
            literal: Any = None
            if f.group(2):
                raw = f.group(3).strip()
                if raw[:1] in "'\"" and raw[-1:] == raw[:1]:
                    literal = raw[1:-1]
                else:
                    try:
                        literal = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        return None
            steps.append(("filter", (sub, f.group(2), literal)))
        elif m.group("index") is not None:
            idx = m.group("index")
            steps.append(("all", None) if idx == "*" else ("index", int(idx)))
        else:
            start, end = m.group("start"), m.group("end")
            steps.append(("slice", (int(start) if start else None, int(end) if end else None)))
        pos = m.end()
    return tuple(steps)


def _filter_ok(item: Any, sub: tuple[str, ...], op: str | None, literal: Any) -> bool:
    v: Any = item
    for k in sub:
        if not isinstance(v, dict) or k not in v:
            return False
        v = v[k]
    if op is None:
        return True
    if op == "==":
        return v == literal
    if op == "!=":
        return v != literal
    try:
        return {"<": v < literal, ">": v > literal, "<=": v <= literal, ">=": v >= literal}[op]
    except TypeError:
        return False


def jsonpath_first(obj: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of the first result of a simple kubectl JSONPath (what printer columns use)."""
    steps = _compile_path(path)
    if steps is None:
        return False, None
    current = [obj]
    for kind, arg in steps:
        nxt: list[Any] = []
        for v in current:
            if kind == "field":
                if isinstance(v, dict) and arg in v:
                    nxt.append(v[arg])
            elif kind == "index":
                if isinstance(v, list) and -len(v) <= arg < len(v):
                    nxt.append(v[arg])
            elif kind == "all":
                if isinstance(v, list):
                    nxt.extend(v)
                elif isinstance(v, dict):
                    nxt.extend(v.values())
            elif kind == "slice":
                if isinstance(v, list):
                    nxt.extend(v[arg[0]:arg[1]])
            elif kind == "filter":
                if isinstance(v, list):
                    nxt.extend(x for x in v if _filter_ok(x, *arg))
        current = nxt
        if not current:
            return False, None
    return True, current[0]


def _go_format(v: Any) -> str:
    """fmt.Fprint of a decoded JSON value, as kubectl's JSONPath printer writes it."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, list):
        return "[" + " ".join(_go_format(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_format(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _cr_cell(typ: str, found: bool, value: Any, now: float) -> Any:
    """apiextensions tableconvertor: string columns via the JSONPath printer, others via cellForJSONValue."""
    if not found:
        return None
    if typ == "string":
        return _go_format(value)
    if value is None:
        return None
    if typ == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if typ == "number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if typ == "boolean":
        return value if isinstance(value, bool) else None
    if typ == "date":
        if not isinstance(value, str):
            return None
        t = _parse_ts(value)
        return "<invalid>" if t is None else human_duration(now - t)
    return None


def _cr_columns(printer_columns: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    cols = printer_columns or _DEFAULT_CR_COLUMNS
    out = [_NAME_COL]
    for c in cols:
        out.append({"name": str(c.get("name", "")), "type": str(c.get("type", "string")),
                    "format": str(c.get("format", "") or ""), "description": str(c.get("description", "") or ""),
                    "priority": _i(c.get("priority"))})
    return out


def _cr_printer(printer_columns: list[dict[str, Any]] | None) -> Printer:
    cols = printer_columns or _DEFAULT_CR_COLUMNS

    def printer(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
        cells: Cells = [_name(obj)]
        for c in cols:
            found, value = jsonpath_first(obj, str(c.get("jsonPath", "")))
            cells.append(_cr_cell(str(c.get("type", "string")), found, value, now))
        return cells, None

    return printer


