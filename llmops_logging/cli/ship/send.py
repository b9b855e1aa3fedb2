"""Where and how `ship` sends: the endpoint, its headers, and one batch at a time until the
backend answers for it.

- The URL is `--to`, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as it is), else
  `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` added), else the preset's; a `--to` with no path
  gets the preset's path (`/v1/traces`, Langfuse's `/api/public/otel/v1/traces`).
- Headers: `OTEL_EXPORTER_OTLP_HEADERS`, then `..._TRACES_HEADERS`, then `--header`, later ones
  winning (`k=v` pairs, comma-separated, values percent-decoded, as the specification says).
  Their values are secrets: nothing here prints, logs or stores one; what is shown of the
  endpoint drops its user, password and query.
- Bodies are gzipped. 2xx is acknowledged. 429, 5xx and connection errors are retried with
  exponential backoff and full jitter, waiting at least what `Retry-After` asks (in seconds, at
  most `MAX_WAIT_S`); 400 and 413 are a refusal of the batch (`Refused`); other answers
  (401, 403, 404, 415, ...) say the configuration is wrong (`Fatal`).
- TLS certificates are verified unless `insecure`; headers sent over plain http to a host
  other than this machine's loopback are named in a warning (`in_clear`), since anyone on the
  network path can read them.
"""

from __future__ import annotations

import gzip
import http.client
import ipaddress
import os
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..._contract import MIME_JSON

PROTOBUF, JSON = "http/protobuf", "http/json"
CONTENT_TYPES = {PROTOBUF: "application/x-protobuf", JSON: MIME_JSON}
PRESETS: dict[str, tuple[str, str]] = {
    "phoenix": ("http://127.0.0.1:6006", "/v1/traces"),
    "mlflow": ("http://127.0.0.1:5000", "/v1/traces"),
    "langfuse": ("https://cloud.langfuse.com", "/api/public/otel/v1/traces"),
    "otel-collector": ("http://127.0.0.1:4318", "/v1/traces"),
}
TRACES_PATH = "/v1/traces"
MAX_WAIT_S = 60.0
BASE_WAIT_S = 0.25
TIMEOUT_S = 10.0
RETRY_STATUSES = frozenset({408, 429})


class Refused(Exception):
    """The backend refused a batch as malformed: it will never take it."""


class Fatal(Exception):
    """The backend refuses every batch: the endpoint, headers or protocol are wrong."""


def shown(url: str) -> str:
    """The URL without what may be a secret: user, password, query and fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def endpoint(to: str | None, preset: str | None, env: Mapping[str, str]) -> str:
    base, path = PRESETS.get(preset or "otel-collector", PRESETS["otel-collector"])
    if to:
        parts = urllib.parse.urlsplit(to)
        if parts.path not in ("", "/"):
            return to
        return urllib.parse.urlunsplit(parts._replace(path=path))  # before any query
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + TRACES_PATH
    return base + path


def in_clear(url: str, headers: Mapping[str, str]) -> bool:
    """Whether `headers` (API keys, tokens) would cross a network unencrypted: plain http to
    a host that is not this machine's loopback (`localhost`, 127.0.0.0/8, ::1)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "http" or not headers:
        return False
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: it may resolve anywhere
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return not (address.is_loopback or (mapped is not None and mapped.is_loopback))


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out.append((key.strip(), urllib.parse.unquote(value.strip())))
    return out


def headers(given: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """The headers to send; raises ValueError naming (never showing) a malformed one."""
    out: dict[str, str] = {}
    for name in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        out.update(_pairs(env.get(name, "")))
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError("--header takes KEY=VALUE (a header given without '=')")
        out[key.strip()] = value
    for key, value in out.items():
        if any(c in key + value for c in "\r\n"):
            raise ValueError(f"header {key!r}: a value may not hold a line break")
    return out


def protocol(given: str | None, env: Mapping[str, str]) -> str:
    for value in (
        given,
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        env.get("OTEL_EXPORTER_OTLP_PROTOCOL"),
    ):
        if value in CONTENT_TYPES:
            return value
    return PROTOBUF


@dataclass
class Sender:
    """Posts batches to one endpoint; `send` returns the response body once acknowledged."""

    url: str
    content_type: str
    headers: dict[str, str] = field(repr=False)
    insecure: bool = False
    timeout: float = TIMEOUT_S
    say: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 0
    retries: int = 0

    def __post_init__(self) -> None:
        context = ssl.create_default_context()
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirect()
        )

    def send(self, body: bytes, stop: Callable[[], bool] = lambda: False) -> bytes:
        data = gzip.compress(body, compresslevel=1)
        wait = BASE_WAIT_S
        failing = 0
        while True:
            self.attempts += 1
            retry_after: float | None = None
            try:
                return self._post(data)
            except urllib.error.HTTPError as exc:
                status = exc.code
                exc.close()
                if status in (400, 413):
                    raise Refused(f"HTTP {status} from {shown(self.url)}") from None
                if status not in RETRY_STATUSES and status < 500:
                    raise Fatal(f"HTTP {status} from {shown(self.url)}") from None
                retry_after = _seconds(exc.headers.get("Retry-After"))
                problem = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                cause = getattr(exc, "reason", exc)
                if isinstance(cause, ssl.SSLCertVerificationError):
                    raise Fatal(f"{shown(self.url)}: {cause.verify_message}") from None
                reason = getattr(exc, "reason", exc)  # a URLError wraps the socket's error
                problem = type(reason if isinstance(reason, BaseException) else exc).__name__
            failing += 1
            self.retries += 1
            if failing in (1, 10) or not failing % 100:
                self.say(f"{shown(self.url)}: {problem}; retrying (attempt {failing})")
            pause = random.uniform(0, wait)  # jitter, not a secret
            if retry_after is not None:
                pause = max(pause, min(retry_after, MAX_WAIT_S))
            wait = min(wait * 2, MAX_WAIT_S)
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline:
                if stop():
                    raise InterruptedError("stopped while the backend was failing")
                self.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _post(self, data: bytes) -> bytes:
        request = urllib.request.Request(self.url, data=data, method="POST")
        request.add_header("Content-Type", self.content_type)
        request.add_header("Content-Encoding", "gzip")
        for key, value in self.headers.items():
            request.add_header(key, value)
        with self.opener.open(request, timeout=self.timeout) as response:
            return bytes(response.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: it would carry the headers (secrets) to another host."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _seconds(value: str | None) -> float | None:
    """`Retry-After` in seconds (its HTTP-date form is taken as no hint)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def environment() -> Mapping[str, str]:
    return os.environ
