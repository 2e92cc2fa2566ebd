"""The edit form of an approval, built from the tool's argument schema (`ToolSpec.args_model`).

Fields, types, limits and patterns come from the model's JSON schema, so a tool that gains an
argument gains a field; what the operator typed is validated by the same model the tool gateway
validates with, before anything is sent to the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tools.base import ToolSpec

PREFIX = "arg__"
_LABELS = {"usd": "(USD)", "id": "ID", "last4": "(last 4 digits)"}


@dataclass
class Field:
    name: str
    label: str
    kind: str  # integer | decimal | text | textarea | boolean | select
    required: bool
    value: str
    maxlength: int | None = None
    minlength: int | None = None
    pattern: str | None = None
    choices: list[str] = field(default_factory=list)
    help: str = ""
    error: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _label(name: str) -> str:
    words = [_LABELS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in prop.get("anyOf", [prop]) if isinstance(b, dict)]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def edit_fields(spec: ToolSpec, args: dict[str, Any]) -> list[Field]:
    """One field per argument of the tool, filled with `args` (the proposed call)."""
    schema = spec.args_model.model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        branches = _branches(prop)
        types = {b.get("type") for b in branches}
        text_branch = next((b for b in branches if b.get("type") == "string"), {})
        enum = next((b["enum"] for b in branches if "enum" in b), None)
        if enum:
            kind = "select"
        elif types == {"integer"} or types == {"integer", "null"}:
            kind = "integer"
        elif "number" in types:
            kind = "decimal"
        elif "boolean" in types:
            kind = "boolean"
        elif (text_branch.get("maxLength") or 0) > 200:
            kind = "textarea"
        else:
            kind = "text"
        fields.append(
            Field(
                name=name,
                label=_label(name),
                kind=kind,
                required=name in required,
                value=_as_text(args.get(name, prop.get("default"))),
                maxlength=text_branch.get("maxLength"),
                minlength=text_branch.get("minLength"),
                pattern=text_branch.get("pattern"),
                choices=[str(c) for c in enum] if enum else [],
                help=str(prop.get("description") or ""),
            )
        )
    return fields


def parse_edit(
    spec: ToolSpec, form: dict[str, str], proposed: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[Field]]:
    """The edited arguments, validated by the tool's model; or None and the fields with their errors."""
    fields = edit_fields(spec, proposed)
    raw: dict[str, Any] = {}
    for f in fields:
        text = form.get(f.input_name, "").strip()
        f.value = text
        if text == "":
            if f.required:
                f.error = "required"
            continue
        if f.kind == "boolean":
            if text not in ("true", "false"):
                f.error = "choose yes or no"
                continue
            raw[f.name] = text == "true"
        else:
            raw[f.name] = text  # the model's own validators read numbers and amounts from text
    if any(f.error for f in fields):
        return None, fields
    try:
        parsed = spec.args_model.model_validate(raw)
    except ValidationError as exc:
        by_name = {f.name: f for f in fields}
        for error in exc.errors():
            loc = str(error["loc"][0]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            target = by_name.get(loc)
            if target is None:  # not one of the fields (e.g. an unexpected argument)
                fields.append(
                    Field(name=loc or "args", label=_label(loc or "arguments"), kind="text", required=False, value="")
                )
                target = fields[-1]
            target.error = message
        return None, fields
    return parsed.model_dump(mode="json", exclude_none=True), fields
