"""Validation of OCSF events against the official OCSF schema, offline.

The schema is the OCSF project's own export (`/export/schema`), packaged for every release
1.0.0-1.8.0 by `ocsf-json-schema`, which also turns a class into JSON Schema (draft 2020-12):
required attributes (of the class and of every object in it), types, enum values of the `*_id`
attributes, the type patterns (`ip_t`, ...), `at_least_one` / `just_one` constraints, and no
attribute the schema does not define. `jsonschema` checks an event against it. On top of that,
two OCSF rules JSON Schema cannot express: a sibling caption (`severity`) must be the caption
of its id (`severity_id`) unless the id is 99 (Other), and `type_uid` must be
`class_uid * 100 + activity_id`.

Both packages are optional (the `siem` extra): the mapping does not need them, only validation
does. Patterns go through RE2, so event text never meets a backtracking regex.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import re2

from otel_apisec.siem.ocsf import CLASS_UID, OCSF_VERSION

__all__ = ["OcsfSchema", "OcsfValidationError", "ocsf_schema"]

_OTHER = "99"
_MAX_ERRORS = 20


class OcsfValidationError(ValueError):
    """An event is not valid OCSF. `errors` lists each problem as `<JSON path>: <what>`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("event is not valid OCSF: " + "; ".join(errors))


class OcsfSchema:
    """One OCSF version's Detection Finding class, ready to validate events (build once: it takes
    about 0.2 s; `ocsf_schema()` caches one per version)."""

    def __init__(self, version: str = OCSF_VERSION) -> None:
        try:
            import jsonschema
            from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions
        except ImportError as error:
            raise ImportError(
                f"OCSF validation needs the ocsf-json-schema and jsonschema packages ({error}); "
                "install otel-apisec[siem]"
            ) from error
        if version not in get_packaged_versions():
            raise ValueError(f"OCSF version {version!r} is not packaged (have {sorted(get_packaged_versions())})")
        self.version = version
        self.raw: dict[str, Any] = get_ocsf_schema(version)
        """The OCSF schema export itself: classes, objects, the dictionary with enum captions."""
        embedded = OcsfJsonSchemaEmbedded(self.raw)
        self.class_name: str = embedded.lookup_class_name_from_uid(CLASS_UID)
        self.json_schema: dict[str, Any] = embedded.get_class_schema(self.class_name, profiles=[])
        validator_class = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _re2_pattern})
        self._validator = validator_class(self.json_schema)  # (check_schema would cost 0.5 s: the tests run it)

    def errors(self, event: Mapping[str, Any]) -> list[str]:
        """Every problem found (at most 20), each as `<JSON path>: <what>`; empty when valid."""
        found = [
            f"{error.json_path}: {error.message[:200]}"
            for error in sorted(self._validator.iter_errors(event), key=lambda e: list(map(str, e.absolute_path)))
        ]
        found.extend(self._semantic_errors(event))
        return found[:_MAX_ERRORS]

    def check(self, event: Mapping[str, Any]) -> None:
        """Raise `OcsfValidationError` unless `event` is a valid Detection Finding."""
        found = self.errors(event)
        if found:
            raise OcsfValidationError(found)

    # -----------------------------------------------------------------------------------------

    def _semantic_errors(self, event: Mapping[str, Any]) -> Iterator[str]:
        if all(isinstance(event.get(k), int) for k in ("type_uid", "class_uid", "activity_id")):
            expected = event["class_uid"] * 100 + event["activity_id"]
            if event["type_uid"] != expected:
                yield f"$.type_uid: {event['type_uid']} is not class_uid * 100 + activity_id ({expected})"
        yield from self._sibling_errors(event, self.raw["classes"][self.class_name]["attributes"], "$")

    def _sibling_errors(self, instance: Mapping[str, Any], attributes: Mapping[str, Any], path: str) -> Iterator[str]:
        """Walk the event along the schema: each `*_id` with a caption sibling present must agree with it."""
        for name, value in instance.items():
            definition = attributes.get(name)
            if definition is None:
                continue  # reported by the JSON Schema pass
            sibling, enum = definition.get("sibling"), definition.get("enum")
            if sibling and enum and sibling in instance and str(value) in enum and str(value) != _OTHER:
                caption = enum[str(value)].get("caption")
                if instance[sibling] != caption:
                    yield f"{path}.{sibling}: {instance[sibling]!r:.60} is not the caption of {name}={value} ({caption!r})"
            object_type = definition.get("object_type")
            if object_type in self.raw["objects"]:
                children = value if isinstance(value, list) else [value]
                nested = self.raw["objects"][object_type]["attributes"]
                for index, child in enumerate(children):
                    if isinstance(child, Mapping):
                        where = f"{path}.{name}[{index}]" if isinstance(value, list) else f"{path}.{name}"
                        yield from self._sibling_errors(child, nested, where)


@functools.lru_cache(maxsize=4)
def ocsf_schema(version: str = OCSF_VERSION) -> OcsfSchema:
    """The `OcsfSchema` of `version`, built once per process."""
    return OcsfSchema(version)


def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """The JSON Schema `pattern` keyword with RE2 (linear time) instead of `re`. The message names
    the pattern's type, not the value: validation errors end up in logs."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"does not match the pattern OCSF defines for {schema.get('title', 'this type')!r}")


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)
