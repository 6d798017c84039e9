"""Fake instances of a JSON Schema, for tool-call arguments and ``response_format`` json_schema.

Covers what function schemas and structured outputs use in practice: object (properties, required,
additionalProperties, min/maxProperties), array (items, prefixItems, min/maxItems, uniqueItems), string
(enum, const, format, min/maxLength, pattern via Python's own regex parser), integer/number (bounds,
exclusive bounds, multipleOf), boolean, null, type lists, anyOf/oneOf/allOf, and $ref into $defs /
definitions (recursion is cut off by depth). Values read plausibly: property names steer strings.
"""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

try:  # the parser moved in 3.11; it is what re.compile uses, so every valid pattern parses
    import re._parser as _sre_parse  # type: ignore[import-not-found]
    import re._constants as _sre_c  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

from fakeai.modes.synthetic.text import WORDS

__all__ = ["fake_instance", "fake_json_object", "SchemaError", "BAD_SCHEMA"]

_MAX_DEPTH = 6

_NAMED = {
    "name": ["Alice", "Bob", "Carmen", "Dmitri", "Esther", "Farid"],
    "city": ["Paris", "Tokyo", "Lagos", "Lima", "Oslo", "Austin"],
    "location": ["Paris, France", "Tokyo, Japan", "Boston, MA", "Berlin, Germany"],
    "country": ["France", "Japan", "Brazil", "Kenya", "Canada"],
    "unit": ["celsius", "fahrenheit"],
    "language": ["English", "French", "Spanish", "German"],
    "currency": ["USD", "EUR", "JPY", "GBP"],
    "color": ["red", "green", "blue", "amber"],
    "query": ["latest quarterly report", "weather tomorrow", "open issues"],
}


class SchemaError(ValueError):
    """The schema cannot be satisfied or uses an unresolvable $ref."""


# What faking a client's schema can raise when the schema is unreadable (wrong types inside, nesting
# deeper than the recursion limit): the client's 400, never a 500.
BAD_SCHEMA = (SchemaError, RecursionError, TypeError, ValueError, KeyError, AttributeError)


def fake_instance(schema: Any, rnd: random.Random, *, root: Any = None) -> Any:
    """A value valid against ``schema`` (a dict, or a boolean schema)."""
    return _gen(schema, rnd, root if root is not None else schema, 0, "")


def fake_json_object(rnd: random.Random, topics: list[str] | None = None) -> dict[str, Any]:
    """A small plausible object for ``response_format: json_object`` (no schema given)."""
    topic = (topics or [None])[0] or rnd.choice(WORDS)
    return {
        "topic": topic,
        "summary": _sentence(rnd, 8),
        "confidence": round(0.5 + rnd.random() / 2, 2),
        "points": [_sentence(rnd, 5) for _ in range(rnd.randint(2, 3))],
    }


def _sentence(rnd: random.Random, n: int) -> str:
    words = [rnd.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        raise SchemaError(f"only local $ref are supported: {ref}")
    node = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SchemaError(f"cannot resolve $ref {ref}") from None
    return node


def _merge_all_of(schema: dict, root: Any) -> dict:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for sub in schema["allOf"]:
        if isinstance(sub, dict) and "$ref" in sub:
            sub = _resolve(sub["$ref"], root)
        if not isinstance(sub, dict):
            continue
        if "allOf" in sub:
            sub = _merge_all_of(sub, root)
        for k, v in sub.items():
            if k == "properties":
                merged["properties"] = {**merged.get("properties", {}), **v}
            elif k == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *v]))
            elif k in ("minimum", "minLength", "minItems", "exclusiveMinimum") and k in merged:
                merged[k] = max(merged[k], v)
            elif k in ("maximum", "maxLength", "maxItems", "exclusiveMaximum") and k in merged:
                merged[k] = min(merged[k], v)
            else:
                merged.setdefault(k, v)
    return merged


