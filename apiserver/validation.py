"""Object validation as kube-apiserver does it: names, labels, and the metadata rules of writes."""
from __future__ import annotations

import functools
import re
from typing import Any

from . import errors
from .resources import ResourceType

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

_label_re = re.compile(_DNS1123_LABEL + r"\Z")
_subdomain_re = re.compile(_DNS1123_SUBDOMAIN + r"\Z")
_dns1035_re = re.compile(_DNS1035_LABEL + r"\Z")
_qualified_re = re.compile(_QUALIFIED_NAME + r"\Z")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 f"validation is '{_DNS1123_SUBDOMAIN}')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             f"start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             f"validation is '{_DNS1123_LABEL}')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               f"regex used for validation is '{_DNS1035_LABEL}')")
QUALIFIED_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                 f"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                 f"validation is '{_QUALIFIED_NAME}')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   f"'12345', regex used for validation is '({_QUALIFIED_NAME})?')")

# Upstream validates most names as DNS-1123 subdomains; these kinds are stricter.
_NAME_RULE = {"namespaces": "label", "services": "dns1035"}


def _invalid_value(field: str, value: Any, detail: str) -> dict[str, str]:
    return errors.field_error(field, "FieldValueInvalid", f'Invalid value: "{value}": {detail}')


def name_errors(rtype: ResourceType, name: str, field: str = "metadata.name") -> list[dict[str, str]]:
    rule = "subdomain" if rtype.group else _NAME_RULE.get(rtype.plural, "subdomain")
    out = []
    if rule == "label":
        if len(name) > 63:
            out.append(_invalid_value(field, name, "must be no more than 63 characters"))
        if not _label_re.match(name):
            out.append(_invalid_value(field, name, LABEL_MSG))
    elif rule == "dns1035":
        if len(name) > 63:
            out.append(_invalid_value(field, name, "must be no more than 63 characters"))
        if not _dns1035_re.match(name):
            out.append(_invalid_value(field, name, DNS1035_MSG))
    else:
        if len(name) > 253:
            out.append(_invalid_value(field, name, "must be no more than 253 characters"))
        if not _subdomain_re.match(name):
            out.append(_invalid_value(field, name, SUBDOMAIN_MSG))
    return out


def label_errors(labels: Any, field: str = "metadata.labels") -> list[dict[str, str]]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [errors.field_error(field, "FieldValueInvalid", "Invalid value: must be a map of strings")]
    out = []
    for k, v in labels.items():
        if k.__class__ is str and v.__class__ is str and _valid_label(k, v):
            continue  # memoised: a workload's pods repeat the same labels
        out.extend(qualified_name_errors(k, field))
        if not isinstance(v, str):
            out.append(_invalid_value(field, v, "must be a string"))
        elif len(v) > 63 or (v and not _qualified_re.match(v)):
            out.append(_invalid_value(field, v, LABEL_VALUE_MSG if len(v) <= 63 else "must be no more than 63 characters"))
    return out


@functools.lru_cache(maxsize=1 << 14)
def _valid_label(key: str, value: str) -> bool:
    """A pure check, memoised (bounded): the label pair is valid."""
    return not qualified_name_errors(key, "") and len(value) <= 63 and (not value or bool(_qualified_re.match(value)))


def qualified_name_errors(key: Any, field: str) -> list[dict[str, str]]:
    if not isinstance(key, str) or not key:
        return [_invalid_value(field, key, "name part must be non-empty")]
    prefix, _, name = key.rpartition("/")
    out = []
    if "/" in key:
        if not prefix or len(prefix) > 253 or not _subdomain_re.match(prefix):
            out.append(_invalid_value(field, key, "prefix part " + SUBDOMAIN_MSG))
    if not name or len(name) > 63 or not _qualified_re.match(name):
        out.append(_invalid_value(field, key, QUALIFIED_MSG if name and len(name) <= 63
                                  else "name part must be no more than 63 characters" if name
                                  else "name part must be non-empty"))
    return out


def annotation_errors(annotations: Any) -> list[dict[str, str]]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [errors.field_error("metadata.annotations", "FieldValueInvalid", "Invalid value: must be a map")]
    out = []
    total = 0
    for k, v in annotations.items():
        out.extend(qualified_name_errors(k, "metadata.annotations"))
        if not isinstance(v, str):
            out.append(_invalid_value("metadata.annotations", k, "annotation values must be strings"))
        else:
            total += len(k) + len(v)
    if total > 256 * 1024:
        out.append(errors.field_error("metadata.annotations", "FieldValueTooLong",
                                      "Too long: must have at most 262144 bytes"))
    return out


def validate_metadata(rtype: ResourceType, obj: dict[str, Any], name: str) -> None:
    """422 Invalid (upstream's message and causes) for a bad name, labels or annotations."""
    meta = obj.get("metadata") or {}
    causes = name_errors(rtype, name) if name else []
    causes += label_errors(meta.get("labels"))
    causes += annotation_errors(meta.get("annotations"))
    fin = meta.get("finalizers")
    if fin is not None and (not isinstance(fin, list) or not all(isinstance(f, str) for f in fin)):
        causes.append(errors.field_error("metadata.finalizers", "FieldValueInvalid", "Invalid value: must be a list of strings"))
    if rtype.plural == "customresourcedefinitions":
        spec = obj.get("spec") or {}
        want = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
        if name != want:
            causes.append(_invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
        if not (spec.get("versions") or []):
            causes.append(errors.field_error("spec.versions", "FieldValueRequired", "Required value: must have exactly one version marked as storage version"))
    if causes:
        raise errors.invalid(rtype.kind, rtype.group, name, causes)


def require_mapping(value: Any, what: str = "the object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.bad_request(f"{what} must be a JSON object")
    meta = value.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta:  # upstream fails to decode these (400), e.g. "json: cannot unmarshal number into ... of type string"
        for f in ("name", "generateName", "namespace", "resourceVersion", "uid"):
            v = meta.get(f)
            if v is not None and not isinstance(v, str):
                go = ("bool" if isinstance(v, bool) else "number" if isinstance(v, (int, float))
                      else "array" if isinstance(v, list) else "object")
                raise errors.bad_request(f"json: cannot unmarshal {go} into Go struct field "
                                         f"ObjectMeta.metadata.{f} of type string")
    return value
