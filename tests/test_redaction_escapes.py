"""Redaction has no side door: what is written is exactly what the redactor saw.

Each test plants fresh secrets in one place a record can carry them, through both routes
(structlog's `ll.get_logger()` and stdlib `logging` with `extra=` and `%` arguments), then reads
the raw bytes of the log and the parsed records: the secret is absent, and what stands in its
place is the marker.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import logging
import secrets
import string
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.redaction import MARKER

from .conftest import assert_contract, read_records


def fresh(n: int = 24, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def written(log_dir: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """The raw bytes of the log's files and their records, after closing the handler."""
    ll.reset()
    data = b"".join(p.read_bytes() for p in sorted(log_dir.glob("events.jsonl*")))
    records = read_records(log_dir)
    for record in records:
        assert_contract(record)
    return data, records


def by_event(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["event"]: r for r in records}


def assert_absent(data: bytes, *planted: str) -> None:
    leaked = [s for s in planted if s.encode() in data]
    assert not leaked, f"written to the log: {leaked}"


def test_secrets_used_as_keys_are_replaced_and_not_echoed_in_the_paths(tmp_path: Path) -> None:
    top, nested, deep, extra_top, extra_nested = (fresh() for _ in range(5))
    ll.configure(tmp_path)
    ll.get_logger("app").info(
        "keys",
        **{f"sk-proj-{top}": 1},
        data={"a": {f"password={nested}": "v", f"Bearer {deep}9": 2}, "plain": "kept"},
    )
    logging.getLogger("lib").warning(
        "extra keys", extra={f"api_key={extra_top}": 1, "meta": {f"sk-{extra_nested}": 2}}
    )
    data, records = written(tmp_path)

    assert_absent(data, top, nested, deep, extra_top, extra_nested)
    keys, extra = by_event(records)["keys"], by_event(records)["extra keys"]
    assert keys[f"sk-{MARKER}"] == 1
    assert keys["data"] == {"a": {f"password={MARKER}": MARKER, f"Bearer {MARKER}": 2},
                            "plain": "kept"}  # fmt: skip
    assert keys["redacted"] == [f"sk-{MARKER}", f"data.a.password={MARKER}",
                                f"data.a.Bearer {MARKER}"]  # fmt: skip
    assert extra[f"api_key={MARKER}"] == MARKER and extra["meta"] == {f"sk-{MARKER}": 2}


@dataclasses.dataclass
class Settings:
    region: str


Creds = collections.namedtuple("Creds", "user password")


def test_converted_objects_are_walked_before_they_are_written(tmp_path: Path) -> None:
    enum_pw, enum_key, attr, field, arg = (fresh() for _ in range(5))
    # Enum members whose values hold secrets (made per test, so the secrets are fresh).
    endpoint = enum.Enum("Endpoint", {"PRIMARY": f"postgres://app:{enum_pw}@db/x",
                                      "KEYS": (("api_key", enum_key),)})  # fmt: skip
    settings = Settings("eu-west-1")
    settings.password = attr  # type: ignore[attr-defined]  # set outside the fields
    ll.configure(tmp_path)
    ll.get_logger("app").info(
        "objects",
        url=endpoint.PRIMARY,
        keys={"pair": endpoint.KEYS},
        settings=settings,
        creds=Creds("bob", field),
    )
    logging.getLogger("lib").warning(
        "login as %s", Creds("eve", arg), extra={"creds": Creds("eve", arg), "settings": settings}
    )
    data, records = written(tmp_path)

    assert_absent(data, enum_pw, enum_key, attr, field, arg)
    objects = by_event(records)["objects"]
    assert objects["url"] == f"postgres://app:{MARKER}@db/x"
    assert objects["keys"] == {"pair": [["api_key", MARKER]]}
    assert objects["settings"] == {"region": "eu-west-1"}
    assert objects["creds"] == {"user": "bob", "password": MARKER}
    stdlib = next(r for r in records if r["logger"] == "lib")
    assert stdlib["creds"] == {"user": "eve", "password": MARKER}
    assert stdlib["event"] == f"login as Creds(user='eve', password='{MARKER}')"


