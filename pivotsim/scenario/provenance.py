"""Provenance of a scenario's numbers: every Quantity with its dotted path."""
from pydantic import BaseModel

from .quantity import Quantity


def plain_data(obj):
    """Quantities as dicts and dates kept, for re-validation."""
    if isinstance(obj, dict):
        return {k: plain_data(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain_data(v) for v in obj]
    return obj


def iter_quantities(model: BaseModel, prefix: str = ""):
    """Yield ``(dotted_path, Quantity)`` for every number in a model tree."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        yield from _iter_value(value, path)


def _iter_value(value, path):
    if isinstance(value, Quantity):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from iter_quantities(value, path + ".")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _iter_value(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _iter_value(item, f"{path}.{key}")


