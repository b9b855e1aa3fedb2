"""The shipped JSON Schema agrees with `_contract`, the one home of the record's fields."""

from __future__ import annotations

import json
from importlib import resources

from llmops_logging import _contract


def _schema() -> dict[str, object]:
    text = resources.files("llmops_logging").joinpath("record.schema.json").read_text("utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


def test_schema_requires_exactly_the_core_fields_in_order() -> None:
    assert _schema()["required"] == list(_contract.CORE_FIELDS)


def test_schema_levels_are_the_contract_levels() -> None:
    properties = _schema()["properties"]
    assert isinstance(properties, dict)
    assert properties[_contract.LEVEL]["enum"] == list(_contract.LEVELS)


def test_schema_names_every_boundary_kind() -> None:
    text = json.dumps(_schema())
    for kind in (*_contract.RUN_KINDS, *_contract.STEP_KINDS):
        assert f'"{kind}"' in text
