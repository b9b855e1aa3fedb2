"""The LangChain callback handler behind `instrument_langchain()` (imports langchain-core).

Each LangChain run becomes what the library writes for plain code, through the same
machinery: a chain or a LangGraph node is a step (`ll.step`, named as LangChain names it: a
node by its node name), a retriever a step whose `step_ok` counts its `documents`, a tool a
`tool_call` record (`ll.tool_call`), a chat model or LLM an `llm_call` record (`ll.llm_call`).
The tree follows LangChain's: a run's parent is the run LangChain names as its
`parent_run_id`; a run whose parent is not followed hangs below the step open where it
starts. A top-level chain with no `ll.run` open is a run of its own (`run_start` ...
`run_ok`), so that each invocation of an agent is one run with its status, duration and
usage; inside an `ll.run` it is a step of that run. Runs LangChain marks hidden
(`langsmith:hidden`, LangChain's mark for plumbing) are left out, and so are the runs
inside them, which inherit the tag; a child without it hangs on the hidden run's parent.

The handler runs inline (`run_inline`): LangChain calls it in the caller's thread and
context, also from async code, so that a step it opens is current for the code inside the
run (a node's own log lines, a model call made through an instrumented SDK) and a model call
it opens encloses the SDK's call (`_once`): over an instrumented SDK, the SDK's record is the
one written. A run that ends in another context than it started in is closed in the context
it started in, so that its records keep their run. Nothing here raises into LangChain: a
failure is counted in `llm._call.internal_errors`.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, ToolMessage

from .._context import current_run, current_step, nearest_open
from .._contract import DOCUMENTS
from ..runs import RunManager, Scope, StepManager
from ..tools import ToolCall
from . import _once
from ._bounded import Bounded
from ._call import LlmCall, note_internal_error
from ._content import text_part, tool_call_part, tool_response_part

F = TypeVar("F", bound=Callable[..., None])

_HIDDEN = "langsmith:hidden"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_REQUEST = (
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("max_tokens", "max_tokens"),
    ("max_completion_tokens", "max_tokens"),
    ("seed", "seed"),
)


def _guarded(method: F) -> F:
    """A callback that never raises into LangChain."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            method(*args, **kwargs)
        except Exception:
            note_internal_error()

    return guarded  # type: ignore[return-value]


class _Followed:
    """One LangChain run followed: the run and step current inside it, and its context."""

    __slots__ = ("context", "run", "step")

    def __init__(self) -> None:
        self.run = current_run.get()
        self.step = current_step.get()
        self.context = contextvars.copy_context()

    def here(self) -> bool:
        """Whether this is the context the run started in (its scope is current here)."""
        return current_run.get() is self.run and current_step.get() is self.step

    def in_place(self, end: Callable[..., None], *args: Any) -> None:
        """Run `end` here when this is the run's context, else in the context it started in."""
        if not self.here():
            try:
                self.context.run(end, *args)
            except RuntimeError:  # that context is entered already: end here
                pass
            else:
                _tidy()
                return
        end(*args)


def _tidy() -> None:
    """Leave no ended scope current here (a run ended in another context than its start)."""
    step = current_step.get()
    if step is not None and step.closed:
        current_step.set(nearest_open(step))
    run = current_run.get()
    if run is not None and run.closed:
        current_run.set(nearest_open(run))


class _Hidden(_Followed):
    """A run left out of the log: its children hang on what was current at its start."""

    __slots__ = ()


class _Scope(_Followed):
    """A chain, a graph node or a retriever: a step, or a run of its own at the top."""

    __slots__ = ("manager", "scope")

    def __init__(self, manager: StepManager | RunManager) -> None:
        self.manager = manager
        self.scope: Scope = manager.__enter__()
        super().__init__()

    def end(self, error: BaseException | None) -> None:
        if error is None:
            self.in_place(self.manager.__exit__, None, None, None)
        else:
            self.in_place(self.manager.__exit__, type(error), error, error.__traceback__)


