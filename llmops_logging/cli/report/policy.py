"""What the page may do: its Content-Security-Policy, and data embedded so it stays data.

The page is built from hostile text, so a mistake in escaping must not leak it. The policy, a
`<meta http-equiv>` ahead of every script and style, forbids every load (`default-src 'none'`,
and `base-uri` and `form-action`, which do not fall back to it): no image, font, stylesheet,
frame, fetch or navigation by form leaves the page. Scripts run only if their SHA-256 is listed
(plotly.js and the one script that draws the charts), so injected markup runs nothing, and no
`eval`. Styles are allowed inline (`'unsafe-inline'`): plotly.js writes its own `<style>`
elements and style attributes as it draws, and a style can load nothing when every load is
forbidden. Images are allowed from `data:` and `blob:` only, for plotly's "download as PNG".

The charts' figures travel as JSON in a `<script type="application/json">` block, which no
browser runs; `<`, `>` and `&` are written as JSON escapes so that no text in it, whatever the
log held, can close the block.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside a `<script type="application/json">` element."""
    return orjson.dumps(value).decode().translate(_JSON_ESCAPES)


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
    return f"'sha256-{digest}'"


def content_security_policy(scripts: Iterable[str]) -> str:
    """The page's policy, allowing exactly the inline `scripts` given (their text, as written)."""
    allowed = " ".join(_sha256(script) for script in scripts)
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {allowed}",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
