"""Fake JSON-Schema instances validate against their schema (checked with the jsonschema package)."""

import random

import jsonschema
import pytest

from fakeai.modes.synthetic.jsonschema_fake import SchemaError, fake_instance, fake_json_object

WEATHER = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}

SCHEMAS = {
    "weather": WEATHER,
    "strict": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "when": {"type": "string", "format": "date-time"},
            "n": {"type": "integer", "minimum": 5, "exclusiveMaximum": 8},
            "x": {"type": "number", "multipleOf": 0.5, "minimum": 1, "maximum": 3},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 5}, "minItems": 2, "maxItems": 4, "uniqueItems": True},
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
            "kind": {"const": "fixed"},
        },
        "required": ["id", "when", "n", "x", "ratio", "tags", "flag", "nothing", "kind"],
        "additionalProperties": False,
    },
    "recursive_defs": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"v": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["v", "children"],
            }
        },
        "$ref": "#/$defs/node",
    },
    "definitions": {
        "definitions": {"color": {"type": "string", "enum": ["red", "green"]}},
        "type": "object",
        "properties": {"c": {"$ref": "#/definitions/color"}},
        "required": ["c"],
    },
    "any_of": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 10}]},
    "one_of": {"oneOf": [{"type": "string"}, {"type": "null"}]},
    "all_of": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"const": "x"}}, "required": ["b"]},
        ]
    },
    "map": {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 1},
    "type_list": {"type": ["string", "null"], "pattern": "^(foo|bar)[0-9]+$"},
    "formats": {
        "type": "object",
        "properties": {f: {"type": "string", "format": f} for f in ("email", "uuid", "date", "uri", "ipv4")},
        "required": ["email", "uuid", "date", "uri", "ipv4"],
    },
    "tuple": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False, "minItems": 2},
    "string_len": {"type": "string", "minLength": 40, "maxLength": 45},
    "untyped": {"properties": {"q": {"type": "string"}}, "required": ["q"]},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_instances_validate(name):
    schema = SCHEMAS[name]
    rnd = random.Random(name)
    for _ in range(100):
        value = fake_instance(schema, rnd)
        jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


def test_deterministic_with_seeded_random():
    assert fake_instance(SCHEMAS["strict"], random.Random(3)) == fake_instance(SCHEMAS["strict"], random.Random(3))


def test_plausible_values():
    value = fake_instance(WEATHER, random.Random(1))
    assert "," in value["location"]  # "Paris, France", not gibberish


def test_unresolvable_ref():
    with pytest.raises(SchemaError):
        fake_instance({"$ref": "#/$defs/missing"}, random.Random(1))


def test_json_object_without_schema():
    obj = fake_json_object(random.Random(1), ["volcanoes"])
    assert isinstance(obj, dict) and obj["topic"] == "volcanoes" and obj["summary"]