class _Tool(_Followed):
    __slots__ = ("call",)

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        call.__enter__()
        super().__init__()

    def end(self, error: BaseException | None) -> None:
        if error is None:
            self.in_place(self.call.__exit__, None, None, None)
        else:
            self.in_place(self.call.__exit__, type(error), error, error.__traceback__)


class _Model(_Followed):
    __slots__ = ("call",)

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        super().__init__()


class LangChainHandler(BaseCallbackHandler):
    """Writes LangChain's runs as the library's steps, tool calls and model calls."""

    run_inline = True  # in the caller's context, also under an async callback manager
    raise_error = False

    def __init__(self) -> None:
        # by LangChain's run id; bounded: a run never ended is forgotten (`_bounded`)
        self._followed: Bounded[UUID, _Followed] = Bounded()

    # -- where a run sits -----------------------------------------------------------------

    def _enter_parent(self, parent_run_id: UUID | None) -> bool:
        """Make the parent run's scope current; whether the parent is followed."""
        parent = self._followed.get(parent_run_id) if parent_run_id is not None else None
        if parent is None:
            return False
        if current_run.get() is not parent.run:
            current_run.set(parent.run)
        if current_step.get() is not parent.step:
            current_step.set(parent.step)
        return True

    def _open_scope(
        self,
        name: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        known = self._enter_parent(parent_run_id)
        if tags and _HIDDEN in tags:
            self._followed[run_id] = _Hidden()
            return
        manager: StepManager | RunManager
        if not known and nearest_open(current_run.get()) is None:
            thread = (metadata or {}).get("thread_id")
            manager = RunManager(name, {}, conversation_id=thread)
        else:
            if current_step.get() is not None:
                current_step.set(nearest_open(current_step.get()))
            manager = StepManager(name, {})
        self._followed[run_id] = _Scope(manager)

    def _close(self, run_id: UUID, error: BaseException | None) -> None:
        followed = self._followed.pop(run_id)
        if isinstance(followed, (_Scope, _Tool)):
            followed.end(error)

    # -- chains and graph nodes -----------------------------------------------------------

    @_guarded
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open_scope(_name(serialized, kwargs, "chain"), run_id, parent_run_id, tags, metadata)

    @_guarded
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, None)

    @_guarded
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- retrievers -----------------------------------------------------------------------

    @_guarded
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _name(serialized, kwargs, "retriever")
        self._open_scope(name, run_id, parent_run_id, tags, metadata)

    @_guarded
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        followed = self._followed.get(run_id)
        if isinstance(followed, _Scope):
            followed.scope.set(**{DOCUMENTS: len(documents)})
        self._close(run_id, None)

    @_guarded
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- tools ----------------------------------------------------------------------------

    @_guarded
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._enter_parent(parent_run_id)
        description = (serialized or {}).get("description")
        call = ToolCall(
            _name(serialized, kwargs, "tool"),
            arguments=inputs if inputs is not None else input_str,
            call_id=kwargs.get("tool_call_id"),
            description=description if isinstance(description, str) else None,
        )
        self._followed[run_id] = _Tool(call)

    @_guarded
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        followed = self._followed.get(run_id)
        if isinstance(followed, _Tool):
            followed.call.result = output.content if isinstance(output, ToolMessage) else output
        self._close(run_id, None)

    @_guarded
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- models ---------------------------------------------------------------------------

    @_guarded
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        call = self._start_model(run_id, parent_run_id, metadata, kwargs, "chat")
        if call is not None and call.capture_content and messages:
            call.input_messages = [_message(m) for m in messages[0]]

    @_guarded
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        call = self._start_model(run_id, parent_run_id, metadata, kwargs, "text_completion")
        if call is not None and call.capture_content and prompts:
            call.input_messages = [{"role": "user", "parts": [text_part(prompts[0])]}]

    def _start_model(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        operation: str,
    ) -> LlmCall | None:
        params = kwargs.get("invocation_params")
        params = params if isinstance(params, Mapping) else {}
        meta = metadata or {}
        model = _first_text(
            params.get("model"), params.get("model_name"), meta.get("ls_model_name")
        )
        provider = _first_text(meta.get("ls_provider"), params.get("_type")) or "langchain"
        call = LlmCall(model or "unknown", provider=provider, operation=operation)
        for param, key in _REQUEST:
            value = params.get(param)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                call.request[key] = value
        self._enter_parent(parent_run_id)
        call.start()
        _once.enclose(call)  # an instrumented SDK's call inside supersedes this one
        self._followed[run_id] = _Model(call)
        return call

    @_guarded
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        followed = self._followed.get(run_id)
        if isinstance(followed, _Model):
            followed.call.first_chunk()

    @_guarded
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        followed = self._followed.pop(run_id)
        if not isinstance(followed, _Model):
            return
        call = followed.call
        _once.release(call)
        if not call.superseded:
            try:
                _read_result(call, response)
            except Exception:
                note_internal_error()
        call.finish()

    @_guarded
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        followed = self._followed.pop(run_id)
        if isinstance(followed, _Model):
            _once.release(followed.call)
            followed.call.finish(error)