def test_messages_built_from_a_mapping_never_hold_its_secrets(tmp_path: Path) -> None:
    structlog_pw, stdlib_pw, stdlib_token = fresh(), fresh(), fresh()
    ll.configure(tmp_path)
    log = ll.get_logger("app")
    log.info("login %(user)s %(password)s", {"user": "bob", "password": structlog_pw})
    logging.getLogger("lib").warning(
        "login %(user)s with %(api_token)s", {"user": "eve", "api_token": stdlib_token}
    )
    logging.getLogger("lib").warning("bad %(password)d", {"password": stdlib_pw})
    data, records = written(tmp_path)

    assert_absent(data, structlog_pw, stdlib_pw, stdlib_token)
    assert records[0]["event"] == f"login bob {MARKER}"
    assert records[1]["event"] == f"login eve with {MARKER}"
    assert records[2]["event"] == "bad %(password)d" and "format_error" in records[2]


@pytest.mark.parametrize(
    "template",
    [
        "redis://:{}@cache:6379/0",  # an empty user
        "postgres://app:{}@db:5432/prod",
        "amqp://guest:p@ss/w0rd{}@mq/vhost",  # `@` and `/` in the password
        "https://bot:{}@@example.org/x",
    ],
)
def test_url_passwords_of_any_shape(tmp_path: Path, template: str) -> None:
    secret = fresh()
    url = template.format(secret)
    ll.configure(tmp_path)
    ll.get_logger("app").info(f"connecting to {url} now", dsn=url)
    logging.getLogger("lib").warning("connecting to %s", url, extra={"dsn": url})
    data, records = written(tmp_path)

    assert_absent(data, secret)
    host = url.rsplit("@", 1)[1]
    for record in records:
        assert record["dsn"].endswith(f"{MARKER}@{host}"), record["dsn"]
        assert "dsn" in record["redacted"]


@pytest.mark.parametrize(
    "template",
    ["x1token={}", "Xpassword={}", "abcapi_key: {}", "q=1%3Dtoken%3D{}", "a%3Dpassword%3D{}&b=2",
     "7pwd={}", "secret%3d{}"],
)  # fmt: skip
def test_keys_glued_to_what_precedes_them(tmp_path: Path, template: str) -> None:
    secret = fresh()
    text = template.format(secret)
    ll.configure(tmp_path)
    ll.get_logger("app").info(f"got {text}", query=text)
    logging.getLogger("lib").warning("got %s", text, extra={"query": text})
    data, records = written(tmp_path)

    assert_absent(data, secret)
    assert all(MARKER in r["query"] and MARKER in r["event"] for r in records)


def test_header_lists_of_name_value_pairs(tmp_path: Path) -> None:
    bearer, api_key, cookie, set_cookie, raw_cookie = (fresh() for _ in range(5))
    headers = [
        ("Authorization", f"Bearer {bearer}"),
        (b"api-key", api_key.encode()),
        ("Cookie", f"sid={cookie}"),
        ("Set-Cookie", f"sid={set_cookie}; Path=/; HttpOnly"),
        ("Content-Type", "application/json"),
    ]
    ll.configure(tmp_path, level="DEBUG")
    ll.get_logger("app").debug("request", headers=headers)
    http = logging.getLogger("openai._base_client")
    http.debug("Request options: %s", {"headers": headers})
    http.debug("HTTP Response headers: %s", [(b"set-cookie", f"__cf={raw_cookie}".encode())])
    http.debug("response", extra={"headers": headers})
    data, records = written(tmp_path)

    assert_absent(data, bearer, api_key, cookie, set_cookie, raw_cookie)
    expected = [["Authorization", MARKER], ["api-key", MARKER], ["Cookie", MARKER],
                ["Set-Cookie", MARKER], ["Content-Type", "application/json"]]  # fmt: skip
    structlog_record, options, response, extra = records
    assert structlog_record["headers"] == expected and extra["headers"] == expected
    assert "headers.1.1" in structlog_record["redacted"]
    assert "application/json" in options["event"] and MARKER in response["event"]