def _gen(schema: Any, rnd: random.Random, root: Any, depth: int, name: str) -> Any:
    if schema is True or schema is None or schema == {}:
        return _sentence(rnd, 3) if depth == 0 else rnd.choice(WORDS)
    if schema is False:
        raise SchemaError("false schema admits no value")
    if not isinstance(schema, dict):
        raise SchemaError("schema must be an object")
    if "$ref" in schema:
        if depth > _MAX_DEPTH * 6:
            raise SchemaError("$ref recursion too deep")
        target = _resolve(schema["$ref"], root)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return _gen({**target, **rest} if rest and isinstance(target, dict) else target, rnd, root, depth + 1, name)
    if "allOf" in schema:
        return _gen(_merge_all_of(schema, root), rnd, root, depth, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rnd.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            # Past the depth limit prefer a null/leaf option so recursive schemas terminate.
            if depth >= _MAX_DEPTH:
                leaves = [o for o in options if isinstance(o, dict) and o.get("type") in ("null", "string", "integer", "number", "boolean")]
                options = leaves or options
            base = {k: v for k, v in schema.items() if k != key}
            option = rnd.choice(options)
            if base and isinstance(option, dict):
                option = {**base, **option}
            return _gen(option, rnd, root, depth, name)
    typ = schema.get("type")
    if isinstance(typ, list):
        non_null = [t for t in typ if t != "null"]
        typ = rnd.choice(non_null) if non_null else "null"
    if typ is None:
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            typ = "object"
        elif "items" in schema or "prefixItems" in schema:
            typ = "array"
        elif any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            typ = "string"
        elif any(k in schema for k in ("minimum", "maximum", "multipleOf")):
            typ = "number"
        else:
            typ = "string"
    gen = _GENERATORS.get(typ)
    if gen is None:
        raise SchemaError(f"unknown type {typ!r}")
    return gen(schema, rnd, root, depth, name)


def _object(schema: dict, rnd: random.Random, root: Any, depth: int, name: str) -> dict:
    props: dict = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    out: dict[str, Any] = {}
    for key, sub in props.items():
        # Optional properties appear half the time, and not at all deep in recursive schemas.
        if key in required or (depth < _MAX_DEPTH and rnd.random() < 0.5):
            out[key] = _gen(sub, rnd, root, depth + 1, key)
    for key in required - out.keys():  # required but not described: any value
        out[key] = rnd.choice(WORDS)
    extra = schema.get("additionalProperties", True)
    min_props = schema.get("minProperties", 0)
    want_extra = max(min_props - len(out), 0)
    if not props and extra is not False and depth < _MAX_DEPTH and want_extra == 0:
        want_extra = rnd.randint(1, 2)  # a free-form map: give it something
    if want_extra and extra is False:
        raise SchemaError("minProperties cannot be met without additionalProperties")
    pattern_props = schema.get("patternProperties")
    for _ in range(want_extra):
        key = rnd.choice(WORDS)
        while key in out:
            key += "_" + rnd.choice(WORDS)
        sub = extra if isinstance(extra, dict) else {}
        if pattern_props:
            pat, sub = next(iter(pattern_props.items()))
            key = _from_pattern(pat, rnd, 1, 20) or key
        out[key] = _gen(sub, rnd, root, depth + 1, key)
    max_props = schema.get("maxProperties")
    if max_props is not None and len(out) > max_props:
        for key in [k for k in out if k not in required][: len(out) - max_props]:
            del out[key]
    return out


def _array(schema: dict, rnd: random.Random, root: Any, depth: int, name: str) -> list:
    lo = int(schema.get("minItems", 0))
    hi = schema.get("maxItems")
    prefix = schema.get("prefixItems") or (schema["items"] if isinstance(schema.get("items"), list) else [])
    items = schema.get("items")
    if items is None or isinstance(items, list):  # draft 2019 tuples put the rest in additionalItems
        items = schema.get("additionalItems", {})
    if items is False:
        hi = len(prefix) if hi is None else min(hi, len(prefix))
    upper = min(hi, max(lo, 3)) if hi is not None else max(lo, 3)
    count = rnd.randint(min(max(lo, 1 if depth < _MAX_DEPTH else 0), upper), upper) if upper else 0
    count = max(count, lo) if depth < _MAX_DEPTH else lo  # deep down: as few as allowed (recursion)
    out = []
    singular = name[:-1] if name.endswith("s") else name
    for i in range(count):
        sub = prefix[i] if i < len(prefix) else (items if isinstance(items, dict) else {})
        value = _gen(sub, rnd, root, depth + 1, singular)
        if schema.get("uniqueItems"):
            tries = 0
            while value in out and tries < 20:
                value = _gen(sub, rnd, root, depth + 1, singular)
                tries += 1
            if value in out:
                if len(out) >= lo:
                    break
                raise SchemaError("cannot produce enough unique items")
        out.append(value)
    return out


_FORMATS = {
    "date-time": lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z",
    "date": lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z",
    "email": lambda r: f"{r.choice(WORDS)}.{r.choice(WORDS)}@example.com",
    "uri": lambda r: f"https://example.com/{r.choice(WORDS)}/{r.randint(1, 999)}",
    "url": lambda r: f"https://example.com/{r.choice(WORDS)}/{r.randint(1, 999)}",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "ipv6": lambda r: ":".join(f"{r.getrandbits(16):x}" for _ in range(8)),
    "hostname": lambda r: f"{r.choice(WORDS)}.example.com",
    "duration": lambda r: f"PT{r.randint(1, 59)}M",
}


def _string(schema: dict, rnd: random.Random, root: Any, depth: int, name: str) -> str:
    lo = int(schema.get("minLength", 0))
    hi = schema.get("maxLength")
    hi = int(hi) if hi is not None else None
    pattern = schema.get("pattern")
    if pattern:
        value = _from_pattern(pattern, rnd, lo, hi)
        if value is not None:
            return value
    fmt = schema.get("format")
    if fmt in _FORMATS:
        value = _FORMATS[fmt](rnd)
    else:
        lname = name.lower()
        hint = next((v for k, v in _NAMED.items() if k in lname), None)
        value = rnd.choice(hint) if hint else _sentence(rnd, rnd.randint(2, 6)) if depth <= 1 else rnd.choice(WORDS)
    while len(value) < lo:
        value += " " + rnd.choice(WORDS)
    if hi is not None and len(value) > hi:
        value = value[:hi].rstrip() if hi > 0 else ""
        if len(value) < lo:
            value = value.ljust(lo, "x")
    return value


def _number(schema: dict, rnd: random.Random, root: Any, depth: int, name: str, integer: bool = False) -> float | int:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    xhi = schema.get("exclusiveMaximum")
    if isinstance(xlo, bool):  # draft-4 booleans modify minimum/maximum
        xlo, lo = (lo if xlo else None), (None if xlo else lo)
    if isinstance(xhi, bool):
        xhi, hi = (hi if xhi else None), (None if xhi else hi)
    step = 1 if integer else 0.01
    low = max(v for v in (lo, (xlo + step) if xlo is not None else None, -1e9) if v is not None)
    high = min(v for v in (hi, (xhi - step) if xhi is not None else None, 1e9) if v is not None)
    if lo is None and xlo is None and hi is None and xhi is None:
        low, high = (0, 100) if integer else (0.0, 100.0)
    elif lo is None and xlo is None:
        low = high - 100
    elif hi is None and xhi is None:
        high = low + 100
    if low > high:
        raise SchemaError("empty numeric range")
    mult = schema.get("multipleOf")
    if mult:
        import math

        k_lo, k_hi = math.ceil(low / mult), math.floor(high / mult)
        if k_lo > k_hi:
            raise SchemaError("no multiple of multipleOf in range")
        value = rnd.randint(k_lo, k_hi) * mult
        return int(value) if integer else value
    if integer:
        import math

        return rnd.randint(math.ceil(low), math.floor(high))
    value = round(rnd.uniform(low, high), 2)
    return min(max(value, low), high)


def _integer(schema: dict, rnd: random.Random, root: Any, depth: int, name: str) -> int:
    return int(_number(schema, rnd, root, depth, name, integer=True))


_GENERATORS = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": lambda s, r, *_: r.random() < 0.5,
    "null": lambda *_: None,
}


