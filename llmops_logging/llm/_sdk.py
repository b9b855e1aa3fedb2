"""What every SDK instrumentation shares: an SDK module is only its hooks and converters.

`instrument()` is the body of each `instrument_*()`: the SDK must be importable (else an
ImportError naming the package to install), the price table starts loading, the SDK's own
request lines are quieted, and each method is wrapped on its class (every client) or on one
client's resource objects. `new_call()` starts a call from a request: its model and the
numeric sampling parameters and stop sequences the SDK names in its own way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import _price_table
from .._library_logs import quiet_sdk_request_lines
from ._call import LlmCall
from ._content import field_of
from ._patch import Hooks, Wrap, wrap_class, wrap_instance

Patch = tuple[Any, str, "Hooks | Wrap"]
"""A class or resource object, the name of its method, and the hooks (or wrapper) for it."""


def instrument(
    package: str,
    missing: str,
    classes: Callable[[], Iterable[Patch]],
    resources: Callable[[Any], Iterable[Patch]],
    client: Any = None,
) -> None:
    """Wrap the methods `classes()` names for every client, or those `resources(client)`
    names on one client; idempotent (see `_patch`). `missing` is the ImportError's message."""
    require(package, missing)
    quiet_sdk_request_lines()
    if client is None:
        for cls, name, patch in classes():
            wrap_class(cls, name, patch)
        return
    for resource, name, patch in resources(client):
        wrap_instance(resource, name, patch)


def require(package: str, missing: str) -> None:
    """Import `package` or raise an ImportError saying what to install; start loading prices."""
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(missing) from exc
    _price_table.preload()


def number(value: Any) -> bool:
    """A number a parameter or count may be (a bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def new_call(
    model: Any,
    provider: str,
    request: Any,
    params: Mapping[str, str],
    *,
    stop: str = "stop_sequences",
    operation: str = "chat",
) -> LlmCall:
    """A started call for `model` (a name, else "unknown"), with the numeric parameters of
    `request` (a mapping or an SDK's config object) named in `params` (the SDK's name to the
    `gen_ai.request.*` name) and its stop sequences (the field `stop`: a string or strings)."""
    name = model if isinstance(model, str) else "unknown"
    call = LlmCall(name, provider=provider, operation=operation)
    if request is not None:
        for param, key in params.items():
            value = field_of(request, param)
            if number(value):
                call.request[key] = value
        sequences = field_of(request, stop)
        if isinstance(sequences, str):
            call.request["stop_sequences"] = [sequences]
        elif isinstance(sequences, (list, tuple)) and all(isinstance(s, str) for s in sequences):
            call.request["stop_sequences"] = list(sequences)
    return call.start()
