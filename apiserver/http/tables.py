"""Table responses (meta.k8s.io/v1 Table) for ``kubectl get`` and ``kubectl get -w``.

Column sets and cell formats follow kube-apiserver: the per-kind printers in
``pkg/printers/internalversion/printers.go`` for built-in kinds (always rendered "wide": the
server emits priority-1 cells too and kubectl hides them without ``-o wide``), the CRD table
convertor for custom resources (``additionalPrinterColumns``, else a single "Age" date column),
and the generic convertor (Name, Created At) for kinds without a printer (CRDs themselves).

Ages are ``duration.HumanDuration`` strings computed from the caller's clock, so a virtual or
scaled clock shows consistent ages. Rows carry PartialObjectMetadata by default, because kubectl
reads namespace and labels from it (``-A``, ``--show-labels``).
"""
from __future__ import annotations

import time
from typing import Any, Iterable

import orjson

from .. import errors
from ..objects import StoredObject
from ..resources import ResourceType
from .request import media_ranges
from .cells import Printer, format_label_selector, human_duration  # noqa: F401 (re-exported)
from .printers import PRINTERS, _DEFAULT_COLUMNS, _print_default, node_roles  # noqa: F401 (re-exported)
from .crcolumns import _cr_columns, _cr_printer, jsonpath_first, printer_columns_from_crd  # noqa: F401 (re-exported)


TABLE_V1 = "meta.k8s.io/v1"
TABLE_V1BETA1 = "meta.k8s.io/v1beta1"


# --- content negotiation -------------------------------------------------------------------

def table_api_version(accept: str) -> str | None:
    """The Table apiVersion the Accept header asks for, or None for a plain (non-Table) answer.

    Clauses are tried in order, like kube-apiserver's negotiation: the first one we can serve
    wins, so ``application/json`` listed before the Table clauses means a plain list. Clauses
    for representations we do not serve (protobuf, PartialObjectMetadataList) are skipped.
    """
    if not accept:
        return None
    for mtype, params in media_ranges(accept):
        if mtype not in ("application/json", "application/*", "*/*"):
            continue
        if "as" not in params:
            if "g" in params or "v" in params:
                continue
            return None
        if mtype == "application/json" and params["as"] == "Table" and params.get("g") == "meta.k8s.io":
            if params.get("v") == "v1":
                return TABLE_V1
            if params.get("v") == "v1beta1":
                return TABLE_V1BETA1
    return None


def wants_table(accept: str) -> bool:
    """True when the Accept header asks for a meta.k8s.io Table (v1 or v1beta1) before plain JSON."""
    return table_api_version(accept) is not None


# --- assembling Tables ---------------------------------------------------------------------

def _printer_for(rtype: ResourceType, printer_columns: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], Printer]:
    if rtype.custom:
        return _cr_columns(printer_columns), _cr_printer(printer_columns)
    return PRINTERS.get((rtype.group, rtype.kind), (_DEFAULT_COLUMNS, _print_default))


def column_definitions(rtype: ResourceType, printer_columns: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The Table columnDefinitions for a kind (copies; safe to modify)."""
    return [dict(c) for c in _printer_for(rtype, printer_columns)[0]]


def check_include_object(include_object: str) -> str:
    """Validate ``includeObject`` up front (a watch should fail with 400 before streaming)."""
    if include_object in ("", "Metadata"):
        return "Metadata"
    if include_object in ("Object", "None"):
        return include_object
    raise errors.bad_request(f'unrecognized includeObject value: "{include_object}"')


def _row(rtype: ResourceType, obj: dict[str, Any], printer: Printer, include: str, now: float,
         api_version: str) -> dict[str, Any]:
    cells, conditions = printer(obj, now)
    row: dict[str, Any] = {"cells": cells}
    if conditions:
        row["conditions"] = [dict(c) for c in conditions]
    if include == "Metadata":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj.get("metadata", {})}
    elif include == "Object":
        if rtype.custom and obj.get("apiVersion") != rtype.api_version:
            obj = {**obj, "apiVersion": rtype.api_version}
        row["object"] = obj
    else:
        row["object"] = None
    return row


def table_rows(rtype: ResourceType, items: Iterable[StoredObject], include_object: str = "Metadata",
               now: float | None = None, printer_columns: list[dict[str, Any]] | None = None,
               api_version: str = TABLE_V1) -> list[dict[str, Any]]:
    """Just the rows (for callers assembling their own Table)."""
    include = check_include_object(include_object)
    t = time.time() if now is None else now
    printer = _printer_for(rtype, printer_columns)[1]
    return [_row(rtype, o.decode(), printer, include, t, api_version) for o in items]


def table_for_list(rtype: ResourceType, items: list[StoredObject], list_meta: dict[str, Any],
                   include_object: str = "Metadata", now: float | None = None,
                   printer_columns: list[dict[str, Any]] | None = None, api_version: str = TABLE_V1) -> bytes:
    """A full Table for a list (or a single-object GET: pass one item and its RV as list_meta).

    ``list_meta`` becomes the Table's metadata (resourceVersion, continue, remainingItemCount).
    Raises a 400 StatusError for an unknown ``includeObject``.
    """
    cols, printer = _printer_for(rtype, printer_columns)
    include = check_include_object(include_object)
    t = time.time() if now is None else now
    table = {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": dict(list_meta),
        "columnDefinitions": cols,
        "rows": [_row(rtype, o.decode(), printer, include, t, api_version) for o in items],
    }
    return orjson.dumps(table)


def table_for_watch_event(rtype: ResourceType, obj: StoredObject, first: bool, include_object: str = "Metadata",
                          now: float | None = None, printer_columns: list[dict[str, Any]] | None = None,
                          api_version: str = TABLE_V1) -> dict[str, Any]:
    """The one-row Table a watch event carries; only the first event has columnDefinitions.

    Later events have ``columnDefinitions: null`` (kube-apiserver sets noHeaders after the first
    event; kubectl keeps using the columns it already has).
    """
    cols, printer = _printer_for(rtype, printer_columns)
    include = check_include_object(include_object)
    t = time.time() if now is None else now
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": str(obj.rv)},
        "columnDefinitions": cols if first else None,
        "rows": [_row(rtype, obj.decode(), printer, include, t, api_version)],
    }

