"""Page types: JSON Schemas (YAML or JSON) built in or dropped into ``schemas/``."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from veriwiki.core.page_types import PageType, TypeRegistry
from veriwiki.vault import Vault

__all__ = ["PageType", "TypeRegistry", "load_types", "page_template"]

SCHEMA_DIR = "schemas"
_EXTS = (".yaml", ".yml", ".json")


def _load_text(text: str, suffix: str) -> Any:
    return json.loads(text) if suffix == ".json" else yaml.safe_load(text)


# the built-in schemas are our own files: read with libyaml's safe loader when it is
# there (~7x faster; every check reads them), the vault's with the one whose errors
# the messages below quote
_BUILTIN_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _builtin_base() -> dict[str, Any]:
    text = resources.files("veriwiki.builtin.schemas").joinpath("_base.yaml").read_text("utf-8")
    return dict(yaml.load(text, Loader=_BUILTIN_LOADER))  # noqa: S506 - a safe loader


def _make(name: str, raw: dict[str, Any], base: dict[str, Any], origin: str,
          check: bool = True) -> PageType:
    """A page type from its schema file; ``check`` validates the schema itself (built-in
    schemas are validated by the tests instead, which saves every command the time)."""
    schema = copy.deepcopy(raw)
    ext = schema.pop("x-veriwiki", None) or {}
    schema.setdefault("type", "object")
    props = dict(base.get("properties", {}))
    props.update(schema.get("properties", {}))
    props["type"] = {"const": name}
    schema["properties"] = props
    if check:
        Draft202012Validator.check_schema(schema)
    return PageType(name, schema, origin,
                    Draft202012Validator(schema, format_checker=FormatChecker()),
                    str(raw.get("description", "")), str(ext.get("body", "# {title}\n")),
                    dict(ext.get("defaults", {})), bool(ext.get("requires_citations", False)))


def load_types(vault: Vault | None) -> TypeRegistry:
    """Built-in types overridden or extended by the vault's ``schemas/`` files."""
    base = _builtin_base()
    types: dict[str, PageType] = {}
    errors: list[tuple[str, int, str]] = []
    folder = resources.files("veriwiki.builtin.schemas")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("_") or not entry.name.endswith(".yaml"):
            continue
        name = entry.name[:-5]
        types[name] = _make(name, yaml.load(entry.read_text("utf-8"), Loader=_BUILTIN_LOADER), base,
                            f"built-in:{name}", check=False)
    if vault is not None:
        sdir = vault.root / SCHEMA_DIR
        if sdir.is_dir():
            for path in sorted(sdir.iterdir()):
                if path.suffix not in _EXTS or path.name.startswith((".", "_")):
                    continue
                rel = f"{SCHEMA_DIR}/{path.name}"
                try:
                    raw = _load_text(path.read_text("utf-8"), path.suffix)
                    if not isinstance(raw, dict):
                        raise ValueError("a schema must be a mapping (a JSON Schema object)")
                    types[path.stem] = _make(path.stem, raw, base, rel)
                except yaml.MarkedYAMLError as exc:
                    line = exc.problem_mark.line + 1 if exc.problem_mark else 1
                    errors.append((rel, line, f"schema is not valid YAML: {exc.problem}"))
                except (ValueError, UnicodeDecodeError) as exc:
                    errors.append((rel, 1, f"schema cannot be read: {exc}"))
                except SchemaError as exc:
                    errors.append((rel, 1, f"not a valid JSON Schema: {exc.message}"))
    base_schema = dict(base)
    return TypeRegistry(types, errors, Draft202012Validator(base_schema,
                                                            format_checker=FormatChecker()))


def page_template(ptype: PageType | None, title: str) -> str:
    """The initial text of a new page of ``ptype`` titled ``title``."""
    fm: dict[str, Any] = {"title": title}
    if ptype is not None:
        fm["type"] = ptype.name
        fm.update(copy.deepcopy(ptype.defaults))
    body = (ptype.body if ptype else "# {title}\n").replace("{title}", title)
    dumped = yaml.safe_dump(fm, sort_keys=False, allow_unicode=True)
    return f"---\n{dumped}---\n{body}"