# --- regex pattern -> string, walking the parse tree of Python's own regex compiler --------------------------
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_CAT = {
    _sre_c.CATEGORY_DIGIT: "0123456789",
    _sre_c.CATEGORY_WORD: _WORD_CHARS + "ABCXYZ_",
    _sre_c.CATEGORY_SPACE: " ",
    _sre_c.CATEGORY_NOT_DIGIT: "abcxyz",
    _sre_c.CATEGORY_NOT_WORD: "-. ",
    _sre_c.CATEGORY_NOT_SPACE: "abc123",
}


def _from_pattern(pattern: str, rnd: random.Random, lo: int, hi: int | None) -> str | None:
    try:
        compiled = re.compile(pattern)
        tree = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    for _ in range(10):
        try:
            value = _emit(tree, rnd)
        except (ValueError, IndexError):
            return None
        if compiled.search(value) and len(value) >= lo and (hi is None or len(value) <= hi):
            return value
    return None


def _charset(items: list, rnd: random.Random) -> str:
    negate = False
    chars: list[str] = []
    for op, av in items:
        if op is _sre_c.NEGATE:
            negate = True
        elif op is _sre_c.LITERAL:
            chars.append(chr(av))
        elif op is _sre_c.RANGE:
            a, b = av
            chars.extend(chr(c) for c in range(a, min(b, a + 200) + 1))
        elif op is _sre_c.CATEGORY:
            chars.extend(_CAT.get(av, "a"))
    if negate:
        banned = set(chars)
        pool = [c for c in _WORD_CHARS + "ABC-_ ." if c not in banned]
        return rnd.choice(pool)
    return rnd.choice(chars)


def _emit(tree: Any, rnd: random.Random) -> str:
    out: list[str] = []
    for op, av in tree:
        if op is _sre_c.LITERAL:
            out.append(chr(av))
        elif op is _sre_c.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")
        elif op is _sre_c.ANY:
            out.append(rnd.choice(_WORD_CHARS))
        elif op is _sre_c.IN:
            out.append(_charset(av, rnd))
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT, getattr(_sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 4 if hi is _sre_c.MAXREPEAT else min(hi, lo + 4)
            for _ in range(rnd.randint(lo, hi)):
                out.append(_emit(sub, rnd))
        elif op is _sre_c.SUBPATTERN:
            out.append(_emit(av[-1], rnd))
        elif op is _sre_c.BRANCH:
            out.append(_emit(rnd.choice(av[1]), rnd))
        elif op is _sre_c.CATEGORY:
            out.append(rnd.choice(_CAT.get(av, "a")))
        elif op is _sre_c.ATOMIC_GROUP if hasattr(_sre_c, "ATOMIC_GROUP") else False:
            out.append(_emit(av, rnd))
        # AT (anchors), ASSERT/ASSERT_NOT and GROUPREF are skipped; the result is re-checked by the caller.
    return "".join(out)
