"""Label and field selectors: kube-apiserver's grammar, matching rules and error text.

A selector is parsed once per request but matched once per object per list and per watch
event, so the work happens at parse time: equality terms become ``(key, value)`` pairs, every
other term a small closure, and ``matches`` is two tight loops over them.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .errors import bad_request

__all__ = ["FieldRequirement", "FieldSelector", "LabelRequirement", "LabelSelector"]

# Operator names of apimachinery's ``selection`` package (they appear in its error messages).
IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_BINARY = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_OP_TOKENS = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS,
              ">": GREATER_THAN, "<": LESS_THAN}
_DICT_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
_POSITIVE = (EQUALS, DOUBLE_EQUALS, IN)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream's ``RegexError`` wording, its double space before "or" included."""
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_VALUE_FMT = f"({_NAME_FMT})?"
_DNS_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_NAME_RE, _VALUE_RE, _DNS_RE = re.compile(_NAME_FMT), re.compile(_VALUE_FMT), re.compile(_DNS_FMT)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_KEY_ERR = _regex_error("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                        "with an alphanumeric character", _NAME_FMT, "MyName", "my.name", "123-abc")
_VALUE_ERR = _regex_error("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                          "'_' or '.', and must start and end with an alphanumeric character",
                          _VALUE_FMT, "MyValue", "my_value", "12345")
_DNS_ERR = _regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                        "'-' or '.', and must start and end with an alphanumeric character", _DNS_FMT, "example.com")
_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}


def _quote(s: str) -> str:
    """Go's ``%q``, which upstream uses to show the offending value."""
    def one(c: str) -> str:
        n = ord(c)
        if c in _GO_ESCAPES or c.isprintable():
            return _GO_ESCAPES.get(c, c)
        return f"\\x{n:02x}" if n < 0x80 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
    return '"' + "".join(map(one, s)) + '"'


def _invalid(path: str, shown: str, detail: str) -> str:
    return f"{path}: Invalid value: {shown}: {detail}"


