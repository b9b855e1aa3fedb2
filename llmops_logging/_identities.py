"""The run's conversation and user ids on every record of the run, after redaction.

They are identifiers, never secrets: a conversation id may look like a token (a session
string, a JWT-shaped key), and the redactor would replace it. So the renderer writes them, after
the redactor and writes only the run's own ids, which are text the library made or checked
(`runs.run` turns them into `str`); whatever the caller logged still passes the redactor,
a real session token under a field such as `session_id` included.

The ids go to nested paths (`gen_ai.conversation.id`, `user.id`), merged into a `gen_ai`
object the record already has (an `llm_call`'s, a tool's); a caller's field in the way that is
no object is kept as `user_<name>`, as for the stamps.
"""

from __future__ import annotations

from typing import Any

from ._context import RunState
from ._contract import CONVERSATION_PATH, USER_PATH, USER_PREFIX, EventDict


def add_identities(event_dict: EventDict, run: RunState) -> None:
    """Write `run`'s `gen_ai.conversation.id` and `user.id` (the renderer calls this, after
    the redactor, for the records of a run that has them)."""
    if run.conversation_id is not None:
        _put(event_dict, CONVERSATION_PATH, run.conversation_id)
    if run.user_id is not None:
        _put(event_dict, USER_PATH, run.user_id)


def _put(event_dict: EventDict, path: tuple[str, ...], value: str) -> None:
    """`event_dict[p0][p1]... = value`, copying the objects on the way (they may be the
    caller's) and moving a caller's value that is no object aside."""
    head = path[0]
    top = event_dict.get(head)
    if top is not None and type(top) is not dict:
        name = USER_PREFIX + head
        while name in event_dict:
            name = USER_PREFIX + name
        event_dict[name] = event_dict.pop(head)
        top = None
    node: dict[str, Any] = dict(top) if top else {}
    event_dict[head] = node
    for key in path[1:-1]:
        inner = node.get(key)
        inner = dict(inner) if type(inner) is dict else {}
        node[key] = inner
        node = inner
    node[path[-1]] = value
