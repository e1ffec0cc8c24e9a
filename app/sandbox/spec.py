"""The Bot API spec (bot-api-spec.json): coerce and check method parameters, validate results."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("bot-api-spec.json")

_SCALARS = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"true", "True", "1"})
_FALSE = frozenset({"false", "False", "0"})
# Telegram's own wording for a few missing parameters; the rest get the generic one.
_MISSING = {
    "chat_id": "Bad Request: chat_id is empty",
    "text": "Bad Request: message text is empty",
    "message_id": "Bad Request: message identifier is not specified",
}
_JSON_LABELS = {"reply_markup": "reply keyboard markup"}
# Required in the spec, yet Telegram accepts them absent (setWebhook without url removes it).
_LENIENT = frozenset({("setWebhook", "url")})
# "always "x"" / "must be x" in a subtype's first field names its discriminator value.
_DISCRIMINATOR_RE = re.compile(r'(?:always|must be) [“"]?([a-z_]+)[”"]?')


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method: its canonical name, return types, parameter types and required names."""

    name: str
    returns: tuple[str, ...]
    params: dict[str, tuple[str, ...]]
    required: tuple[str, ...]


@functools.cache
def raw() -> dict[str, Any]:
    """The whole spec document, parsed once."""
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@functools.cache
def _methods() -> dict[str, MethodSpec]:
    out: dict[str, MethodSpec] = {}
    for name, m in raw()["methods"].items():
        fields = m.get("fields", [])
        out[name.lower()] = MethodSpec(
            name=name,
            returns=tuple(m["returns"]),
            params={f["name"]: tuple(f["types"]) for f in fields},
            required=tuple(f["name"] for f in fields if f["required"]),
        )
    return out


def method(name: str) -> MethodSpec | None:
    """The spec of a method by case-insensitive name, or None if Telegram has no such method."""
    return _methods().get(name.lower())


# Fields the installed aiogram already requires that this spec file predates.
_NEWER_FIELDS: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {
    "ChatMemberAdministrator": {"can_send_welcome_messages": (("Boolean",), True)},
}


@functools.cache
def _fields(type_name: str) -> dict[str, tuple[tuple[str, ...], bool]] | None:
    """Field name -> (types, required) of an object type; None for unions and unknown names."""
    t = raw()["types"].get(type_name)
    if t is None or "subtypes" in t:
        return None
    fields = {f["name"]: (tuple(f["types"]), f["required"]) for f in t.get("fields", [])}
    return fields | _NEWER_FIELDS.get(type_name, {})


@functools.cache
def known_fields(type_name: str) -> frozenset[str]:
    """Field names the spec gives an object type (empty for unions and unknown names)."""
    return frozenset(_fields(type_name) or ())


@functools.cache
def _union(type_name: str) -> tuple[tuple[str, ...], str | None, dict[str, tuple[str, ...]]] | None:
    """(members, discriminator field, value -> members) of a union type like ChatMember."""
    t = raw()["types"].get(type_name)
    if t is None or "subtypes" not in t:
        return None
    members = tuple(t["subtypes"])
    key: str | None = None
    by_value: dict[str, tuple[str, ...]] = {}
    for member in members:
        fields = raw()["types"].get(member, {}).get("fields")
        if not fields:
            continue
        m = _DISCRIMINATOR_RE.search(fields[0]["description"])
        if m and (key is None or key == fields[0]["name"]):
            key = fields[0]["name"]
            by_value[m.group(1)] = (*by_value.get(m.group(1), ()), member)
    return members, key, by_value


# ---------------------------------------------------------------- result checking


def check_object(type_name: str, obj: Any) -> list[str]:
    """Violations of `obj` against a spec type expression ("Message", "Array of Update", ...).

    Checks required fields, scalar types (Integer is an int and never a bool), nested objects,
    arrays and unions, and flags any field the spec does not know.
    """
    errors: list[str] = []
    _check(type_name, obj, type_name, errors, strict=True)
    return errors


def check_result(method_name: str, result: Any) -> list[str]:
    """Violations of a method's result against the union of its spec return types."""
    spec = method(method_name)
    if spec is None:
        return [f"{method_name}: not a Bot API method"]
    return _check_any(spec.returns, result, method_name, strict=True)


def _check_any(types: tuple[str, ...], value: Any, path: str, strict: bool) -> list[str]:
    """Check against a union of type expressions; keep the errors of the closest member."""
    best: list[str] | None = None
    for expr in types:
        errors: list[str] = []
        _check(expr, value, path, errors, strict)
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    return best or []