def _key_errors(key: str) -> list[str]:
    """``IsQualifiedName``: an optional DNS-1123 subdomain prefix and "/", then a name of at most 63 bytes."""
    parts = key.split("/")
    if len(parts) > 2:
        return [f"a valid label key {_KEY_ERR} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    errs: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            if len(parts[0].encode()) > 253:
                errs.append("prefix part must be no more than 253 bytes")
            if not _DNS_RE.fullmatch(parts[0]):
                errs.append("prefix part " + _DNS_ERR)
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _NAME_RE.fullmatch(name):
        errs.append("name part " + _KEY_ERR)
    return errs


def _value_errors(value: str) -> list[str]:
    errs = ["must be no more than 63 bytes"] if len(value.encode()) > 63 else []
    return errs if _VALUE_RE.fullmatch(value) else errs + [_VALUE_ERR]


def _int64(s: str | None) -> int | None:
    """Go's ``strconv.ParseInt(s, 10, 64)``; Python's ``int`` would also take spaces and underscores."""
    if s is None or not _INT_RE.fullmatch(s):
        return None
    n = int(s)
    return n if -(1 << 63) <= n < (1 << 63) else None


class _ParseError(Exception):
    pass


class LabelRequirement(NamedTuple):
    key: str
    operator: str  # IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN
    values: tuple[str, ...]  # sorted

    def __str__(self) -> str:
        op, vals = self.operator, ",".join(self.values)
        if op in (EXISTS, DOES_NOT_EXIST):
            return ("!" if op == DOES_NOT_EXIST else "") + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({vals})"
        return self.key + {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op) + vals


def _requirement(key: str, op: str, values: list[str]) -> LabelRequirement:
    """``labels.NewRequirement``: checks everything and reports every problem, as upstream's aggregate does."""
    errs = [_invalid("key", _quote(key), "; ".join(e))] if (e := _key_errors(key)) else []
    shown = json.dumps(values, separators=(",", ":"), ensure_ascii=False) if values else "null"
    if op in (IN, NOT_IN) and not values:
        errs.append(_invalid("values", shown, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        errs.append(_invalid("values", shown, "exact-match compatibility requires one single value"))
    elif op in (EXISTS, DOES_NOT_EXIST) and values:
        errs.append(_invalid("values", shown, "values set must be empty for exists and does not exist"))
    elif op in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            errs.append(_invalid("values", shown, "for 'Gt', 'Lt' operators, exactly one value is required"))
        errs += [_invalid(f"values[{i}]", _quote(v), "for 'Gt', 'Lt' operators, the value must be an integer")
                 for i, v in enumerate(values) if _int64(v) is None]
    errs += [_invalid(f"values[{i}][{key}]", _quote(v), "; ".join(e))
             for i, v in enumerate(values) if (e := _value_errors(v))]
    if errs:
        unique = list(dict.fromkeys(errs))
        raise _ParseError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")
    return LabelRequirement(key, op, tuple(sorted(values)))


def _checker(req: LabelRequirement) -> Callable[[Mapping[str, str]], bool]:
    """A closure for ``matches``; ``!=``/``notin`` pass when the key is absent (``get`` gives None)."""
    key, op, values = req
    if op == EXISTS:
        return lambda ls: key in ls
    if op == DOES_NOT_EXIST:
        return lambda ls: key not in ls
    if op in (GREATER_THAN, LESS_THAN):  # the label must be there and hold an int64 too
        bound = _int64(values[0])
        assert bound is not None
        if op == GREATER_THAN:
            return lambda ls: (n := _int64(ls.get(key))) is not None and n > bound
        return lambda ls: (n := _int64(ls.get(key))) is not None and n < bound
    negate = op in (NOT_IN, NOT_EQUALS)
    if len(values) == 1:
        v = values[0]
        return (lambda ls: ls.get(key) != v) if negate else (lambda ls: ls.get(key) == v)
    s = frozenset(values)
    return (lambda ls: ls.get(key) not in s) if negate else (lambda ls: ls.get(key) in s)


# Optional whitespace, then a two-character operator, a one-character symbol, an identifier
# (anything up to whitespace or a symbol), or the end of the text: upstream's lexer.
_TOKEN = re.compile(r"[ \t\r\n]*(?:(==|!=|[=!(),<>])|([^ \t\r\n=!(),<>]+)|\Z)")
_ID, _EOS = "identifier", "end of string"


class _Parser:
    """apimachinery's recursive-descent parser; ``in``/``notin`` are plain identifiers except as operators."""

    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str]] = []
        self.pos = 0
        for m in _TOKEN.finditer(text):  # the last match is the end of the text
            self.items.append((m[1], m[1]) if m[1] else (_ID, m[2]) if m[2] else (_EOS, ""))
            if not (m[1] or m[2]):
                break

    def peek(self) -> tuple[str, str]:
        return self.items[self.pos]

    def take(self) -> tuple[str, str]:
        self.pos += 1
        return self.items[self.pos - 1]

    def parse(self) -> list[LabelRequirement]:
        reqs: list[LabelRequirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _EOS:
                return reqs
            if tok not in (_ID, "!"):
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except _ParseError as e:
                raise _ParseError(f"unable to parse requirement: {e}") from None
            tok, lit = self.take()
            if tok == _EOS:
                return reqs
            if tok != ",":
                raise _ParseError(f"found '{lit}', expected: ',' or 'end of string'")
            if (after := self.peek())[0] not in (_ID, "!"):
                raise _ParseError(f"found '{after[1]}', expected: identifier after ','")

    def requirement(self) -> LabelRequirement:
        tok, key = self.take()
        if negated := tok == "!":
            tok, key = self.take()
        if tok != _ID:
            raise _ParseError(f"found '{key}', expected: identifier")
        if errs := _key_errors(key):
            raise _ParseError(_invalid("<nil>", _quote(key), "; ".join(errs)))
        if negated or self.peek()[0] in (_EOS, ","):  # "!k=v" fails later, at the "="
            return _requirement(key, DOES_NOT_EXIST if negated else EXISTS, [])
        tok, lit = self.take()
        if (op := _OP_TOKENS.get(lit)) is None:  # symbols are their own literal; "in"/"notin" are identifiers
            raise _ParseError(f"found '{lit}', expected: {', '.join(_BINARY)}")
        return _requirement(key, op, sorted(self.value_set() if op in (IN, NOT_IN) else self.exact_value()))

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_EOS, ","):
            return {""}
        tok, lit = self.take()
        if tok != _ID:
            raise _ParseError(f"found '{lit}', expected: identifier")
        return {lit}

    def value_set(self) -> set[str]:
        """``(a,b)``; empty strings count: ``()``, ``(,a)``, ``(a,,b)`` and ``(a,)`` all hold ""."""
        tok, lit = self.take()
        if tok != "(":
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == ")":
            self.take()
            return {""}
        if tok not in (_ID, ","):
            raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok not in (_ID, ","):
                raise _ParseError(f"found '{lit}', expected: ',', or identifier")
            nxt, nlit = self.peek()
            if tok == _ID:
                values.add(lit)
                if nxt not in (",", ")"):
                    raise _ParseError(f"found '{nlit}', expected: ',' or ')'")
            else:
                if not values or nxt in (",", ")"):
                    values.add("")
                if nxt == ",":
                    self.take()
            if nxt == ")":
                self.take()
                return values


class LabelSelector:
    """An AND of label requirements, sorted by key as upstream does for a stable ``String()``."""

    __slots__ = ("requirements", "empty", "_nothing", "_eq", "_checks")

    def __init__(self, requirements: list[LabelRequirement] | tuple[LabelRequirement, ...] = (),
                 *, nothing: bool = False) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing
        self.empty = not nothing and not self.requirements
        exact = [r.operator in _POSITIVE and len(r.values) == 1 for r in self.requirements]
        self._eq = tuple((r.key, r.values[0]) for r, x in zip(self.requirements, exact) if x)
        self._checks = (lambda ls: False,) if nothing else tuple(
            _checker(r) for r, x in zip(self.requirements, exact) if not x)

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """The ``labelSelector`` query parameter; "" and None select everything."""
        try:
            return cls(_Parser(text).parse()) if text else cls()
        except _ParseError as e:
            raise bad_request(str(e)) from None

    @classmethod
    def from_dict(cls, selector: Mapping[str, object] | None) -> LabelSelector:
        """``metav1.LabelSelectorAsSelector``: None selects nothing, ``{}`` everything."""
        if selector is None:
            return cls(nothing=True)
        match_labels, exprs = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
        if not isinstance(match_labels, Mapping) or not isinstance(exprs, list):
            raise bad_request("a label selector's matchLabels must be a map and its matchExpressions a list")
        try:
            reqs = [_requirement(k, EQUALS, [v]) for k, v in match_labels.items()]
            for expr in exprs:
                if (op := _DICT_OPS.get(expr.get("operator"))) is None:
                    shown = _quote(str(expr.get("operator") or ""))
                    raise _ParseError(f"{shown} is not a valid label selector operator")
                reqs.append(_requirement(expr.get("key") or "", op, list(expr.get("values") or [])))
        except _ParseError as e:
            raise bad_request(str(e)) from None
        return cls(reqs)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if labels is None:
            labels = {}
        for key, value in self._eq:
            if labels.get(key) != value:
                return False
        for check in self._checks:
            if not check(labels):
                return False
        return True

    def equality_requirements(self) -> dict[str, str]:
        """Labels every match carries with exactly this value (``k=v``, ``k==v``, ``k in (v)``), for index lookups."""
        return dict(reversed(self._eq))  # the first term wins, as with upstream's RequiresExactMatch

    def __str__(self) -> str:
        return ",".join(map(str, self.requirements))

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self._nothing else f"LabelSelector({str(self)!r})"


class FieldRequirement(NamedTuple):
    field: str
    op: str  # "=" (also when written "==") or "!="
    value: str  # unescaped

    def __str__(self) -> str:
        return self.field + self.op + self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


_FIELD_OP = re.compile(r"!=|==|=")  # at the first position where any matches, tried in this order
_FIELD_ESCAPE = re.compile(r"\\(.?)|([,=])", re.S)


def _split_terms(text: str) -> list[str]:
    """Split at commas that are not backslash-escaped; the escapes stay in the terms."""
    if "\\" not in text:
        return text.split(",")
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    return terms + [text[start:]]


def _unescape(value: str) -> str:
    """Values may hold ``,`` ``=`` ``\\`` only backslash-escaped; anything else is upstream's error."""
    def one(m: re.Match[str]) -> str:
        if m.group(2):  # Go prints the rune as its code point
            raise bad_request(f"invalid field selector: unescaped character in value: {ord(m.group(2))}")
        if m.group(1) not in ("\\", ",", "="):
            raise bad_request(f"invalid field selector: invalid escape sequence: \\{m.group(1)}")
        return m.group(1)
    return _FIELD_ESCAPE.sub(one, value) if "\\" in value or "," in value or "=" in value else value


class FieldSelector:
    """An AND of ``field=value`` / ``field!=value`` terms, compared as strings (absent fields read as "")."""

    __slots__ = ("terms", "empty", "_checks")

    def __init__(self, terms: tuple[FieldRequirement, ...] = ()) -> None:
        self.terms = terms
        self.empty = not terms
        self._checks = tuple((t.field, t.value, t.op == "=") for t in terms)

    @classmethod
    def parse(cls, text: str | None) -> FieldSelector:
        """The ``fieldSelector`` query parameter; terms are sorted as text and nothing is trimmed, as upstream."""
        terms = []
        for part in sorted(_split_terms(text)) if text else ():
            if not part:
                continue
            if (m := _FIELD_OP.search(part)) is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            op = "!=" if m.group() == "!=" else "="
            terms.append(FieldRequirement(part[:m.start()], op, _unescape(part[m.end():])))
        return cls(tuple(terms))

    def fields(self) -> set[str]:
        return {t.field for t in self.terms}

    def matches(self, get: Callable[[str], str | None]) -> bool:
        for field, value, equal in self._checks:
            if ((get(field) or "") == value) is not equal:
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value a ``field=value`` term demands, for index lookups (the first such term, as upstream)."""
        return next((t.value for t in self.terms if t.field == field and t.op == "="), None)

    def transform(self, mapping: Callable[[str], str]) -> FieldSelector:
        """Rename fields, e.g. a Pod's legacy ``spec.host`` to ``spec.nodeName``."""
        return FieldSelector(tuple(t._replace(field=mapping(t.field)) for t in self.terms))

    def __str__(self) -> str:
        return ",".join(map(str, self.terms))

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"