def _name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name as LangChain shows it: the `name` given, else the serialized one's."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return default


def _first_text(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)


def _message(message: Any) -> dict[str, Any]:
    """A LangChain message in OpenTelemetry's GenAI shape (`role`, `parts`)."""
    kind = getattr(message, "type", None)
    role = (
        _ROLES.get(kind, getattr(message, "role", None) or kind) if isinstance(kind, str) else None
    )
    content = getattr(message, "content", None)
    if isinstance(message, ToolMessage):
        return {"role": "tool", "parts": [tool_response_part(message.tool_call_id, content)]}
    parts = _parts(content)
    for call in getattr(message, "tool_calls", None) or ():
        if isinstance(call, Mapping):
            parts.append(tool_call_part(call.get("id"), call.get("name"), call.get("args")))
    return {"role": role, "parts": parts}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [text_part(content)] if content else []
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for item in content:
            if isinstance(item, str):
                parts.append(text_part(item))
            elif isinstance(item, Mapping) and item.get("type") == "text":
                parts.append(text_part(item.get("text")))
            elif isinstance(item, Mapping):
                parts.append(dict(item))
    return parts


def _read_result(call: LlmCall, response: Any) -> None:
    """What an `LLMResult` tells: token counts, response model and id, finish reasons, output."""
    generations = response.generations[0] if response.generations else []
    llm_output = response.llm_output if isinstance(response.llm_output, Mapping) else {}
    reasons: list[str] = []
    outputs: list[dict[str, Any]] = []
    usage: Mapping[str, Any] | None = None
    for generation in generations:
        message = getattr(generation, "message", None)
        info = generation.generation_info or {}
        meta = getattr(message, "response_metadata", None) or {}
        reason = _first_text(info.get("finish_reason"), meta.get("finish_reason"))
        if reason is not None:
            reasons.append(reason)
        if usage is None:
            usage = getattr(message, "usage_metadata", None)
        call.response_model = call.response_model or _first_text(meta.get("model_name"))
        call.response_id = call.response_id or _first_text(meta.get("id"))
        if call.capture_content:
            if message is not None:
                output = _message(message)
            else:
                output = {"role": "assistant", "parts": [text_part(generation.text)]}
            output["finish_reason"] = reason
            outputs.append(output)
    call.response_model = call.response_model or _first_text(llm_output.get("model_name"))
    if reasons:
        call.finish_reasons = reasons
    if outputs:
        call.output_messages = outputs
    if usage:
        inputs = usage.get("input_token_details") or {}
        outputs_detail = usage.get("output_token_details") or {}
        call.set_usage(
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            cache_read_input_tokens=inputs.get("cache_read"),
            cache_creation_input_tokens=inputs.get("cache_creation"),
            reasoning_output_tokens=outputs_detail.get("reasoning"),
        )
        return
    counts = llm_output.get("token_usage") or llm_output.get("usage")
    if isinstance(counts, Mapping):
        call.set_usage(
            counts.get("prompt_tokens", counts.get("input_tokens")),
            counts.get("completion_tokens", counts.get("output_tokens")),
        )
