"""Redaction: planted secrets never reach the bytes of any file of the log.

Secrets are generated afresh (seeded), planted in every place a record can carry them (the
message, fields at any depth, sensitive keys, exceptions, bytes, objects, stdlib messages,
arguments, `extra`, exception text), and the raw bytes of every `events.jsonl*` file are
scanned for them. Token counts must survive as numbers.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import logging
import random
import re
import string
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmops_logging as ll
from llmops_logging import _redaction_rules as rules
from llmops_logging.redaction import MARKER, Redactor

from .conftest import read_records

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def log_bytes(log_dir: Path) -> bytes:
    """The bytes of every file of the log, gzipped ones decompressed."""
    files = sorted(log_dir.glob("events.jsonl*"))
    assert files
    return b"".join(gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
                    for f in files)  # fmt: skip


def assert_absent(data: bytes, secrets: Mapping[str, str]) -> None:
    leaked = [name for name, secret in secrets.items() if secret.encode() in data]
    assert not leaked, f"secrets written to the log: {leaked}"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_secrets(rng: random.Random) -> dict[str, str]:
    """Realistic secrets; each value is the part that must never be written."""

    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    claims = {"sub": pick(ALNUM, 12), "iat": rng.randrange(10**9, 2 * 10**9)}
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    pem_body = "\n".join(
        base64.b64encode(rng.randbytes(48)).decode() for _ in range(4)
    )  # each line is 64 characters
    return {
        "openai": "sk-proj-" + pick(ALNUM + "-_", 48),
        "anthropic": "sk-ant-api03-" + pick(ALNUM + "-_", 60),
        "bearer": pick(ALNUM + "._-", 40),
        "jwt": f"{header}.{payload}.{_b64url(rng.randbytes(32))}",
        "aws": "AKIA" + pick(UPPER_DIGITS, 16),
        "github": "ghp_" + pick(ALNUM, 36),
        "github_pat": "github_pat_" + pick(ALNUM + "_", 70),
        "slack": "xoxb-" + pick(string.digits, 12) + "-" + pick(ALNUM, 24),
        "google": "AIza" + pick(ALNUM + "-_", 35),
        "huggingface": "hf_" + pick(ALNUM, 34),
        "stripe": "sk_live_" + pick(ALNUM, 24),
        "pem_body": pem_body,
        "password": pick(ALNUM + "!#$%*+", 16),
        "url_password": pick(ALNUM, 14),
        "cookie": pick(ALNUM, 28),
        "client_secret": pick(ALNUM + " ", 24).strip() + "x",
        "short_pin": pick(string.digits, 4),
    }


def pem(s: dict[str, str]) -> str:
    return f"-----BEGIN RSA PRIVATE KEY-----\n{s['pem_body']}\n-----END RSA PRIVATE KEY-----\n"


@dataclasses.dataclass
class ClientConfig:
    base_url: str
    api_key: str
    timeout: float = 30.0


class Headers(Mapping[str, str]):
    """A mapping that is not a dict, like httpx.Headers."""

    def __init__(self, **items: str) -> None:
        self._items = {k.replace("_", "-"): v for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Model:
    """Looks like a pydantic model to the renderer."""

    def __init__(self, token: str) -> None:
        self.token = token

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"kind": "model", "credentials": {"token": self.token}}


class Client:
    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Client(api_key={self.key!r}, retries=3)"


def plant_structlog(s: dict[str, str]) -> int:
    """Log one record per place a secret can hide; return how many records were logged."""
    log = ll.get_logger("agent")
    calls: list[Callable[[], None]] = [
        lambda: log.info(f"calling the API with {s['openai']}"),
        lambda: log.info(f"login password={s['password']} user=bob"),
        lambda: log.info("note", note=f"token was {s['anthropic']} before rotation"),
        lambda: log.info("jwt", claims=s["jwt"]),
        lambda: log.info("aws", config={"region": "eu-west-1", "key_id": s["aws"]}),
        lambda: log.info(
            "http",
            headers={
                "Authorization": f"Bearer {s['bearer']}",
                "Cookie": f"session={s['cookie']}",
                "Proxy-Authorization": f"Basic {s['url_password']}==",
                "X-Api-Key": s["google"],
                "User-Agent": "agent/1.0",
            },
        ),
        lambda: log.info(
            "creds",
            api_key=s["stripe"],
            client_secret=s["client_secret"],
            auth={"refresh_token": s["github"], "expires_in": 3600},
        ),
        lambda: log.info(
            "chat",
            payload={
                "messages": [
                    {"role": "user", "content": f"use my key {s['huggingface']} please"},
                    ("tuple", f"slack {s['slack']}"),
                ]
            },
        ),
        lambda: log.info("db", dsn=f"postgres://app:{s['url_password']}@db:5432/prod"),
        lambda: log.info("key file", contents=pem(s)),
        lambda: log.info("blob", body=f'{{"access_token": "{s["github_pat"]}"}}'.encode()),
        lambda: log.info("error object", err=PermissionError(f"rejected {s['openai']}")),
        lambda: log.info("set", tags={s["github"], "plain"}),
        lambda: log.info("dataclass", config=ClientConfig("https://api.x", s["anthropic"])),
        lambda: log.info("mapping", headers=Headers(authorization=f"Bearer {s['bearer']}")),
        lambda: log.info("model", response=Model(s["jwt"])),
        lambda: log.info("object", client=Client(s["stripe"])),
        lambda: log.info("pin", pin=s["short_pin"], password=s["short_pin"]),
        lambda: log.info("deep", a={"b": [{"c": {"d": ({"passwd": s["password"]},)}}]}),
    ]
    for call in calls:
        call()
    try:
        raise ConnectionError(f"401 for key {s['openai']}, header Bearer {s['bearer']}")
    except ConnectionError:
        log.exception("request failed")
    return len(calls) + 1


def plant_stdlib(s: dict[str, str]) -> int:
    sdk = logging.getLogger("openai._base_client")
    sdk.info("Request options: %s", {"headers": {"Authorization": f"Bearer {s['bearer']}"}})
    sdk.warning("retrying with %s and %s", f"api_key={s['password']}", s["aws"])
    sdk.info("extra fields", extra={"api_key": s["openai"], "meta": {"cookie": s["cookie"]},
                                    "note": f"jwt {s['jwt']}"})  # fmt: skip
    logging.getLogger("app").info({"event": "dict message", "password": s["password"]})
    logging.getLogger("app").info("bad format %d", s["github"])  # the arguments are kept raw
    try:
        raise RuntimeError(f"token={s['github_pat']}")
    except RuntimeError:
        sdk.exception("stdlib failure")
    record = sdk.makeRecord(sdk.name, logging.ERROR, __file__, 1, "preformatted", (), None)
    record.exc_text = f"Traceback (most recent call last):\nValueError: {s['slack']}"
    sdk.handle(record)
    return 7


def test_planted_secrets_never_reach_any_file(tmp_path: Path) -> None:
    secrets = make_secrets(random.Random(20261126))
    ll.configure(tmp_path, max_bytes=4096, backup_count=1000)  # rotates: several files
    logged = plant_structlog(secrets) + plant_stdlib(secrets)
    ll.reset()

    assert len(list(tmp_path.glob("events.jsonl*"))) > 1
    data = log_bytes(tmp_path)
    assert_absent(data, {k: v for k, v in secrets.items() if k != "short_pin"})
    for line in secrets["pem_body"].splitlines():
        assert line.encode() not in data
    records = read_records(tmp_path)
    assert len(records) == logged  # nothing dropped to hide it
    (pin,) = [r for r in records if r["event"] == "pin"]
    assert pin["pin"] == secrets["short_pin"] and pin["password"] == MARKER
    assert all(MARKER in json.dumps(r) for r in records), [
        r["event"] for r in records if MARKER not in json.dumps(r)
    ]


def test_the_same_log_without_redaction_leaks(tmp_path: Path) -> None:
    """The control: with redaction off, the same scan finds every planted secret."""
    secrets = make_secrets(random.Random(20261126))
    ll.configure(tmp_path, redact=False)
    plant_structlog(secrets)
    plant_stdlib(secrets)
    ll.reset()
    data = log_bytes(tmp_path)
    lines = secrets.pop("pem_body").splitlines()  # newlines are escaped in JSON: line by line
    assert [name for name, secret in secrets.items() if secret.encode() not in data] == []
    assert all(line.encode() in data for line in lines)


def test_redacted_lists_the_paths(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("agent")
    try:
        raise ValueError("key sk-" + "a1" * 20)
    except ValueError:
        log.exception(
            "auth with Bearer " + "Zx9" * 8,
            headers={"authorization": "Bearer abc", "accept": "json"},
            payload={"messages": [{"role": "user", "content": "AKIA" + "Q7" * 8}]},
            password="",  # nothing to hide
        )
    (record,) = read_records(tmp_path)
    assert record["redacted"] == [
        "event", "headers.authorization", "payload.messages.0.content",
        "error.message", "error.traceback",
    ]  # fmt: skip
    assert record["headers"] == {"authorization": MARKER, "accept": "json"}
    assert record["password"] == ""
    assert record["event"] == f"auth with Bearer {MARKER}"


USAGE_KEYS = ["input_tokens", "output_tokens", "max_tokens", "prompt_tokens",
              "completion_tokens", "total_tokens", "token_count", "tokens", "cached_tokens",
              "reasoning_tokens", "maxTokens", "max-new-tokens", "num_tokens"]  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.fixed_dictionaries(
        {k: st.integers(0, 2**53) | st.floats(0, 1e9, allow_nan=False) for k in USAGE_KEYS}
    )
)
def test_token_counts_survive_as_numbers(counts: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory() as log_dir:
        ll.configure(log_dir, redact={"keys": ["tokens", "token_count"]})
        try:
            log = ll.get_logger("agent")
            log.info("llm_call", usage=dict(counts), **counts, access_token="tok-" + "9" * 20)
            logging.getLogger("sdk").info("usage", extra={"usage": dict(counts)})
        finally:
            ll.reset()
        structlog_record, stdlib_record = read_records(Path(log_dir))
    for record in (structlog_record, stdlib_record):
        assert record["usage"] == counts
        assert all(type(record["usage"][k]) is type(v) for k, v in counts.items())
    assert {k: structlog_record[k] for k in counts} == counts
    assert structlog_record["access_token"] == MARKER
    assert structlog_record["redacted"] == ["access_token"]


def test_usage_names_with_text_values_are_still_redacted_when_sensitive(tmp_path: Path) -> None:
    ll.configure(tmp_path, redact={"keys": ["tokens"]})
    ll.get_logger().info("x", tokens="raw-secret-text", max_tokens="512", token=12345)
    (record,) = read_records(tmp_path)
    assert record["tokens"] == MARKER  # a configured key, and not a number
    assert record["max_tokens"] == "512"  # not sensitive at all
    assert record["token"] == MARKER  # "token" is no usage count


@pytest.mark.parametrize(
    "name",
    sorted(
        rules._KEY_NAMES | set(rules._KEY_PARTS) | {f"my{ending}" for ending in rules._KEY_ENDINGS}
    ),
)
def test_every_sensitive_name_is_found_as_field_and_in_text(name: str) -> None:
    redactor = Redactor()
    camel = re.sub(r"_(.)", lambda m: m.group(1).upper(), name)
    for spelling in {name, name.upper(), name.replace("_", "-"), camel}:
        record = {"event": f"{spelling}=s3cr3t-value", "nested": {spelling: "s3cr3t-value"}}
        out = redactor(None, "info", record)
        assert "s3cr3t" not in json.dumps(out), spelling
        assert out["redacted"] == ["event", f"nested.{spelling}"]


def test_stamps_are_never_redacted_but_the_message_is(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("auth.password_reset")
    log.info("secret=abc123", kind="api_key_rotation")
    (record,) = read_records(tmp_path)
    assert record["logger"] == "auth.password_reset"
    assert record["kind"] == "api_key_rotation"
    assert record["event"] == f"secret={MARKER}"
    assert record["redacted"] == ["event"]


def test_run_tallies_keep_kinds_that_look_sensitive(tmp_path: Path) -> None:
    ll.configure(tmp_path, sample={"token": 0.0})
    log = ll.get_logger("agent")
    with ll.run("login") as run:
        for _ in range(3):
            log.info("login", kind="auth")
            log.info("refresh", kind="token")
        log.info("tally", counts={"api_key": "abc123"})  # not a closing record: scanned
    with ll.run("nothing dropped") as quiet:
        quiet.set(dropped={"password": "hunter2"})  # not a tally: scanned

    records = read_records(tmp_path)
    ends = {r["run_id"]: r for r in records if r["kind"] == "run_ok"}
    assert ends[run.run_id]["counts"] == {"run_start": 1, "auth": 3, "token": 3, "log": 1}
    assert ends[run.run_id]["dropped"] == {"token": 3}
    assert "dropped" not in ends[quiet.run_id]  # the library's name: the user's is renamed
    assert ends[quiet.run_id]["user_dropped"] == {"password": MARKER}
    (tally,) = [r for r in records if r["event"] == "tally"]
    assert tally["counts"] == {"api_key": MARKER}
    assert b"hunter2" not in log_bytes(tmp_path) and b"abc123" not in log_bytes(tmp_path)


def test_callers_data_is_left_alone(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    headers = {"Authorization": "Bearer " + "k" * 30}
    messages = [{"role": "user", "content": "my key is sk-" + "b" * 30}]
    ll.get_logger().info("call", headers=headers, messages=messages)
    assert headers == {"Authorization": "Bearer " + "k" * 30}
    assert messages[0]["content"] == "my key is sk-" + "b" * 30
    (record,) = read_records(tmp_path)
    assert record["headers"]["Authorization"] == MARKER


def test_clean_records_pass_through_uncopied() -> None:
    nested = {"usage": {"prompt_tokens": 3}, "tags": ["a", "b"], "url": "https://example.org/x"}
    record: dict[str, Any] = {"ts": "t", "run_id": "r", "event": "llm_call", "kind": "log",
                              "model": "gpt-4o-mini", **nested}  # fmt: skip
    before = dict(record)
    redactor = Redactor()
    for _ in range(2):  # the second time through the caches
        out = redactor(None, "info", record)
        assert out is record
        assert all(out[k] is before[k] for k in before) and "redacted" not in out


def test_configured_keys_patterns_and_allow_list(tmp_path: Path) -> None:
    ll.configure(
        tmp_path,
        redact={
            "keys": ["ssn", "X-Customer-Ref"],
            "patterns": [r"\b\d{3}-\d{2}-\d{4}\b", re.compile(r"acct_[0-9]{8}")],
            "allow": ["session_id", "prompt"],
        },
    )
    ll.get_logger().info(
        "customer 123-45-6789 paid from acct_12345678",
        ssn="987-65-4321",
        customer_ref={"x_customer_ref": "ref-1"},
        session_id="sess-abc",
        prompt="Reply with: password=hunter2",
        note="password=hunter3",
    )
    (record,) = read_records(tmp_path)
    assert record["event"] == f"customer {MARKER} paid from {MARKER}"
    assert record["ssn"] == MARKER
    assert record["customer_ref"] == {"x_customer_ref": MARKER}
    assert record["session_id"] == "sess-abc"
    assert record["prompt"] == "Reply with: password=hunter2"
    assert record["note"] == f"password={MARKER}"


@pytest.mark.parametrize("pattern", [r"^EMP\d{6}$", r"\AEMP\d{6}\Z"])
def test_an_anchored_pattern_finds_a_value_beside_other_strings(
    tmp_path: Path, pattern: str
) -> None:
    """A pattern anchored to a whole value matches that value in a record of several
    strings, on both routes, in the first record of its shape and in later ones."""
    ll.configure(tmp_path, redact={"patterns": [pattern]})
    log = ll.get_logger("hr")
    for n in range(3):
        log.info("one", emp=f"EMP12345{n}", dept="sales", note="fine")
    logging.getLogger("legacy").warning("two %s", "x", extra={"emp": "EMP654321", "d": "ops"})
    ll.reset()
    records = read_records(tmp_path)
    assert [r["emp"] for r in records] == [MARKER] * 4
    assert [r.get("dept", r.get("d")) for r in records] == ["sales"] * 3 + ["ops"]
    assert b"EMP" not in b"".join(p.read_bytes() for p in tmp_path.glob("events.jsonl*"))


def test_a_configured_key_named_event_hides_the_message_on_both_routes(tmp_path: Path) -> None:
    ll.configure(tmp_path, redact={"keys": ["event"]})
    ll.get_logger("app").info("hunter2xyz", i=1)
    logging.getLogger("legacy").warning("hunter3xyz")
    records = read_records(tmp_path)
    assert [r["event"] for r in records] == [MARKER, MARKER]
    assert all(r["redacted"] == ["event"] for r in records)
    assert b"hunter" not in b"".join(p.read_bytes() for p in tmp_path.glob("events.jsonl*"))


@pytest.mark.parametrize(
    "redact",
    [
        "yes",
        1,
        ["api_key"],
        {"keys": "api_key"},
        {"keys": [""]},
        {"keys": [42]},
        {"patterns": ["("]},
        {"patterns": ["a*"]},
        {"patterns": [b"bytes"]},
        {"allow": None},
        {"bogus": []},
    ],
)
def test_bad_settings_fail_at_configure(tmp_path: Path, redact: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="redact"):
        ll.configure(tmp_path, redact=redact)
    assert ll.current_handler() is None


@pytest.mark.parametrize("redact", [None, False])
def test_redaction_can_be_turned_off(tmp_path: Path, redact: Any) -> None:
    ll.configure(tmp_path, redact=redact)
    ll.get_logger().info("x", password="hunter2")
    (record,) = read_records(tmp_path)
    assert record["password"] == "hunter2" and "redacted" not in record


def test_cycles_and_deep_nesting_never_leak(tmp_path: Path) -> None:
    secret = "sk-" + "c" * 32
    cyclic: dict[str, Any] = {"content": f"key {secret}"}
    cyclic["self"] = cyclic
    deep: Any = {"leaf": secret}
    for _ in range(200):
        deep = {"down": deep}
    ll.configure(tmp_path)
    ll.get_logger().info("weird", cyclic=cyclic, deep=deep, items=[cyclic, cyclic])
    data = log_bytes(tmp_path)
    assert secret.encode() not in data
    assert len(read_records(tmp_path)) == 1


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.builds(BadRepr)
    | st.sampled_from([ValueError("sk-" + "d" * 24), {1, 2}, frozenset("ab")]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=12) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.text(min_size=1, max_size=12), values, max_size=5), data=values)
def test_any_value_is_logged_without_raising(fields: dict[str, Any], data: Any) -> None:
    secret = "ghp_" + "e" * 36
    with tempfile.TemporaryDirectory() as log_dir:
        ll.configure(log_dir)
        try:
            ll.get_logger().info("any", payload={"data": data, "key": secret}, fields=fields)
        finally:
            ll.reset()
        raw = log_bytes(Path(log_dir))
    assert secret.encode() not in raw
    (record,) = [json.loads(line) for line in raw.splitlines()]
    assert record["event"] == "any"


SEPARATORS = st.sampled_from([" ", "\n", "\t", '"', "'", "(", ")", ",", ";", "<", ">", "|"])
NOISE = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    prefix=NOISE,
    suffix=NOISE,
    left=SEPARATORS,
    right=SEPARATORS,
    name=st.sampled_from(sorted(set(make_secrets(random.Random(0))) - {"short_pin"})),
)
def test_secret_shapes_are_found_inside_any_text(
    seed: int, prefix: str, suffix: str, left: str, right: str, name: str
) -> None:
    secrets = make_secrets(random.Random(seed))
    planted = {
        "bearer": f"Authorization: Bearer {secrets['bearer']}",
        "pem_body": pem(secrets),
        "password": f"password={secrets['password']}",
        "url_password": f"https://bot:{secrets['url_password']}@example.org/",
        "cookie": f"Set-Cookie: sid={secrets['cookie']}; Path=/",
        "client_secret": f'{{"client_secret": "{secrets["client_secret"]}"}}',
    }.get(name, secrets[name])
    scrubbed = Redactor().scrub(prefix + left + planted + right + suffix)
    assert secrets[name] not in scrubbed
    assert MARKER in scrubbed


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_characters="-_:=AJBb", blacklist_categories=["Cs"])))
def test_text_without_any_trigger_comes_back_unchanged(text: str) -> None:
    assert Redactor().scrub(text) is text


def test_a_failure_inside_redaction_writes_only_the_stamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Redactor, event_dict: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Redactor, "_redact_record", broken)
    ll.configure(tmp_path)
    ll.get_logger("agent").info("with password=hunter2", password="hunter2")
    (record,) = read_records(tmp_path)
    assert b"hunter2" not in log_bytes(tmp_path)
    assert record["event"] == MARKER and record["logger"] == "agent"
    assert record["redaction_error"] == "RuntimeError"


def test_gzipped_rotations_hold_no_secret(tmp_path: Path) -> None:
    secrets = make_secrets(random.Random(99))
    ll.configure(tmp_path, max_bytes=2048, backup_count=1000, compress=True)
    for _ in range(5):
        plant_structlog(secrets)
    ll.reset()
    assert any(f.suffix == ".gz" for f in tmp_path.glob("events.jsonl*"))
    assert_absent(log_bytes(tmp_path), {k: v for k, v in secrets.items() if k != "short_pin"})