def _check(expr: str, value: Any, path: str, errors: list[str], strict: bool) -> None:
    if expr.startswith("Array of "):
        if not isinstance(value, list):
            errors.append(f"{path}: expected {expr}, got {type(value).__name__}")
            return
        inner = expr[9:]
        for i, item in enumerate(value):
            _check(inner, item, f"{path}[{i}]", errors, strict)
        return
    if expr in _SCALARS:
        if not _scalar_ok(expr, value):
            errors.append(f"{path}: expected {expr}, got {type(value).__name__} {value!r:.40}")
        return
    union = _union(expr)
    if union is not None:
        _check_union(expr, union, value, path, errors, strict)
        return
    fields = _fields(expr)
    if fields is None:
        errors.append(f"{path}: unknown type {expr}")
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected {expr} object, got {type(value).__name__}")
        return
    for name, (types, required) in fields.items():
        if name in value:
            errors.extend(_check_any(types, value[name], f"{path}.{name}", strict))
        elif required:
            errors.append(f"{path}: missing required field {name!r} of {expr}")
    if strict:
        errors.extend(f"{path}: field {k!r} is unknown to {expr}" for k in value if k not in fields)


def _check_union(
    expr: str,
    union: tuple[tuple[str, ...], str | None, dict[str, tuple[str, ...]]],
    value: Any,
    path: str,
    errors: list[str],
    strict: bool,
) -> None:
    members, key, by_value = union
    if key is not None and isinstance(value, dict):
        candidates = by_value.get(value.get(key))  # type: ignore[arg-type]
        if candidates is None:
            errors.append(f"{path}: {key}={value.get(key)!r} matches no member of {expr}")
            return
        errors.extend(_check_any(candidates, value, path, strict))
        return
    errors.extend(_check_any(members, value, path, strict))


def _scalar_ok(expr: str, value: Any) -> bool:
    if expr == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expr == "String":
        return isinstance(value, str)
    if expr == "Boolean":
        return isinstance(value, bool)
    if expr == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True  # InputFile: anything the transport produced


# ---------------------------------------------------------------- parameter checking


def check_params(method_name: str, params: dict[str, Any]) -> str | None:
    """A Telegram-worded 400 description for a missing or ill-typed parameter, else None."""
    return coerce_params(method_name, params)[1]


def coerce_params(
    method_name: str, params: dict[str, Any], *, deep: bool = True
) -> tuple[dict[str, Any], str | None]:
    """Typed copy of `params` (ints, bools, decoded JSON objects) and an error description.

    Form bodies carry every value as a string and nested objects as JSON strings; JSON
    bodies carry real values. Both are accepted. Parameters the spec does not know are
    passed through untouched, as Telegram ignores them. With `deep`, decoded objects are
    also checked field by field (unknown fields allowed, as Telegram allows them).
    """
    spec = method(method_name)
    if spec is None:
        return params, "Not Found"
    for name in spec.required:
        value = params.get(name)
        if (value is None or value == "") and (spec.name, name) not in _LENIENT:
            return params, _MISSING.get(name, f'Bad Request: parameter "{name}" is required')
    out = dict(params)
    for name, value in params.items():
        types = spec.params.get(name)
        if types is None or value is None:
            continue
        ok, coerced, error = _coerce(name, types, value, deep)
        if not ok:
            return params, error
        out[name] = coerced
    return out, None


def _coerce(name: str, types: tuple[str, ...], value: Any, deep: bool) -> tuple[bool, Any, str | None]:
    structured = [t for t in types if t not in _SCALARS]
    if structured and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except ValueError:
            label = _JSON_LABELS.get(name, name)
            return False, value, f"Bad Request: can't parse {label} JSON object"
        ok, error = _structured_ok(name, structured, decoded, deep)
        return ok, decoded, error
    for expr in types:
        if expr in _SCALARS:
            ok, coerced = _coerce_scalar(expr, value)
            if ok:
                return True, coerced, None
    if structured and not isinstance(value, str):
        ok, error = _structured_ok(name, structured, value, deep)
        return ok, value, error
    if structured:
        label = _JSON_LABELS.get(name, name)
        return False, value, f"Bad Request: can't parse {label} JSON object"
    wanted = " or ".join(types)
    return False, value, f'Bad Request: invalid parameter "{name}": expected {wanted}'


def _structured_ok(name: str, types: list[str], value: Any, deep: bool) -> tuple[bool, str | None]:
    if not deep:
        ok = any(isinstance(value, list) == t.startswith("Array of ") for t in types)
        return ok, None if ok else f'Bad Request: invalid parameter "{name}"'
    errors = _check_any(tuple(types), value, name, strict=False)
    if errors:
        return False, f"Bad Request: can't parse {_JSON_LABELS.get(name, name)}: {errors[0]}"
    return True, None


def _coerce_scalar(expr: str, value: Any) -> tuple[bool, Any]:
    if expr == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, str) and _INT_RE.match(value):
            return True, int(value)
        return False, value
    if expr == "String":
        if isinstance(value, str):
            return True, value
        if isinstance(value, bool):
            return True, "true" if value else "false"
        if isinstance(value, int | float):
            return True, str(value)  # JSON bodies may send numbers; Telegram reads them as text
        return False, value
    if expr == "Boolean":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str):
            if value in _TRUE:
                return True, True
            if value in _FALSE:
                return True, False
        elif isinstance(value, int) and value in (0, 1):
            return True, bool(value)
        return False, value
    if expr == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        try:
            return True, float(value)
        except (TypeError, ValueError):
            return False, value
    return True, value  # InputFile: an upload or an attach:// / file_id string