def test_secrets_in_kind_and_logger_names(tmp_path: Path) -> None:
    in_kind, in_name, in_stdlib_name = fresh(), fresh(), fresh()
    ll.configure(tmp_path)
    ll.get_logger(f"svc.token={in_name}").info("x", kind=f"password={in_kind}")
    logging.getLogger(f"client api_key={in_stdlib_name}").warning("y")
    ll.get_logger("auth.password_reset").info("z", kind="api_key_rotation")  # nothing to hide
    data, records = written(tmp_path)

    assert_absent(data, in_kind, in_name, in_stdlib_name)
    x, y, z = records
    assert x["kind"] == f"password={MARKER}" and x["logger"] == f"svc.token={MARKER}"
    assert sorted(x["redacted"]) == ["kind", "logger"]
    assert y["logger"] == f"client api_key={MARKER}" and y["redacted"] == ["logger"]
    assert (z["logger"], z["kind"]) == ("auth.password_reset", "api_key_rotation")


B64 = string.ascii_letters + string.digits + "+/"
URLSAFE = string.ascii_letters + string.digits + "-_"


def catalogue() -> list[tuple[str, str, str]]:
    """(name, the secret, the text that carries it) for what vendors issue today."""
    hex64, amz_id = fresh(64, "0123456789abcdef"), "AKIA" + fresh(16, string.ascii_uppercase)
    sas = fresh(43, B64) + "="
    account_key = fresh(86, B64) + "=="
    aws_secret = fresh(40, B64)
    rows = [
        ("aws signed url", hex64,
         "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261130T000000Z"
         f"&X-Amz-Signature={hex64}"),
        ("gcs signed url", hex64 * 4,
         f"https://storage.googleapis.com/b/o?X-Goog-Expires=900&X-Goog-Signature={hex64 * 4}"),
        ("azure sas", sas.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"),
         "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig="
         + sas.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D") + "&se=2026"),
        ("azure account key", account_key,
         f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={account_key}"),
        ("azure account key alone", account_key, f"key1 {account_key} (rotate monthly)"),
        ("slack app", slack := "xapp-1-A0" + fresh(9, string.ascii_uppercase) + "-" + fresh(13,
         string.digits) + "-" + fresh(64, "0123456789abcdef"), f"socket mode with {slack}"),
        ("google oauth secret", g := "GOCSPX-" + fresh(28, URLSAFE), f"client secret {g}"),
        ("google access token", y := "ya29." + fresh(120, URLSAFE), f"token {y} expires"),
        ("webhook secret", w := "whsec_" + fresh(32, B64), f"signing with {w}"),
        ("npm", n := "npm_" + fresh(36), f"//registry.npmjs.org/:_authToken {n}"),
        ("sendgrid", sg := "SG." + fresh(22, URLSAFE) + "." + fresh(43, URLSAFE), f"mail {sg}"),
        ("aws secret near its id", aws_secret,
         f"Access key ID,Secret access key\n{amz_id},{aws_secret}\n"),
    ]  # fmt: skip
    return rows


@pytest.mark.parametrize("row", range(len(catalogue())), ids=[r[0] for r in catalogue()])
def test_vendor_tokens(tmp_path: Path, row: int) -> None:
    name, secret, text = catalogue()[row]
    ll.configure(tmp_path)
    ll.get_logger("app").info(f"{name}: {text}", value=text, nested={"v": [text]})
    logging.getLogger("lib").warning("%s: %s", name, text, extra={"value": text})
    data, records = written(tmp_path)

    assert_absent(data, secret)
    assert all(MARKER in r["value"] and MARKER in r["event"] for r in records)
    assert json.loads(json.dumps(records[0]["nested"]))["v"][0] == records[0]["value"]
