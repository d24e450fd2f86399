"""JSON Schema -> the TypeScript-like types gpt-oss reads in its Harmony developer message.

Follows openai-harmony's renderer rule for rule (checked against the library in tests/prompts):
- `string` with `enum` -> `"a" | "b"`; `integer` and `number` -> `number`; `boolean` -> `boolean`;
- `array` -> `T[]`, or `Array<any>` without `items`; a type list -> its members joined with ` | `;
- a nested object -> `{ ... }` with its properties indented four more spaces;
- `nullable: true` appends ` | null`; `oneOf` -> one `| variant` line per member, with trailing comments;
- anything else (`anyOf`, `allOf`, `$ref`, a missing type) -> `any`;
- property comments: `title` (`// title` then `//`), `description`, `examples`; `?` marks optional properties;
  a default becomes a trailing `// default: X` (strings quoted unless the property is an enum).
The odd spacing (no space before `{`, `},` closing a nested object at the inner indent) is what the model
was trained on, so it is reproduced as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["schema_to_typescript", "tools_namespace"]


def tools_namespace(tools: list[tuple[str, str, Mapping[str, Any] | None]]) -> str:
    """The `# Tools` section for the `functions` namespace: (name, description, parameters or None) each."""
    lines = ["## functions\n", "namespace functions {\n"]
    for name, description, parameters in tools:
        lines.extend(f"// {line}" for line in _lines(description))
        if parameters is None:
            lines.append(f"type {name} = () => any;\n")
        else:
            lines.append(f"type {name} = (_: {schema_to_typescript(parameters, '')}) => any;\n")
    lines.append("} // namespace functions")
    return "# Tools\n\n" + "\n".join(lines)


def schema_to_typescript(schema: Any, indent: str) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    one_of = schema.get("oneOf")
    if isinstance(one_of, list):
        return "".join(f"\n{indent} | {_variant(variant, indent)}" for variant in one_of)
    kind = schema.get("type")
    if isinstance(kind, list):
        names = ["number" if k == "integer" else k for k in kind if isinstance(k, str)]
        if names:
            return " | ".join(names)
    if not isinstance(kind, str):
        return "any"
    if kind == "object":
        return _object(schema, indent)
    if kind == "string":
        enum = schema.get("enum")
        values = [f'"{v}"' for v in enum if isinstance(v, str)] if isinstance(enum, list) else []
        return " | ".join(values) if values else "string"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        if "items" in schema:
            return schema_to_typescript(schema["items"], indent) + "[]"
        return "Array<any>"
    return "any"


def _variant(variant: Any, indent: str) -> str:
    """One member of a top-level oneOf: its type, then its description and default as one trailing comment."""
    text = _with_nullable(variant, schema_to_typescript(variant, indent + "   "))
    comments = []
    if isinstance(variant, Mapping):
        if isinstance(variant.get("description"), str):
            comments.append(variant["description"])
        if "default" in variant:
            comments.append("default: " + _default(variant))
    return text + (" // " + " ".join(comments) if comments else "")


def _object(schema: Mapping[str, Any], indent: str) -> str:
    out = []
    if isinstance(schema.get("description"), str):
        out.append(f"{indent}// {schema['description']}\n")
    out.append("{\n")
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        required = schema.get("required")
        required_names = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
        for key, value in properties.items():
            out.append(_property(key, value if isinstance(value, Mapping) else {}, key in required_names, indent))
    out.append(f"{indent}}}")
    return "".join(out)


def _property(key: str, prop: Mapping[str, Any], required: bool, indent: str) -> str:
    out = []
    mark = "" if required else "?"
    if isinstance(prop.get("title"), str):
        out.append(f"{indent}// {prop['title']}\n{indent}//\n")
    has_one_of = "oneOf" in prop
    if not has_one_of and isinstance(prop.get("description"), str):
        out.append(f"{indent}// {prop['description']}\n")
    examples = prop.get("examples")
    if isinstance(examples, list) and examples:
        out.append(f"{indent}// Examples:\n")
        out.extend(f'{indent}// - "{example}"\n' for example in examples if isinstance(example, str))
    if isinstance(prop.get("oneOf"), list):
        out.append(_one_of_property(key, prop, mark, indent))
        return "".join(out)
    out.append(f"{indent}{key}{mark}: ")
    out.append(_with_nullable(prop, schema_to_typescript(prop, indent + "    ")))
    out.append(",")
    if not has_one_of and "default" in prop:
        out.append(" // default: " + _default(prop))
    out.append("\n")
    return "".join(out)


def _one_of_property(key: str, prop: Mapping[str, Any], mark: str, indent: str) -> str:
    variants: list[Any] = prop["oneOf"]
    description = prop.get("description") if isinstance(prop.get("description"), str) else None
    first = variants[0] if variants else None
    same_as_first = description is not None and isinstance(first, Mapping) and first.get("description") == description
    out = []
    described_above = description is not None and not same_as_first
    if described_above:
        out.append(f"{indent}// {description}\n")
    if "default" in prop:
        out.append(f"{indent}// default: {_default(prop)}\n")
    out.append(f"{indent}{key}{mark}:\n")
    for position, variant in enumerate(variants):
        out.append(f"{indent} | " + _with_nullable(variant, schema_to_typescript(variant, indent + "   ")))
        comments = []
        if isinstance(variant, Mapping):
            variant_description = variant.get("description")
            if (
                not (position == 0 and described_above)
                and isinstance(variant_description, str)
                and variant_description != description
            ):
                comments.append(variant_description)
            if "default" in variant:
                comments.append("default: " + _default(variant))
        out.append((" // " + " ".join(comments) if comments else "") + "\n")
    out.append(f"{indent},\n")
    return "".join(out)


def _with_nullable(schema: Any, text: str) -> str:
    if isinstance(schema, Mapping) and schema.get("nullable") is True and "null" not in text:
        return text + " | null"
    return text


def _default(schema: Mapping[str, Any]) -> str:
    """A default as harmony prints it: strings quoted unless the schema is an enum, the rest as compact JSON."""
    value = schema["default"]
    if isinstance(value, str):
        enum = schema.get("enum")
        return value if isinstance(enum, list) and enum else f'"{value}"'
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _lines(text: str) -> list[str]:
    """Rust's str::lines: split on \\n, drop one trailing \\r per line, no empty line for a final \\n."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]
