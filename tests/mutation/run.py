"""Named mutations: plant known bugs in a copy of the project and check that the tests fail.

Run before a large change (a move of modules, a new write path) to see that the suite still
catches what it should:

    python tests/mutation/run.py              # every mutation, a few minutes
    python tests/mutation/run.py --list       # the names, what each breaks, the tests it runs
    python tests/mutation/run.py seq-constant since-sign-flipped

Each mutation replaces one snippet of the package's source with a broken version, in a fresh
copy of the project in a temporary directory (the working tree is never touched), then runs
the tests named for it there with `PYTHONPATH` pointing at the copy. A mutation is *killed*
when those tests fail and *survives* when they pass. A snippet is looked up by its text in the
whole package, so a mutation keeps working when its code moves to another module; when the
text itself changed, the mutation is reported as *stale* and needs updating here. The exit
status is 0 only when every mutation was killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "llmops_logging"
IGNORED = shutil.ignore_patterns(
    ".git", "data", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    ".hypothesis", "mutation",
)  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    name: str
    breaks: str
    old: str
    new: str
    tests: tuple[str, ...]
    where: str = ""  # a part of the file's path, when `old` occurs in several files


MUTATIONS = (
    Mutation(
        "event-id-reused-after-fork",
        "a forked child keeps its parent's event_id prefix (and counts seq from 1 again)",
        '        self.prefix = os.urandom(8).hex() + "-"\n',
        '        self.prefix = getattr(self, "prefix", None) or os.urandom(8).hex() + "-"\n',
        ("tests/test_identity.py",),
    ),
    Mutation(
        "stdlib-ts-now",
        "a stdlib record's ts is the time it is formatted, not the LogRecord's creation",
        "created_ns=round(record.created * 1e6) * 1000,",
        "created_ns=None,",
        ("tests/test_stdlib_time.py",),
    ),
    Mutation(
        "since-sign-flipped",
        "an age given to --since/--until points into the future",
        "return datetime.now(timezone.utc) - age",
        "return datetime.now(timezone.utc) + age",
        ("tests/cli/test_cli_since.py",),
    ),
    Mutation(
        "percentile-0.37x",
        "stats percentiles past the exact range are 0.37 times the true value",
        "middle = 2 * _GAMMA**key / (_GAMMA + 1)",
        "middle = 0.37 * 2 * _GAMMA**key / (_GAMMA + 1)",
        ("tests/cli/test_stats_percentiles.py",),
    ),
    Mutation(
        "percentile-bucket-off",
        "stats percentiles past the exact range take the next bucket (about 1% high)",
        "middle = 2 * _GAMMA**key / (_GAMMA + 1)",
        "middle = 2 * _GAMMA ** (key + 1) / (_GAMMA + 1)",
        ("tests/cli/test_stats_percentiles.py",),
    ),
    Mutation(
        "sampling-random",
        "a sampled kind is kept at random instead of by the hash",
        "unit_hash(run_id, kind, position) < rate",
        '__import__("random").random() < rate',
        ("tests/test_sampling.py", "tests/test_sampling_hash.py"),
    ),
    Mutation(
        "sampling-random-outside-runs",
        "outside a run, the hash takes a new random id per event (a random decision)",
        "position, run_id = self._outside_runs[kind], event_dict[RUN_ID]",
        'position, run_id = self._outside_runs[kind], __import__("uuid").uuid4().hex',
        ("tests/test_sampling.py", "tests/test_sampling_hash.py"),
    ),
    Mutation(
        "sampling-hash-ignores-position",
        "the sampling hash leaves out the event's position: a run keeps all or none of a kind",
        '"\\0".join(map(str, parts))',
        '"\\0".join(map(str, parts[:2]))',
        ("tests/test_sampling.py::test_decision_is_the_hash_of_run_id_kind_and_position",),
    ),
    Mutation(
        "event-not-text",
        "an event that is not a string is written as it is (a number stays a number)",
        "        if type(event) is not str:\n            event = _event_text(event)\n",
        "",
        ("tests/test_values.py",),
    ),
    Mutation(
        "seq-constant",
        "every record gets seq 1 (records of the parts and of stdlib loggers)",
        "seq = next(counter.numbers)",
        "seq = 1",
        ("tests/test_record.py",),
        where="processors",
    ),
    Mutation(
        "seq-constant-direct",
        "every record of the fused path's direct route gets seq 1",
        "seq = next(counter.numbers)",
        "seq = 1",
        ("tests/test_record.py",),
        where="_fused",
    ),
    Mutation(
        "redactor-returns-input",
        "the redactor returns the event untouched",
        "method_name: str, event_dict: EventDict) -> EventDict:\n",
        "method_name: str, event_dict: EventDict) -> EventDict:\n        return event_dict\n",
        ("tests/test_redaction.py",),
        where="redaction",
    ),
    Mutation(
        "no-rotation",
        "the handler never rotates",
        "return self._max_bytes > 0 and self._backup_count > 0",
        "return False",
        ("tests/writer/test_rotation.py",),
    ),
    Mutation(
        "gz-skipped",
        "the reader leaves out gzipped rotated files",
        "elif parsed[1] or parsed[0] not in found:",
        "elif not parsed[1] and parsed[0] not in found:",
        ("tests/reader/test_reader.py",),
    ),
    Mutation(
        "links-followed",
        "log files are opened following symbolic links (a planted link redirects the writes)",
        "FOUND_FILE_FLAGS = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK",
        "FOUND_FILE_FLAGS = O_CLOEXEC | O_NONBLOCK",
        ("tests/reader/test_hostile_files.py", "tests/reader/test_reader_planted.py"),
    ),
    Mutation(
        "run-id-forgeable",
        "a user field named run_id replaces the run's id",
        "    if RUN_ID in event_dict:  # a user's field: the run is the context's\n"
        "        keep_user_value(event_dict, RUN_ID, event_dict.pop(RUN_ID))\n",
        "",
        ("tests/test_stamps.py",),
    ),
    Mutation(
        "generator-context-leaks",
        "a decorated generator runs in its consumer's context (interleaved runs swap ids)",
        "item = ctx.run(it.send, sent) if thrown is None else ctx.run(it.throw, thrown)",
        "item = it.send(sent) if thrown is None else it.throw(thrown)",
        ("tests/test_runs.py",),
    ),
    Mutation(
        "fork-keeps-write-state",
        "a forked child keeps the parent's in-progress write state",
        "        self._checking = False\n        self._needs_newline = False\n",
        "",
        ("tests/writer/test_fork_safety.py",),
    ),
    Mutation(
        "report-p95-is-median",
        "the report's per-model and per-step p95 (a group's `Tally`) is the median",
        '"p95_s": d.quantile(0.95),',
        '"p95_s": d.quantile(0.5),',
        ("tests/test_report_figures.py",),
    ),
    Mutation(
        "output-temp-fixed-name",
        "export and report write through a temporary of a fixed name, following a planted link",
        'temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}")\n'
        "        try:\n"
        "            return os.open(temp, _CREATE_FLAGS, 0o666)",
        'temp = os.path.join(directory, f".{name}{TEMP_SUFFIX}")\n'
        "        try:\n"
        "            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)",
        ("tests/writer/test_output_files.py",),
    ),
    Mutation(
        "csv-formula-live",
        "a CSV text cell starting with = is written as it is, a live formula in a spreadsheet",
        "text.startswith(FORMULA_STARTS)",
        "text.startswith(FORMULA_STARTS[1:])",
        ("tests/export/test_export_csv.py",),
    ),
    Mutation(
        "flatten-collision-overwrites",
        "two paths of one record that flatten to one name keep only the last value",
        "    if len(set(plain)) == len(plain):\n        return plain",
        "    return plain",
        ("tests/export/test_export_csv.py",),
    ),
    Mutation(
        "parquet-keyed-dict-as-struct",
        "a dict keyed by ids becomes a struct field per key in Parquet",
        "                if len(names) > MAX_OBJECT_KEYS:",
        "                if len(names) > MAX_OBJECT_KEYS and not self.columnar:",
        (
            "tests/export/test_export_parquet.py::test_dicts_keyed_by_ids_are_json_text_and_the_schema_stays_small",
        ),
    ),
    Mutation(
        "parquet-uint64-as-float",
        "integers beyond int64 become float64 in Parquet",
        "        for path in shape.big - shape.floats:",
        "        for path in set():",
        ("tests/export/test_export_parquet.py::test_integers_up_to_2_64_stay_exact",),
    ),
    Mutation(
        "otlp-times-in-ms",
        "OTLP span and event times are written in milliseconds instead of nanoseconds",
        "return clamp((when - _EPOCH) // _MICROSECOND * 1000 + extra)",
        "return clamp((when - _EPOCH) // _MICROSECOND // 1000 + extra)",
        ("tests/export/test_export_otlp.py",),
    ),
    Mutation(
        "otlp-int-as-number",
        "an OTLP intValue is written as a JSON number instead of a decimal string",
        'return {"intValue": str(value)}',
        'return {"intValue": value}',
        ("tests/export/test_export_otlp.py",),
    ),
    Mutation(
        "ttft-is-duration",
        "a stream's ttft_s is the whole call's duration, not the time to its first chunk",
        "record[TTFT_S] = self._ttft",
        "record[TTFT_S] = duration",
        ("tests/llm/test_llm_streams.py",),
    ),
    Mutation(
        "pool-task-in-workers-context",
        "a pool task runs in its worker's context (the run of whoever made the worker)",
        "return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)",
        "return submit(self, fn, *args, **kwargs)",
        ("tests/test_thread_context.py",),
    ),
    Mutation(
        "llm-worker-kept-after-fork",
        "a forked child keeps its parent's finishing worker (dead there): calls it drops are lost",
        "    _worker = None\n    _abandoned = queue.SimpleQueue()\n",
        "    pass\n",
        ("tests/writer/test_fork_safety.py::test_a_forked_child_records_the_calls_it_abandons",),
    ),
    Mutation(
        "price-table-kept-after-fork",
        "a child forked while the price table loads waits for its parent's load forever: unpriced",
        "    if not loaded.is_set():\n        _started, _thread = False, None\n",
        "    if False:\n        _started, _thread = False, None\n",
        ("tests/writer/test_fork_safety.py::test_a_child_forked_mid_price_load_prices_its_calls",),
    ),
    Mutation(
        "conversation-id-redacted",
        "a run's conversation and user ids pass the redactor, which may replace them",
        "        event_dict[RUN_ID] = run.run_id\n        run.counts[kind] += 1\n",
        "        event_dict[RUN_ID] = run.run_id\n        run.counts[kind] += 1\n"
        "        if run.conversation_id is not None or run.user_id is not None:\n"
        "            add_identities(event_dict, run)\n",
        ("tests/test_conversations.py",),
    ),
    Mutation(
        "tool-content-ignores-capture-setting",
        "a tool's arguments and result are written with capture_content=False",
        "        if llm_settings().capture_content:\n",
        "        if True:\n",
        ("tests/test_agents_plain.py",),
    ),
    Mutation(
        "tool-call-not-current-step",
        "what runs inside a tool call hangs below the tool's parent, not the tool",
        "        current_step.set(self._state)\n",
        "",
        ("tests/test_agents_plain.py",),
    ),
    Mutation(
        "runs-usage-of-previous-row",
        "the runs table shows, from its second row on, the previous run's calls, tokens and cost",
        'r[OK_RATE], r["error_type"], *(usage_cells(r) if llm else ()),',
        'r[OK_RATE], r["error_type"], *(usage_cells(rows[max(n - 1, 0)]) if llm else ()),',
        ("tests/test_cli_llm.py",),
    ),
    Mutation(
        "runs-usage-carried-over",
        "a run that ended without LLM calls shows the usage of the run that ended before it",
        "found = table[run_id] = RunSummary(run_id)",
        "found = table[run_id] = RunSummary(run_id, closing_usage=next("
        "(r.closing_usage for r in reversed(table.values()) if r.closing_usage), None))",
        ("tests/test_cli_llm.py",),
    ),
    Mutation(
        "follow-skips-first-rotated",
        "tail -f started before the live file existed skips a file rotated before its next poll",
        "self._read_numbers(old_base + (2 if old is not None else 1), new_base, out.append)",
        "self._read_numbers(old_base + 2, new_base, out.append)",
        ("tests/cli/test_cli_follow.py",),
    ),
    Mutation(
        "follow-oversize-as-torn",
        "tail -f counts a line longer than the limit as a torn line",
        "        self.oversize += 1\n",
        "        self.torn += 1\n",
        ("tests/cli/test_cli_follow.py",),
        where="cli/tail",
    ),
    Mutation(
        "record-budget-unlimited",
        "the redactor walks a record whatever its size (shared references, rows of wide dicts)",
        "self.max_items, self.max_chars = record_budget(max_record_bytes)",
        "self.max_items, self.max_chars = record_budget(0)",
        ("tests/test_record_budget.py",),
    ),
    Mutation(
        "shrink-largest-last",
        "a record shrunk to max_record_bytes cuts its smaller values before its largest",
        "ordered = sorted(sizes, key=sizes.__getitem__)",
        "ordered = sorted(sizes, key=sizes.__getitem__, reverse=True)",
        ("tests/test_record_budget.py",),
    ),
    Mutation(
        "removal-unreported-at-close",
        "a live file removed by another program is not reported when the handler closes",
        "            if not self._checking:\n"
        "                self._note_removal(time.monotonic())\n",
        "",
        ("tests/writer/test_outside_removal.py",),
    ),
    Mutation(
        "frames-schema-from-a-sample",
        "read_polars lets polars infer the schema from the first 100 records",
        "    return pl.read_ndjson(log.path, infer_schema_length=None, schema_overrides=overrides)",
        "    return pl.read_ndjson(log.path, schema_overrides=overrides)",
        ("tests/test_frames.py",),
    ),
    Mutation(
        "frames-mixed-column-coerced",
        "a column of mixed kinds is handed to the engine as it is, not as JSON text",
        "if not _fits_one_type(name, kinds)}",
        "if False}",
        ("tests/test_frames.py",),
    ),
    Mutation(
        "frames-nested-conflict-raises",
        "read_polars raises on nested fields whose shapes disagree instead of keeping them",
        "            log.as_json_text(log.nested())\n",
        "            raise\n",
        ("tests/test_frames.py",),
    ),
    Mutation(
        "otlp-tool-call-an-event",
        "export --format otlp writes a tool_call as an event of its parent, not as a span",
        "SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL, TOOL_CALL))",
        "SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL))",
        ("tests/test_export_otlp_agents.py",),
        "readmodel/records.py",
    ),
    Mutation(
        "otlp-no-session-id",
        "exported spans leave out session.id, so a conversation cannot be followed",
        "        out[OI_SESSION_ID] = session\n",
        "        pass\n",
        ("tests/export/test_export_otlp_agents.py",),
    ),
    Mutation(
        "score-on-the-scoring-run",
        "a score given run_id= lands on the run current where it is logged",
        "            stamps[RUN_ID] = safe_str(run_id)\n",
        "            stamps[STEP_ID] = safe_str(run_id)\n",
        ("tests/test_scores.py",),
    ),
    Mutation(
        "wilson-without-center-shift",
        "the Wilson interval is centred on the observed rate (a Wald-like interval)",
        "    center = (p + z2 / (2 * n)) / denominator",
        "    center = p",
        ("tests/cli/test_cli_scores.py",),
    ),
    Mutation(
        "pass-at-k-with-replacement",
        "pass@k assumes samples drawn with replacement (1 - (1 - c/n)**k)",
        "    return 1.0 - math.comb(n - c, k) / math.comb(n, k)",
        "    return 1.0 - (1 - c / n) ** k",
        ("tests/cli/test_cli_scores.py",),
    ),
    Mutation(
        "fisher-one-sided",
        "Fisher's test sums only the tables on one side of the one seen",
        "    p = sum(math.exp(lp) for lp in map(log_p, range(low, high + 1)) if lp <= seen)",
        "    p = sum(math.exp(log_p(x)) for x in range(low, a + 1))",
        ("tests/cli/test_cli_scores.py",),
    ),
    Mutation(
        "welch-pooled-variance",
        "the t-test takes n1 + n2 - 2 degrees of freedom (Student's) for Welch's",
        "    df = (s1 + s2) ** 2 / (s1**2 / (len(first) - 1) + s2**2 / (len(second) - 1))",
        "    df = len(first) + len(second) - 2",
        ("tests/cli/test_cli_scores.py",),
    ),
    Mutation(
        "fail-drop-ignores-significance",
        "--fail-drop fails on any drop larger than D, significant or not",
        "-diff > limit and p < ALPHA:",
        "-diff > limit:",
        ("tests/cli/test_cli_scores.py",),
    ),
    Mutation(
        "repeat-stops-at-an-exception",
        "an exception in one repetition ends the whole loop",
        "result=fn(item, seed))\n    except Exception as exc:",
        "result=fn(item, seed))\n    except KeyError as exc:",
        ("tests/test_repeat.py",),
    ),
    Mutation(
        "sdk-request-warnings-dropped",
        "while an SDK is instrumented its loggers' warnings are dropped with their INFO lines",
        "or record.levelno > logging.INFO or",
        "or record.levelno > logging.WARNING or",
        ("tests/llm/test_sdk_request_lines.py",),
    ),
    Mutation(
        "sdk-request-lines-kept",
        "an instrumented SDK's per-request INFO lines are still written",
        "    sdk_request_lines.active = True\n",
        "    sdk_request_lines.active = False\n",
        ("tests/llm/test_sdk_request_lines.py",),
    ),
    Mutation(
        "sdk-request-lines-ignore-levels",
        "levels={'httpx2': 'INFO'} no longer brings the request lines back",
        "        return _level_set_for(record.name) != logging.NOTSET\n",
        "        return False\n",
        ("tests/llm/test_sdk_request_lines.py",),
    ),
    Mutation(
        "pytest-repeat-rate-strict",
        "a pass rate exactly at llmops_repeat's minimum fails the test",
        "        return self.passed >= self.min_pass_rate * self.n\n",
        "        return self.passed > self.min_pass_rate * self.n\n",
        ("tests/test_pytest_plugin.py",),
    ),
    Mutation(
        "pytest-repeat-score-on-scorer",
        "each repetition's score lands on the scoring process's run, not on the repetition's",
        "outcome.ok, run_id=outcome.run_id, source=",
        "outcome.ok, source=",
        ("tests/test_pytest_plugin.py",),
    ),
    Mutation(
        "langchain-handler-off-the-callers-context",
        "LangChain runs the handler in an executor under async code: its steps and its "
        "enclosing of a model call never reach the node's code",
        "    run_inline = True  #",
        "    run_inline = False  #",
        ("tests/test_langchain.py",),
    ),
    Mutation(
        "langchain-model-call-not-enclosing",
        "a LangChain model call over an instrumented SDK is recorded twice and counted twice",
        "        _once.enclose(call)  # an instrumented SDK's call inside supersedes this one\n",
        "",
        ("tests/test_langchain.py",),
    ),
    Mutation(
        "langchain-parent-run-ignored",
        "a LangChain run hangs below whatever step is current, not below its parent run",
        "        parent = self._followed.get(parent_run_id) if parent_run_id is not None else None",
        "        parent = None",
        ("tests/test_langchain.py",),
    ),
    Mutation(
        "failure-rule-ignores-error-kinds",
        "a record whose kind ends in _error (a user's tool_error) at info level is not a failure",
        "    return isinstance(kind, str) and kind.endswith(ERROR_SUFFIX)\n",
        "    return False\n",
        ("tests/test_reading_model.py",),
    ),
    Mutation(
        "usage-sum-keeps-last-output",
        "summed usage keeps the last record's output tokens instead of adding them",
        "self.output_tokens += other.output_tokens",
        "self.output_tokens = other.output_tokens",
        ("tests/cli/test_cli_usage.py",),
    ),
    Mutation(
        "span-parent-always-root",
        "every step, call and tool call of a run hangs from the run's root, whatever its parent_id",
        "node = self.node(key, STEP_KEY + parent if isinstance(parent, str) else ROOT)",
        "node = self.node(key, ROOT)",
        ("tests/test_reading_model.py",),
    ),
    Mutation(
        "agents-generation-not-enclosing",
        "an Agents SDK generation span no longer yields to the OpenAI SDK patch: two records",
        "        call.start()\n        _once.enclose(call)\n        return call\n",
        "        call.start()\n        return call\n",
        ("tests/test_openai_agents.py",),
        where="openai_agents.py",
    ),
    Mutation(
        "otel-span-records-carry-the-parent-span",
        "a span's own records carry its parent's span_id, not its own",
        "    token = context.attach(trace.set_span_in_context(span))\n",
        "    token = context.attach(context.get_current())\n",
        ("tests/test_otel_spans.py",),
    ),
    Mutation(
        "rotated-name-any-spelling",
        "any number after the live name makes a rotated file (logrotate's, other digits)",
        "if rotated_name(live_name, number, compressed) == name else None\n",
        "if True else None\n",
        ("tests/test_rotated_names.py",),
    ),
    Mutation(
        "cli-imports-the-writer",
        "importing the CLI imports a module of the writer",
        "from ._parser import PROG, build_parser\n",
        "from ._parser import PROG, build_parser\nfrom .. import runs as _runs  # noqa: F401\n",
        ("tests/test_import_cost.py",),
        where="cli/__init__",
    ),
    Mutation(
        "package-imports-eagerly",
        "importing the package imports every public name's module (the writer too)",
        "if TYPE_CHECKING:\n    from ._config import",
        "if True:\n    from ._config import",
        ("tests/test_import_cost.py",),
    ),
    Mutation(
        "ship-checkpoint-before-ack",
        "ship writes its checkpoint before the backend acknowledged the batch",
        "        if spans:\n            self.deliver(spans)\n",
        "        if spans:\n            self.save()\n            self.deliver(spans)\n",
        ("tests/test_ship.py",),
    ),
    Mutation(
        "ship-span-ids-random",
        "a span's id is random, not derived from its record's ids (a resent span duplicates)",
        "_new_span(self._id(step), name, parent, kind)",
        '_new_span(__import__("os").urandom(8).hex(), name, parent, kind)',
        ("tests/test_ship.py",),
    ),
    Mutation(
        "ship-ids-read-as-base64",
        "protobuf ids taken from the hex text as base64 (a span id of 12 bytes, a trace id of 24)",
        '_field(b"\\x12", bytes.fromhex(span["spanId"]))',
        '_field(b"\\x12", __import__("base64").b64decode(span["spanId"]))',
        ("tests/test_ship.py",),
    ),
    Mutation(
        "proto-oneof-default-left-out",
        "a false bool attribute is left out of the protobuf, as a proto3 default would be (it "
        "is a member of AnyValue's oneof: opentelemetry-proto writes it)",
        '        return _BOOL + (b"\\x01" if value["boolValue"] else b"\\x00")\n',
        '        return _BOOL + b"\\x01" if value["boolValue"] else b""\n',
        ("tests/test_ship_proto.py",),
    ),
    Mutation(
        "plain-names-despite-dots",
        "attributes keep the plain dotted names when a key holds a dot, so two paths clash",
        '                continue\n            if type(key) is not str or "." in key:\n',
        "                continue\n            if type(key) is not str:\n",
        ("tests/export/test_export_otlp.py",),
    ),
    Mutation(
        "shared-attribute-ignores-type",
        "an attribute made once for a repeated value is keyed without the value's type, so a "
        "span's `True` comes out as another's `1`",
        "        cached = (key, kind, value)\n",
        "        cached = (key, value)\n",
        (
            "tests/export/test_export_otlp.py::"
            "test_equal_values_of_other_types_keep_their_type_in_json_and_protobuf",
        ),
    ),
    Mutation(
        "time-memo-ignores-offset",
        "a time kept parsed is looked up without its offset, so `+05:30` reads as `+00:00`",
        "    found = _times.get(ts, -1)",
        '    found = _times.get(ts[:26] + "+00:00", -1)',
        (
            "tests/export/test_export_otlp.py::"
            "test_a_time_read_again_gives_its_own_instant_whatever_came_before",
        ),
    ),
    Mutation(
        "ts-short-cut-drops-microseconds",
        "the short cut for the library's own ts gives the time of its second",
        "            return clamp(_last_second[1] + int(micro) * 1000)\n",
        "            return clamp(_last_second[1])\n",
        ("tests/export/test_export_otlp.py",),
    ),
    Mutation(
        "ts-short-cut-clamps-its-second",
        "the short cut clamps the time of the second before adding the microseconds, so a "
        "time just before the epoch is read as its microseconds past it",
        "_last_second[:] = second, (parts[0] - _EPOCH) // _MICROSECOND * 1000\n",
        "_last_second[:] = second, clamp((parts[0] - _EPOCH) // _MICROSECOND * 1000)\n",
        ("tests/export/test_export_otlp.py::test_the_librarys_own_times_read_as_any_iso_time",),
    ),
    Mutation(
        "fused-logger-name-unscanned",
        "the fused write path writes a logger name holding a secret unredacted",
        "            if chars > self.max_chars or logger_name not in self._clean_stamps:\n",
        "            if chars > self.max_chars:\n",
        ("tests/test_fused_path.py",),
    ),
    Mutation(
        "fused-lists-unscanned",
        "the fused write path writes lists, tuples and converted values without the redactor",
        "                elif shape not in PLAIN_SCALARS:\n                    return False\n",
        "                elif shape is dict:\n                    return False\n",
        ("tests/test_fused_path.py",),
    ),
    Mutation(
        "raw-response-finished-at-once",
        "a with_streaming_response call is recorded when create() returns: no usage, no output",
        "        if _raw.unread(parsed):",
        "        if False:",
        ("tests/llm/test_llm_openai_raw.py", "tests/test_openai_agents.py"),
    ),
    Mutation(
        "raw-parse-not-watched",
        "the stream a raw response's parse() returns is not watched: recorded at close, no usage",
        "        self.parsed = True\n        return self.end(self.call, value)\n",
        "        return value\n",
        ("tests/llm/test_llm_openai_raw.py",),
    ),
    Mutation(
        "raw-close-not-finishing",
        "a raw response read as bytes and closed is recorded only when collected",
        "        if self.parsed:  # a stream the caller had not read to its end\n",
        "        return\n        if self.parsed:\n",
        ("tests/llm/test_llm_openai_raw.py",),
    ),
    Mutation(
        "open-spans-unbounded",
        "the maps of open spans, runs and calls of the framework handlers grow without bound",
        "            while len(self._items) > LIMIT:\n",
        "            while len(self._items) > 10 * LIMIT:\n",
        (
            "tests/test_otel_spans.py::test_spans_never_ended_are_forgotten_past_the_limit_and_later_spans_record",
            "tests/test_langchain.py::test_runs_never_ended_are_forgotten_past_the_limit_and_later_runs_record",
            "tests/test_openai_agents.py::test_spans_never_ended_are_forgotten_past_the_limit_and_later_runs_record",
        ),
    ),
    Mutation(
        "otel-every-span-by-default",
        "instrument_opentelemetry records every span (an HTTP request a run) unless told otherwise",
        "        self.all_spans = False\n",
        "        self.all_spans = True\n",
        ("tests/test_otel_spans.py",),
    ),
    Mutation(
        "otel-open-run-ignored",
        "a user's own span inside an ll.run or ll.step is not recorded as a step",
        "            or nearest_open(current_run.get()) is not None\n"
        "            or nearest_open(current_step.get()) is not None\n",
        "",
        ("tests/test_otel_spans.py",),
    ),
    Mutation(
        "fused-direct-lists-unscanned",
        "the fused path's direct route writes lists, tuples and objects without the redactor",
        "            elif shape not in PLAIN_SCALARS:\n",
        "            elif shape is dict:\n",
        ("tests/test_fused_path.py",),
        where="_fused",
    ),
    Mutation(
        "fused-direct-step-id-lost",
        "records of the fused path's direct route inside a step lack its step_id",
        "        if step_id is not None:\n            record[STEP_ID] = step_id\n",
        "",
        ("tests/test_fused_path.py",),
    ),
    Mutation(
        "fused-direct-uncounted",
        "events of the fused path's direct route are missing from their run's closing counts",
        "        if run is not None:\n            run.counts[kind] += 1\n",
        "",
        ("tests/test_fused_path.py",),
        where="_fused",
    ),
    Mutation(
        "size-check-skipped",
        "a writer trusts the size its own records left, missing other processes' appends",
        "                    end = _lseek(fd, 0, SEEK_END)\n",
        "                    end = self._size\n",
        (
            "tests/writer/test_multiprocess.py::"
            "test_a_writer_counts_what_another_process_appended_since_its_last_record",
        ),
    ),
    Mutation(
        "price-load-cut-at-exit",
        "the interpreter's exit does not wait for the price table's load (SIGABRT risk)",
        "        loaded.wait(EXIT_WAIT_S)\n",
        "        pass\n",
        (
            "tests/llm/test_llm_cost.py::"
            "test_a_process_that_exits_while_the_table_loads_lets_the_load_end_first",
        ),
    ),
    Mutation(
        "fused-direct-off-after-any-conversation",
        "one run with a conversation id sends every later event of the process the slow way",
        "            and run is not None\n"
        "            and (run.conversation_id is not None or run.user_id is not None)\n",
        "",
        (
            "tests/test_fused_path.py::"
            "test_a_run_with_a_conversation_leaves_the_direct_route_to_other_runs",
        ),
    ),
    Mutation(
        "user-pattern-searched-joined",
        "a user's anchored pattern (^...$) is searched over the record's strings joined",
        "        return any(p.search(text) is not None for p in self.patterns for text in texts)\n",
        "        return any(p.search(chr(0).join(texts)) is not None for p in self.patterns)\n",
        ("tests/test_redaction.py::test_an_anchored_pattern_finds_a_value_beside_other_strings",),
    ),
    Mutation(
        "stats-unhashable-kind",
        "stats --by name looks an unhashable kind (a foreign list) up in a dict, and stops",
        "            except TypeError:  # a foreign writer's list or object: no kind\n",
        "            except KeyError:\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "progress-every-calls-late",
        "the progress count is told after the caller got the n-th record, not as it is taken",
        "            call(n)\n            yield (nth,)\n",
        "            yield (nth,)\n            call(n)\n",
        ("tests/cli/test_progress_every.py",),
    ),
    Mutation(
        "progress-every-slice-too-long",
        "the progress count is told one record late each time, drifting from the records read",
        "        yield itertools.islice(items, count - 1)\n",
        "        yield itertools.islice(items, count)\n",
        ("tests/cli/test_progress_every.py",),
    ),
    Mutation(
        "runs-fold-keeps-the-first-run",
        "runs adds every record after the first run's to that run, whatever its run_id",
        "            if run_id.__class__ is not str or run_id != last_id:\n",
        "            if last_id is _NO_RUN:\n",
        ("tests/cli/test_cli.py",),
    ),
    Mutation(
        "stats-float-cost-unchecked",
        "a call's negative or infinite float cost is summed by stats, runs and report",
        "        if cost.__class__ is float and 0.0 <= cost < math.inf:  # `cost_ok`'s usual"
        " case\n",
        "        if cost.__class__ is float:\n",
        ("tests/cli/test_stats_runs_hostile.py", "tests/cli/test_cli_usage.py"),
    ),
    Mutation(
        "stats-float-duration-unchecked",
        "an infinite float duration is counted in stats' percentiles and maximum",
        "        if duration.__class__ is not float or not -math.inf < duration < math.inf:\n",
        "        if duration.__class__ is not float:\n",
        ("tests/cli/test_stats_runs_hostile.py", "tests/cli/test_stats_percentiles.py"),
    ),
    Mutation(
        "read-report-merge-says-a-break-once",
        "merged reports say a file that broke off in two reads once, as a note, where one pass "
        "says it twice",
        "            if number in broken:\n",
        "            if False:\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "fanout-one-share-each",
        "each process of stats or runs reads one share of the log, the others are never read",
        "        number = _NUMBER.unpack(data)[0] if data else None\n",
        "        number = None\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "fanout-merged-backwards",
        "the shares' folds are merged last share first, not in file order",
        "    for number, later, later_report, seen in taken:\n",
        "    for number, later, later_report, seen in reversed(taken):\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "fold-collects-cycles",
        "stats and runs fold with the cyclic collector on: collections walk every group kept",
        "    gc.disable()\n    try:\n        yield\n",
        "    try:\n        yield\n",
        ("tests/cli/test_fold_gc.py",),
    ),
    Mutation(
        "fold-leaves-collector-off",
        "after stats or runs folded a log, the process's cyclic garbage collector stays off",
        "        if enabled:\n            gc.enable()\n",
        "        pass\n",
        ("tests/cli/test_fold_gc.py",),
    ),
    Mutation(
        "call-tokens-unchecked",
        "an llm_call's input tokens that are a plain int are summed however many or few",
        "            if tokens_in.__class__ is not int or not 0 <= tokens_in <= MAX_TOKEN_COUNT:\n",
        "            if tokens_in.__class__ is not int:\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "token-count-negative-summed",
        "a negative token count that is a plain int is summed",
        "        return count if 0 <= count <= MAX_TOKEN_COUNT else None\n",
        "        return count if count <= MAX_TOKEN_COUNT else None\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "run-conversation-looked-for-under-user",
        "a run looks for its conversation only in records that hold a user",
        "        if self.conversation_id is None and CONVERSATION_KEY in record:\n",
        "        if self.conversation_id is None and USER_KEY in record:\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "ship-rotated-let-go-without-locks",
        "without file locks, ship lets a rotated file go at once, losing a writer's late line",
        "            return time.time() - self.unlocked_since > GRACE_S\n",
        "            return True\n",
        ("tests/test_ship_cursor.py",),
    ),
    Mutation(
        "fanout-worker-unignores-signals",
        "a worker undoes a signal its parent ignores (nohup): a hangup kills it",
        "            if signal.getsignal(number_) != signal.SIG_IGN:  # (under nohup, as its"
        " parent)\n",
        "            if True:\n",
        (
            "tests/cli/test_stats_runs_parallel.py::test_a_signal_the_command_ignores_is_ignored_by_its_workers",
        ),
    ),
    Mutation(
        "ship-grace-not-kept",
        "the checkpoint forgets since when a lockless rotated file was waited for: never let go",
        "            held_file.unlocked_since = waited.get(held_file.number)\n",
        "            held_file.unlocked_since = None\n",
        ("tests/test_ship_cursor.py",),
    ),
    Mutation(
        "ship-mapped-loopback-warned",
        "headers to ::ffff:127.0.0.1 (this machine) are warned about as sent in clear",
        "    return not (address.is_loopback or (mapped is not None and mapped.is_loopback))\n",
        "    return not address.is_loopback\n",
        ("tests/test_ship_headers.py",),
    ),
    Mutation(
        "quantiles-merge-stays-exact-past-limit",
        "two shares' durations merged stay exact past EXACT_LIMIT where one pass buckets them",
        "len(values) + len(theirs) <= EXACT_LIMIT:\n",
        "len(values) + len(theirs) <= 2 * EXACT_LIMIT:\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "run-merge-name-only-when-not-none",
        "a run's later share sets its name only when not None, though a start naming it None did",
        "        if later.named:\n",
        "        if later.name is not None:\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "read-report-merge-puts-later-torn-lines-first",
        "the torn lines a later share found are listed before the earlier share's",
        "        self.bad += later.bad[: max(MAX_BAD_KEPT - len(self.bad), 0)]\n",
        "        self.bad[:0] = later.bad[: max(MAX_BAD_KEPT - len(self.bad), 0)]\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "fanout-notes-after-last-file-to-last-share",
        "notes after the last file go to the last share, dropped when it reads no file",
        "        with_file[-1] += held\n",
        "        shares[-1] += held\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "read-report-merge-repeats-notes",
        "a refusal noted by two shares (a log named twice) is said twice",
        "        self.errors += [note for note in errors if note not in self.errors]\n",
        "        self.errors += list(errors)\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "kind-of-keeps-a-list",
        "a foreign writer's list kind is taken as a kind, and looked up in a set of kinds",
        "    return kind if isinstance(kind, str) else None\n",
        "    return kind\n",
        (
            "tests/test_ship.py::test_records_whose_kind_is_not_text_are_shipped_as_export_writes_them",
        ),
    ),
    Mutation(
        "ship-late-record-reuses-root",
        "a record of a run that ended starts the run's first part again: its root goes out a "
        "second time under the id already sent",
        "            later = None if finished is None else position\n",
        "            later = None\n",
        (
            "tests/test_ship.py::test_a_record_of_an_ended_run_goes_under_a_root_of_its_own_as_export_writes_it",
        ),
    ),
    Mutation(
        "ship-late-part-unfinished",
        "the later part of a run that ended is closed as unfinished: a crash that was not",
        '        return run.take(None if run.s.get("finished") else UNFINISHED)\n',
        "        return run.take(UNFINISHED)\n",
        (
            "tests/test_ship.py::test_a_record_of_an_ended_run_goes_under_a_root_of_its_own_as_export_writes_it",
            "tests/test_ship_late.py",
        ),
    ),
    Mutation(
        "ship-late-part-never-unfinished",
        "a later part is never unfinished, even when its run was only closed (silent, not "
        "ended) and its writer then died",
        '        return run.take(None if run.s.get("finished") else UNFINISHED)\n',
        '        return run.take(None if run.s.get("position") is not None else UNFINISHED)\n',
        ("tests/test_ship_late.py",),
    ),
    Mutation(
        "ship-ended-not-kept",
        "the checkpoint forgets the runs given out: a late record read by the next ship sends "
        "the root's id again",
        '                "ended": self.builder.ended,\n',
        '                "ended": {},\n',
        (
            "tests/test_ship.py::test_a_late_part_keeps_its_ids_across_reads_restarts_and_reordering",
        ),
    ),
    Mutation(
        "ship-taken-not-kept",
        "the checkpoint forgets how many records were read: the next ship numbers them from 1 "
        "and a late part's ids differ from export's",
        '        return {"files": files, "next": self.next, "taken": self.taken}\n',
        '        return {"files": files, "next": self.next, "taken": 0}\n',
        (
            "tests/test_ship.py::test_a_late_part_keeps_its_ids_across_reads_restarts_and_reordering",
        ),
    ),
    Mutation(
        "ship-position-after-reordering",
        "records are numbered after each process's are put back in seq order: a late part's "
        "ids depend on how the reads fall",
        "        return [(first + index, out[index]) for index in process_order(out)]\n",
        "        return [(first + n, out[i]) for n, i in enumerate(process_order(out))]\n",
        (
            "tests/test_ship.py::test_a_late_part_keeps_its_ids_across_reads_restarts_and_reordering",
        ),
    ),
    Mutation(
        "ship-ended-unbounded",
        "the runs given out are remembered without bound (in memory and the checkpoint)",
        "        if len(self.ended) > MAX_ENDED:\n",
        "        if False:\n",
        ("tests/test_ship_late.py",),
    ),
    Mutation(
        "otlp-event-name-repr",
        "an event without a text name is named by Python's str(): `None`, `{'a': 1}`",
        "    return shown(record.get(EVENT))\n",
        "    return str(record.get(EVENT))\n",
        (
            "tests/export/test_export_otlp.py::test_an_event_without_a_text_name_is_named_as_other_values_are",
        ),
    ),
    Mutation(
        "tail-figure-not-a-number",
        "tail reads a call's duration or cost as a number whatever it is: text fails the line",
        "    return value if amount is None else show(amount)\n",
        "    return show(value)\n",
        (
            "tests/cli/test_cli_llm.py::test_tail_shows_a_call_or_tool_whose_figures_are_not_numbers_as_logged",
        ),
    ),
    Mutation(
        "tail-deep-value-unguarded",
        "tail writes a value nested deeper than recursion allows with the stdlib encoder alone",
        "        except (RecursionError, ValueError):  # deeper than recursion allows",
        "        except ValueError:  # deeper than recursion allows",
        ("tests/cli/test_cli.py::test_tail_shows_values_nested_past_every_encoders_depth",),
    ),
    Mutation(
        "scores-mean-overflow-infinite",
        "the mean of finite scores whose sum overflows is infinite (null in JSON)",
        "        return math.fsum(v / len(values) for v in values)\n",
        "        return math.inf\n",
        (
            "tests/cli/test_cli_scores.py::test_scores_whose_sum_or_squares_pass_the_float_range_have_a_mean_and_a_test",
        ),
    ),
    Mutation(
        "welch-unscaled",
        "Welch's test squares scores near the largest float as they are: OverflowError",
        "    if largest > _SQUARABLE:\n",
        "    if largest > math.inf:\n",
        (
            "tests/cli/test_cli_scores.py::test_scores_whose_sum_or_squares_pass_the_float_range_have_a_mean_and_a_test",
        ),
    ),
    Mutation(
        "ts-key-past-the-end-flipped",
        "a time whose UTC instant is past 9999-12-31 orders before every time, not after",
        "        late = moment.year == MAXYEAR  # only 31 December or 1 January can overflow\n",
        "        late = moment.year != MAXYEAR  # only 31 December or 1 January can overflow\n",
        (
            "tests/reader/test_reader.py::test_times_whose_utc_instant_is_past_the_calendar_order_at_its_ends",
        ),
    ),
    Mutation(
        "report-score-hour-past-calendar",
        "a score dated past the calendar in UTC gets a chart bucket that cannot be dated",
        "        return math.floor(when.astimezone(timezone.utc).timestamp() / _HOUR)\n",
        "        return math.floor(when.timestamp() / _HOUR)\n",
        (
            "tests/report/test_report_scores.py::test_scores_dated_past_either_end_of_the_calendar_in_utc_are_counted_not_charted",
        ),
    ),
    Mutation(
        "shape-below-keyed-every-ancestor",
        "a new object path looks up every ancestor in `keyed`: quadratic in a record's depth",
        "        return any(n < size and path[:n] in keyed for n in self._keyed_lengths)\n",
        "        return any(path[:n] in keyed for n in range(1, size))\n",
        (
            "tests/export/test_export_path_budget.py::test_objects_nested_a_thousand_deep_cost_lookups_linear_in_their_size",
        ),
    ),
    Mutation(
        "report-hover-name-as-text",
        "the runs chart slices a run's name as text: a foreign run named by a number fails",
        'plot_text(shown(run["name"])[:MAX_HOVER_TEXT])',
        'plot_text(run["name"][:MAX_HOVER_TEXT])',
        (
            "tests/report/test_report_hostile.py::test_runs_whose_name_is_not_text_are_charted_with_their_name",
        ),
    ),
    Mutation(
        "parquet-list-item-without-type-merged",
        "a list item with no Arrow type (a list of mixed types) is merged as a type: it raises",
        "            merged = None if kind is None else _merge(merged, kind)\n",
        "            merged = _merge(merged, kind)\n",
        (
            "tests/export/test_export_parquet.py::test_a_list_holding_a_list_of_mixed_types_is_json_text",
        ),
    ),
    Mutation(
        "tail-core-field-python-spelling",
        "tail shows a time, level, logger, event or run that is not text in Python's spelling",
        "    return shown(value, json_text)\n",
        "    return str(value)\n",
        ("tests/cli/test_cli.py::test_tail_shows_core_fields_that_are_not_text_as_their_json",),
        "cli/_output.py",
    ),
    Mutation(
        "ship-parent-unchecked",
        "ship puts a span under its parent step whatever it is: a step naming itself is its own",
        " and not self._above(key[1:], parent[1:]):\n",
        ":\n",
        ("tests/test_ship.py::test_forged_parents_never_make_a_shipped_span_its_own_ancestor",),
    ),
    Mutation(
        "ship-parent-chain-one-step",
        "ship checks only a span's parent, not the parents above it: A -> B -> A ships a cycle",
        "            ancestor = known.get(ancestor)\n",
        "            ancestor = None\n",
        ("tests/test_ship.py::test_forged_parents_never_make_a_shipped_span_its_own_ancestor",),
    ),
    Mutation(
        "percentile-difference-overflows",
        "a percentile between durations at both ends of the float range is infinite (null)",
        "            if math.isfinite(value):\n                return value\n",
        "            return value\n",
        (
            "tests/cli/test_stats_percentiles.py::test_percentiles_between_durations_whose_difference_overflows_are_finite",
        ),
    ),
    Mutation(
        "shown-deep-value-raises",
        "a name, level or error that is not text is shown with str(): Python's spelling, and "
        "a RecursionError past recursion",
        '    return "-" if value is None else encode(value)\n',
        '    return "-" if value is None else str(value)\n',
        ("tests/cli/test_values_past_recursion.py",),
        "readmodel/values.py",
    ),
    Mutation(
        "validate-deep-value-unquoted",
        "validate lets jsonschema's quoting of a value nested past recursion raise",
        "except RecursionError:  # jsonschema quotes the value: one nested past recursion",
        "except MemoryError:  # jsonschema quotes the value: one nested past recursion",
        (
            "tests/cli/test_values_past_recursion.py::test_every_command_reads_values_past_recursion",
        ),
    ),
    Mutation(
        "stats-name-str-past-recursion",
        "stats --by name spells a group's name with an f-string: a name nested past recursion "
        "raises RecursionError",
        '            key = f"{scope} {name if type(name) is str else shown(name)}"\n',
        '            key = f"{scope} {name}"\n',
        ("tests/cli/test_values_past_recursion.py",),
    ),
    Mutation(
        "stats-by-field-orjson-only",
        "stats --by FIELD writes a value as orjson alone: one nested past 255 levels raises",
        "    return value if isinstance(value, str) else json_text(value)\n",
        "    return value if isinstance(value, str) else orjson.dumps(value).decode()\n"
        "import orjson  # noqa: E402\n",
        ("tests/cli/test_values_past_recursion.py",),
        "cli/stats.py",
    ),
    Mutation(
        "span-name-python-spelling",
        "an agent step named by no text is spelled by Python in its span's name",
        '        return f"invoke_agent {_text(path(record, *AGENT_NAME_PATH)) or name}"\n',
        '        return f"invoke_agent {_text(path(record, *AGENT_NAME_PATH)) or record[NAME]}"\n',
        (
            "tests/export/test_export_otlp.py::test_a_step_or_agent_named_by_no_text_is_named_by_its_json",
        ),
    ),
    Mutation(
        "runs-plain-record-skips-user",
        "a run's sample or step end that names the user is counted without setting the run's user",
        " or conversation_key in record or user_key in record:\n",
        " or conversation_key in record:\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "runs-plain-record-before-first-ts",
        "a run's record is counted without its time while the run has none",
        "if unsure or conversation_key in record",
        "if conversation_key in record",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "runs-plain-kind-any",
        "every record with a string kind counts as one that sets nothing in its run",
        "            elif kind not in KINDS_READ:\n",
        "            elif True:\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "usage-scale-stale",
        "the float scale of the cost sum is not kept up when the sum goes to a finer scale",
        "            self._cost_scale = math.ldexp(1.0, shift)",
        "            _stale = math.ldexp(1.0, shift)",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "usage-scale-beyond-floats-zero",
        "a cost scale finer than a float can hold is taken as 0, so later prices add nothing",
        "if shift < _FLOAT_EXPONENTS else math.nan\n",
        "if shift < _FLOAT_EXPONENTS else 0.0\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "stats-named-failed-kind-ignored",
        "under --by name, a run or step end whose kind says it failed is counted ok",
        "group.count_one(record, by_kind or ",
        "group.count_one(record, ",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "stats-named-error-field-ignored",
        "under --by name, a record with an error field is counted ok",
        "                            or record.get(error_key) is not None)  # fmt: skip\n",
        "                            )  # fmt: skip\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "json-bytes-with-del",
        "JSON taken as it is from orjson when it holds a raw DEL",
        'data.isascii() and b"\\x7f" not in data:',
        "data.isascii():",
        ("tests/cli/test_cli_terminal.py",),
    ),
    Mutation(
        "json-bytes-not-ascii",
        "JSON taken as it is from orjson whatever characters it holds",
        'if data.isascii() and b"\\x7f" not in data:',
        'if b"\\x7f" not in data:',
        ("tests/cli/test_cli_terminal.py",),
    ),
    Mutation(
        "runs-kinds-read-without-start",
        "a run_start after a run's first records is only counted",
        "KINDS_READ = frozenset((SAMPLE, LLM_CALL, SCORE, RUN_START, *RUN_ENDS))",
        "KINDS_READ = frozenset((SAMPLE, LLM_CALL, SCORE, *RUN_ENDS))",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "runs-plain-sample-ok-truthy",
        "a sample counted without `add` is ok when its ok is any true value",
        "                    if record.get(ok_key) is True:\n",
        "                    if record.get(ok_key):\n",
        ("tests/cli/test_stats_runs_hostile.py",),
    ),
    Mutation(
        "reader-cut-line-read-as-json",
        "a line cut at the limit is parsed as a line (whose start may read as JSON)",
        "                if line[-1] != 10 and is_cut(line, limit):\n",
        "                if False:\n",
        ("tests/reader/test_reader.py",),
    ),
    Mutation(
        "stream-close-leaves-file-uncounted",
        "closing a stream part-way does not count the lines its file gave so far",
        "        if self._decoding is not None:  # first: its `finally` counts what it read\n"
        "            self._decoding.close()\n",
        "",
        ("tests/reader",),
    ),
    Mutation(
        "quantiles-max-lost-to-buckets",
        "the largest value is forgotten when exact values are counted into buckets",
        "        self._bucketed, self._top = self.count, self.max\n",
        "        self._bucketed, self._top = self.count, None\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "quantiles-max-last-of-equals",
        "while exact, the largest value is the last of equal ones (-0.0 after 0.0 wins)",
        "        return max(values) if values else None\n",
        "        return max(reversed(values)) if values else None\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
    Mutation(
        "stream-goes-on-after-a-raise",
        "a stream whose filter raised keeps its file open and reads on from the next one",
        "                self._records.close()  # when one generator read",
        "                pass  # when one generator read",
        ("tests/reader/test_reader.py",),
    ),
    Mutation(
        "cut-line-counted-when-the-file-breaks",
        "a line past the limit whose rest breaks off (a truncated gzip) is not noted as too long",
        "        self.report.add_oversize(where)\n        skip_rest(stream)\n",
        "        skip_rest(stream)\n        self.report.add_oversize(where)\n",
        ("tests/reader/test_reader.py",),
    ),
    Mutation(
        "blocks-cut-line-lost-at-a-break",
        "read by blocks, a line past the limit when the file breaks off is dropped unnoted",
        "                    if len(carry) > limit:  # and one past the limit",
        "                    if False:  # and one past the limit",
        ("tests/reader/test_reader.py",),
    ),
    Mutation(
        "quantiles-settled-stale",
        "a share's settled buckets used for its exact values though more were added since",
        "        if settled is not None and settled[0] == len(values):\n",
        "        if settled is not None:\n",
        ("tests/cli/test_stats_runs_parallel.py",),
    ),
)


def apply(copy: Path, mutation: Mutation) -> Path | None:
    """Plant the mutation in the copy; the file changed, or None if its snippet is not there
    exactly once."""
    hits = [
        path
        for path in sorted((copy / PACKAGE).rglob("*.py"))
        if mutation.where in str(path.relative_to(copy))
        for _ in range(path.read_text(encoding="utf-8").count(mutation.old))
    ]
    if len(hits) != 1:
        return None
    text = hits[0].read_text(encoding="utf-8")
    hits[0].write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
    return hits[0]


def located(copy: Path, test: str) -> str:
    """`test` as named, or, when no file is at that path, the one file of that name under
    `tests/`: a test file moved into its subject's folder (`tests/cli/`, ...) is still found
    by the name it had before."""
    path, sep, node = test.partition("::")
    if (copy / path).exists():
        return test
    found = sorted((copy / "tests").rglob(Path(path).name))
    return f"{found[0].relative_to(copy)}{sep}{node}" if len(found) == 1 else test


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    named = [located(copy, test) for test in tests]
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        *named,
    ]
    try:
        done = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return -1, "timed out"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines[-1] if lines else done.stderr.strip()[-200:]


def fresh_copy(into: Path) -> Path:
    copy = into / "project"
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    return copy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per test run")
    args = parser.parse_args(argv)
    known = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:30} {m.breaks}\n{'':30} tests: {' '.join(m.tests)}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(unknown)}; see --list")
    chosen = [known[name] for name in args.names] or list(MUTATIONS)

    tests = tuple(sorted({t for m in chosen for t in m.tests}))
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        status, summary = run_tests(fresh_copy(Path(tmp)), tests, args.timeout)
    print(f"{'baseline':30} {'pass' if status == 0 else 'FAIL':9} {summary}", flush=True)
    if status != 0:
        print("the tests fail without any mutation: fix them first", file=sys.stderr)
        return 2

    survivors = 0
    for mutation in chosen:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
            copy = fresh_copy(Path(tmp))
            changed = apply(copy, mutation)
            if changed is None:
                verdict, summary = "stale", "snippet not found exactly once: update it here"
            else:
                status, summary = run_tests(copy, mutation.tests, args.timeout)
                verdict = {0: "SURVIVED", 1: "killed"}.get(status, f"error {status}")
        survivors += verdict != "killed"
        seconds = time.monotonic() - started
        print(f"{mutation.name:30} {verdict:9} {summary} ({seconds:.0f}s)", flush=True)
    print(f"{len(chosen) - survivors} of {len(chosen)} mutations killed")
    return 0 if survivors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
