"""Label and field selectors: kube-apiserver's grammar, matching rules and error text."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiserver.errors import StatusError
from apiserver.selectors import FieldRequirement, FieldSelector, LabelSelector

KEY_RULE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_RULE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
              "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
              "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
EXPECTED_OPS = "expected: in, notin, =, ==, !=, gt, lt"


def labels_bad(text: str) -> str:
    with pytest.raises(StatusError) as info:
        LabelSelector.parse(text)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    assert info.value.status()["code"] == 400
    return info.value.message


def fields_bad(text: str) -> str:
    with pytest.raises(StatusError) as info:
        FieldSelector.parse(text)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    return info.value.message


# ---- label selectors: operators and the missing-key rules

@pytest.mark.parametrize("text, labels, expected", [
    ("app=web", {"app": "web"}, True),
    ("app=web", {"app": "db"}, False),
    ("app=web", {}, False),                      # = needs the key
    ("app==web", {"app": "web"}, True),
    ("app!=web", {"app": "db"}, True),
    ("app!=web", {"app": "web"}, False),
    ("app!=web", {}, True),                      # != matches objects without the key
    ("env in (prod,staging)", {"env": "prod"}, True),
    ("env in (prod,staging)", {"env": "dev"}, False),
    ("env in (prod,staging)", {}, False),        # in needs the key
    ("env notin (prod,staging)", {"env": "dev"}, True),
    ("env notin (prod,staging)", {"env": "prod"}, False),
    ("env notin (prod,staging)", {}, True),      # notin matches objects without the key
    ("tier", {"tier": ""}, True),
    ("tier", {}, False),
    ("!tier", {}, True),
    ("!tier", {"tier": "x"}, False),
    ("n>5", {"n": "6"}, True),
    ("n>5", {"n": "5"}, False),
    ("n>5", {}, False),                          # > needs the key ...
    ("n>5", {"n": "abc"}, False),                # ... and an integer value
    ("n>5", {"n": "6 "}, False),
    ("n>5", {"n": "1_000"}, False),              # Go's ParseInt takes no underscores
    ("n>-1", {"n": "0"}, None),                  # "-1" is not a valid label value: a 400
    ("n<5", {"n": "-3"}, True),                  # but object labels are parsed with a sign
    ("n<5", {"n": "+4"}, True),
    ("n<5", {"n": "99999999999999999999"}, False),  # outside int64
    ("a=", {"a": ""}, True),                     # empty value
    ("a=", {}, False),
    ("a in ()", {"a": ""}, True),                # () is the set holding ""
    ("a in (x,,y)", {"a": ""}, True),
    ("a in (x,,,)", {"a": ""}, True),
    ("a=1,b=2", {"a": "1", "b": "2"}, True),
    ("a=1,b=2", {"a": "1"}, False),
    ("", {}, True),
    ("example.com/team=a", {"example.com/team": "a"}, True),
])
def test_operators(text: str, labels: dict[str, str], expected: bool | None) -> None:
    if expected is None:
        labels_bad(text)
    else:
        assert LabelSelector.parse(text).matches(labels) is expected


def test_none_and_empty() -> None:
    for text in (None, "", "  \t"):
        sel = LabelSelector.parse(text)
        assert sel.empty and sel.matches(None) and sel.matches({"a": "b"}) and str(sel) == ""
    sel = LabelSelector.parse("!a")
    assert not sel.empty and sel.matches(None)


def test_whitespace_and_keywords() -> None:
    sel = LabelSelector.parse(" a  in(b , c ) ,\t!\nd ,e= f,g != h ")
    assert str(sel) == "a in (b,c),!d,e=f,g!=h"
    assert str(LabelSelector.parse("in in (notin,in),notin notin (in)")) == "in in (in,notin),notin notin (in)"
    assert LabelSelector.parse("in=notin").matches({"in": "notin"})


def test_canonical_string() -> None:
    sel = LabelSelector.parse("z=1,a in (c,b,c),m==2,k notin (,x),!q,e,n>3,n<9")
    assert str(sel) == "a in (b,c),e,k notin (,x),m==2,n>3,n<9,!q,z=1"
    assert str(LabelSelector.parse("a in (b,)")) == "a in (,b)"
    assert str(LabelSelector.parse(str(sel))) == str(sel)


def test_equality_requirements() -> None:
    sel = LabelSelector.parse("a=1,b==2,c in (3),d in (4,5),e!=6,f,a=7")
    assert sel.equality_requirements() == {"a": "1", "b": "2", "c": "3"}
    assert LabelSelector.parse("").equality_requirements() == {}


# ---- label selectors: errors, in upstream's words

@pytest.mark.parametrize("text, message", [
    ("a b", f"unable to parse requirement: found 'b', {EXPECTED_OPS}"),
    ("a (b)", f"unable to parse requirement: found '(', {EXPECTED_OPS}"),
    ("a !b", f"unable to parse requirement: found '!', {EXPECTED_OPS}"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"),
    ("a in (,,)", "unable to parse requirement: found ')', expected: ',', or identifier"),  # upstream's quirk
    ("a in (x,,)", "unable to parse requirement: found ')', expected: ',', or identifier"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a$b=c", f'unable to parse requirement: <nil>: Invalid value: "a$b": {KEY_RULE}'),
    ("-a", f'unable to parse requirement: <nil>: Invalid value: "-a": {KEY_RULE}'),
    ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
    ("a/", f'unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; {KEY_RULE}'),
    ("a" * 64, f'unable to parse requirement: <nil>: Invalid value: "{"a" * 64}": '
               "name part must be no more than 63 bytes"),
    ("a=b$", f'unable to parse requirement: values[0][a]: Invalid value: "b$": {VALUE_RULE}'),
    ("a in (b_,a)", f'unable to parse requirement: values[1][a]: Invalid value: "b_": {VALUE_RULE}'),
    ("a>abc", "unable to parse requirement: values[0]: Invalid value: \"abc\": "
              "for 'Gt', 'Lt' operators, the value must be an integer"),
    ("a<", "unable to parse requirement: values[0]: Invalid value: \"\": "
           "for 'Gt', 'Lt' operators, the value must be an integer"),
    ("a>x-", "unable to parse requirement: [values[0]: Invalid value: \"x-\": for 'Gt', 'Lt' operators, the value "
             f'must be an integer, values[0][a]: Invalid value: "x-": {VALUE_RULE}]'),
    ('a"\x01=b', 'unable to parse requirement: <nil>: Invalid value: "a\\"\\x01": ' + KEY_RULE),
])
def test_label_errors(text: str, message: str) -> None:
    assert labels_bad(text) == message


def test_key_prefix_errors() -> None:
    assert "prefix part a lowercase RFC 1123 subdomain must consist of lower case" in labels_bad("Example.com/a")
    assert labels_bad("a/b/c").startswith(
        'unable to parse requirement: <nil>: Invalid value: "a/b/c": a valid label key must consist of')
    assert LabelSelector.parse("a.b-c.example/My_Name.x=1").matches({"a.b-c.example/My_Name.x": "1"})


# ---- label selectors from metav1.LabelSelector

def test_from_dict() -> None:
    nothing = LabelSelector.from_dict(None)
    assert not nothing.empty and not nothing.matches({}) and not nothing.matches({"a": "b"})
    everything = LabelSelector.from_dict({})
    assert everything.empty and everything.matches(None)
    assert LabelSelector.from_dict({"matchLabels": {}, "matchExpressions": []}).empty
    sel = LabelSelector.from_dict({
        "matchLabels": {"b": "1", "a": "2"},
        "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                             {"key": "d", "operator": "NotIn", "values": ["z"]},
                             {"key": "e", "operator": "Exists"},
                             {"key": "f", "operator": "DoesNotExist", "values": []}]})
    assert str(sel) == "a=2,b=1,c in (x,y),d notin (z),e,!f"
    assert sel.equality_requirements() == {"a": "2", "b": "1"}
    assert sel.matches({"a": "2", "b": "1", "c": "x", "e": ""})
    assert not sel.matches({"a": "2", "b": "1", "c": "x", "e": "", "d": "z"})
    assert not sel.matches({"a": "2", "b": "1", "c": "x", "e": "", "f": ""})
    assert not sel.matches({"a": "2", "b": "1", "e": ""})


@pytest.mark.parametrize("selector, message", [
    ({"matchExpressions": [{"key": "c", "operator": "Foo"}]}, '"Foo" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "c", "operator": "In"}]},
     "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "c", "operator": "Exists", "values": ["a"]}]},
     'values: Invalid value: ["a"]: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"a b": "c"}}, f'key: Invalid value: "a b": {KEY_RULE}'),
    ({"matchLabels": {"a": "c d"}}, f'values[0][a]: Invalid value: "c d": {VALUE_RULE}'),
])
def test_from_dict_errors(selector: dict[str, object], message: str) -> None:
    with pytest.raises(StatusError) as info:
        LabelSelector.from_dict(selector)
    assert (info.value.code, info.value.reason, info.value.message) == (400, "BadRequest", message)


# ---- property: str() round-trips and matching equals a plain reference model

KEYS = ["a", "b", "x.io/c", "in"]
VALUES = ["", "1", "2", "10", "v", "in", "notin", "a.b_c-d"]
LABEL_VALUES = [*VALUES, "-3", "+4", "abc", "007", "5"]
OPS = ["=", "==", "!=", "in", "notin", "exists", "!", ">", "<"]
spaces = st.sampled_from(["", "", " ", "  ", "\t", "\n"])


@st.composite
def requirements(draw: st.DrawFn) -> tuple[tuple[str, str, list[str]], str]:
    """A random requirement and one way of writing it, with random whitespace between tokens."""
    key, op = draw(st.sampled_from(KEYS)), draw(st.sampled_from(OPS))
    w = lambda: draw(spaces)  # noqa: E731
    if op in ("in", "notin"):
        # Unique, so at most one "": upstream rejects "(,,)" and "(x,,)" (see test_label_errors).
        values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True))
        sep = w() + "," + w()
        return (key, op, values), f"{w()}{key} {w()}{op}{w()}({w()}{sep.join(values)}{w()}){w()}"
    if op in ("exists", "!"):
        return (key, op, []), w() + ("!" + w() if op == "!" else "") + key + w()
    values = [draw(st.sampled_from(["0", "1", "5", "10", "007"] if op in (">", "<") else VALUES))]
    return (key, op, values), f"{w()}{key}{w()}{op}{w()}{values[0]}{w()}"


def reference_matches(reqs: list[tuple[str, str, list[str]]], labels: dict[str, str]) -> bool:
    for key, op, values in reqs:
        present, value = key in labels, labels.get(key, "")
        if op in ("=", "==", "in"):
            ok = present and value in values
        elif op in ("!=", "notin"):
            ok = not present or value not in values
        elif op in ("exists", "!"):
            ok = present == (op == "exists")
        else:
            is_int = re.fullmatch(r"[+-]?[0-9]+", value) is not None
            ok = present and is_int and (int(value) > int(values[0]) if op == ">" else int(value) < int(values[0]))
        if not ok:
            return False
    return True


label_sets = st.dictionaries(st.sampled_from([*KEYS, "other"]), st.sampled_from(LABEL_VALUES), max_size=4)


@settings(max_examples=300)
@given(st.lists(requirements(), max_size=4), st.lists(label_sets, min_size=1, max_size=6))
def test_round_trip_and_reference_model(reqs: list[tuple[tuple[str, str, list[str]], str]],
                                        samples: list[dict[str, str]]) -> None:
    model = [r for r, _ in reqs]
    sel = LabelSelector.parse(",".join(text for _, text in reqs))
    again = LabelSelector.parse(str(sel))
    assert str(again) == str(sel)
    assert sel.empty == (not reqs)
    exact = sel.equality_requirements()
    for labels in samples:
        expected = reference_matches(model, labels)
        assert sel.matches(labels) is expected
        assert again.matches(labels) is expected
        if expected:
            assert all(labels.get(k) == v for k, v in exact.items())


# ---- field selectors

def test_field_basics() -> None:
    sel = FieldSelector.parse("status.phase!=Running,metadata.name==web,spec.nodeName=n1")
    assert sel.terms == (FieldRequirement("metadata.name", "=", "web"),
                         FieldRequirement("spec.nodeName", "=", "n1"),
                         FieldRequirement("status.phase", "!=", "Running"))
    assert str(sel) == "metadata.name=web,spec.nodeName=n1,status.phase!=Running"
    assert sel.fields() == {"metadata.name", "spec.nodeName", "status.phase"}
    assert sel.exact("spec.nodeName") == "n1" and sel.exact("status.phase") is None and sel.exact("x") is None
    obj = {"metadata.name": "web", "spec.nodeName": "n1", "status.phase": "Pending"}
    assert sel.matches(obj.get)
    assert not sel.matches({**obj, "status.phase": "Running"}.get)
    assert not sel.matches({**obj, "spec.nodeName": "n2"}.get)


def test_field_missing_values_read_as_empty() -> None:
    assert FieldSelector.parse("spec.nodeName=").matches(lambda f: None)
    assert FieldSelector.parse("spec.nodeName=").matches(lambda f: "")
    assert FieldSelector.parse("spec.nodeName!=").matches({"spec.nodeName": "n1"}.get)
    assert not FieldSelector.parse("spec.nodeName!=").matches(lambda f: None)
    assert FieldSelector.parse("spec.nodeName!=n1").matches(lambda f: None)


def test_field_empty() -> None:
    for text in (None, "", ",", ",,"):
        sel = FieldSelector.parse(text)
        assert sel.empty and sel.terms == () and sel.matches(lambda f: None) and str(sel) == ""
    assert FieldSelector.parse("a=b,,c=d").terms == (FieldRequirement("a", "=", "b"), FieldRequirement("c", "=", "d"))


def test_field_escapes() -> None:
    sel = FieldSelector.parse(r"metadata.name=a\,b\=c\\d,spec.x!=\\")
    assert sel.terms == (FieldRequirement("metadata.name", "=", "a,b=c\\d"), FieldRequirement("spec.x", "!=", "\\"))
    assert str(sel) == r"metadata.name=a\,b\=c\\d,spec.x!=\\"
    assert FieldSelector.parse(str(sel)).terms == sel.terms
    assert FieldSelector.parse("a=x!y").terms == (FieldRequirement("a", "=", "x!y"),)  # the first operator splits
    assert FieldSelector.parse(r"a=x!\=y").terms == (FieldRequirement("a", "=", "x!=y"),)
    assert FieldSelector.parse("a!b=c").terms == (FieldRequirement("a!b", "=", "c"),)


def test_field_whitespace_is_kept() -> None:
    # Upstream trims nothing: the caller then rejects "metadata.name " as an unknown field.
    assert FieldSelector.parse("metadata.name = x").terms == (FieldRequirement("metadata.name ", "=", " x"),)


@pytest.mark.parametrize("text, message", [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=b,oops", "invalid selector: 'a=b,oops'; can't understand 'oops'"),
    (r"a=b\,c,x", r"invalid selector: 'a=b\,c,x'; can't understand 'x'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("a==b=c", "invalid field selector: unescaped character in value: 61"),
    (r"a=\q", r"invalid field selector: invalid escape sequence: \q"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_field_errors(text: str, message: str) -> None:
    assert fields_bad(text) == message


def test_field_transform() -> None:
    sel = FieldSelector.parse("spec.host=n1,metadata.name!=x")
    moved = sel.transform(lambda f: "spec.nodeName" if f == "spec.host" else f)
    assert moved.exact("spec.nodeName") == "n1" and moved.fields() == {"spec.nodeName", "metadata.name"}
    assert sel.exact("spec.host") == "n1"  # the original is untouched
    assert moved.matches({"spec.nodeName": "n1", "metadata.name": "y"}.get)


field_values = st.text(alphabet="ab,=\\! ", max_size=6)
field_terms = st.builds(FieldRequirement, st.sampled_from(["metadata.name", "spec.nodeName", "status.phase"]),
                        st.sampled_from(["=", "!="]), field_values)


@given(st.lists(field_terms, max_size=4), st.dictionaries(st.sampled_from(["metadata.name", "status.phase"]),
                                                          field_values))
def test_field_round_trip(terms: list[FieldRequirement], obj: dict[str, str]) -> None:
    sel = FieldSelector.parse(",".join(map(str, terms)))
    assert sorted(sel.terms) == sorted(terms)
    assert FieldSelector.parse(str(sel)).terms == sel.terms
    expected = all((obj.get(t.field, "") == t.value) == (t.op == "=") for t in terms)
    assert sel.matches(obj.get) is expected


@settings(max_examples=500)
@given(st.text(alphabet=" \t=!(),<>abinot01/.-_\\é\x00", max_size=20))
def test_any_text_parses_or_is_a_400(text: str) -> None:
    for parse in (LabelSelector.parse, FieldSelector.parse):
        try:
            sel = parse(text)
        except StatusError as e:
            assert (e.code, e.reason) == (400, "BadRequest")
        else:
            assert str(parse(str(sel))) == str(sel)
