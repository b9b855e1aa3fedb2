"""The house rules, read from the package's source: no import cycle, one home for the contract.

An AST walk, not an import: it sees imports under `TYPE_CHECKING` and inside functions too,
since a cycle hidden there is still two modules that cannot be read apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

from llmops_logging import _contract

PACKAGE = Path(_contract.__file__).parent
CONTRACT_MODULE = "llmops_logging._contract"
PLATFORM_MODULE = "llmops_logging._platform"
"""A leaf too: what the platform offers (file locks, which `tail -f` asks of the writer's)."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from . import sub` imports the submodule, not the package's __init__
            subs = [f"{source}.{alias.name}" for alias in node.names]
            targets = [sub for sub in subs if sub in known] or [source]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_the_package_has_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    # A package's __init__ may re-export its children; a child importing its own package's
    # __init__ would be a cycle, and so would any other loop.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if target.startswith(name + "."):
                continue  # a package importing its own submodule is how packages work
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_contract_module_imports_nothing_from_the_package() -> None:
    modules = _modules()
    assert _imports(CONTRACT_MODULE, modules[CONTRACT_MODULE], set(modules)) == set()
    assert _imports(PLATFORM_MODULE, modules[PLATFORM_MODULE], set(modules)) == set()


def test_fcntl_is_imported_in_one_place() -> None:
    importers = sorted(
        name
        for name, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Import) and any(a.name == "fcntl" for a in node.names)
    )
    assert importers == [PLATFORM_MODULE]


def test_core_field_names_are_spelled_only_in_the_contract_module() -> None:
    core = set(_contract.CORE_FIELDS)
    offenders = []
    for name, path in _modules().items():
        if name == CONTRACT_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in core:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value!r}")
    assert not offenders, "core field names outside _contract.py:\n" + "\n".join(offenders)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


READING_MODEL = "llmops_logging.readmodel"
READER_PARTS = {"llmops_logging._logset", "llmops_logging._lines"}
"""The reader's private modules: which files make a log, and line framing."""


def test_imports_point_one_way_cli_to_reading_model_to_reader_to_contract() -> None:
    graph = _graph()
    reading_side = {"llmops_logging.reader", CONTRACT_MODULE, *READER_PARTS, PLATFORM_MODULE}
    model = {name for name in graph if name.startswith(READING_MODEL)}
    assert model, "the reading model is missing"
    for name, targets in graph.items():
        if name.startswith("llmops_logging.cli"):
            outside = {t for t in targets if not t.startswith("llmops_logging.cli")}
            assert outside <= reading_side | model, (name, outside - reading_side - model)
        elif name in model:
            assert targets <= reading_side | model, (name, targets - reading_side - model)
    assert graph["llmops_logging.reader"] <= {CONTRACT_MODULE, *READER_PARTS}
    assert graph["llmops_logging._logset"] <= {CONTRACT_MODULE, "llmops_logging._lines"}
    assert graph["llmops_logging._lines"] <= {CONTRACT_MODULE}


def test_the_reader_exports_its_three_public_names() -> None:
    from llmops_logging import reader

    assert reader.__all__ == ["EventStream", "ReadReport", "read_events"]


def _contract_names() -> dict[str, str]:
    """Each text a contract constant spells (a kind, a field, a path's part), with its name."""
    names: dict[str, str] = {}
    for name, value in vars(_contract).items():
        if not name.isupper():
            continue
        for text in value if isinstance(value, (tuple, frozenset)) else (value,):
            if isinstance(text, str):
                names.setdefault(text, name)
    return names


SPELLED_ELSEWHERE = {
    "name": "a word of every table and JSON row (`name`, `--by name`), not only the field",
    "id": "a span's and a row's own key in the report and the OTLP output",
    "value": "the OTLP attribute's `value` and a score row's key",
    "input": "the parser's and the report's ordinary word; the field is `RUN_INPUT`",
    "output": "the parser's `--output`; the field is `RUN_OUTPUT`",
    "error": "a status and a table heading (`ok`, `error`), beside the `ERROR` field",
    "label": "the report's row label",
    "conversation": "the `runs --by conversation` option value and its column heading",
    "ok": "a status word, beside the `OK` sample field",
    "pass": "a score's label in the scores table, as `ll.score` writes it",
    "score": "the scores table's heading; the kind is `SCORE`",
    "type": "an error's key read by the reading model as `ERROR_TYPE`; elsewhere a word",
    "message": "an error's key read by the reading model as `ERROR_MESSAGE`; elsewhere a word",
    "traceback": "the OTLP exception mapping spells the OpenTelemetry `exception.*` names",
    "function": "a tool's type, spelled by the OpenAI API too",
    "source": "a column heading",
    "item": "a column heading and an option value",
    "counts": "a word of the CLI's messages",
    "dropped": "the report and OTLP say how many events a span dropped",
    "messages": "a content path's part (input/output messages)",
    "log": "a word of the CLI's messages",
    "model": "a `gen_ai` path's part and a label (`model=` in `tail`)",
    "tool": "a `gen_ai` path's part and a row kind and label (`tool=`)",
    "agent": "a `gen_ai` path's part and a row kind of the report",
    "response": "a `gen_ai` path's part and the report's row field",
    "request": "a `gen_ai` path's part",
    "call": "a `gen_ai` path's part",
    "operation": "a `gen_ai` path's part",
}
"""Contract texts that are also ordinary words the CLI writes: allowed in any module."""

SPELLED_HERE = {
    ("llmops_logging/cli/tail.py", ".gz"): "the suffix of a followed file, not the log's name",
    ("llmops_logging/cli/report/charts.py", "stack"): "plotly's bar mode, not the field",
}
"""Allowed in one module, with the reason."""


def _docstrings(tree: ast.AST) -> set[int]:
    """The text constants that stand alone as statements: docstrings, of a module, a class,
    a function or an assignment."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for statement in body if isinstance(body, list) else ():
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                found.add(id(statement.value))
    return found


def test_kind_and_field_names_are_spelled_only_in_the_contract_module() -> None:
    """The commands and the reading model spell no kind or field name of the contract: they
    import it, so that a renamed field is one edit and a typo is an import error."""
    names = _contract_names()
    offenders = []
    for module, path in _modules().items():
        if not (module.startswith("llmops_logging.cli") or module.startswith(READING_MODEL)):
            continue
        tree = ast.parse(path.read_text(), str(path))
        docs = _docstrings(tree)
        where = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            text = node.value
            if text not in names or id(node) in docs or text in SPELLED_ELSEWHERE:
                continue
            if (where, text) in SPELLED_HERE:
                continue
            offenders.append(f"{where}:{node.lineno} {text!r} (_contract.{names[text]})")
    assert not offenders, "kind and field names outside _contract.py:\n" + "\n".join(offenders)


def test_the_handler_knows_nothing_of_structlog() -> None:
    for module in ("handlers", "_logfiles", "_rotation_lock"):
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and not node.level
        }
        assert "structlog" not in imported, module


OUTPUT_MODULE = "llmops_logging.cli._output"
PAST_THE_FILTER = {"__stdout__", "__stderr__", "buffer", "unguarded"}


def test_only_the_output_module_writes_past_the_terminal_filter() -> None:
    """Log text reaches a terminal through `cli._output` only: outside it no CLI module imports
    rich (which writes escape sequences), reaches a stream behind the filter that `main` puts
    on stdout and stderr, or writes to a file descriptor; and `main` runs commands behind it."""
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("llmops_logging.cli") or name == OUTPUT_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
            imported = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            )  # fmt: skip
            if any(module.split(".")[0] == "rich" for module in imported):
                offenders.append(f"{where} imports rich")
            elif isinstance(node, ast.Attribute) and node.attr in PAST_THE_FILTER:
                offenders.append(f"{where} .{node.attr}")
            elif isinstance(node, ast.Name) and node.id in PAST_THE_FILTER:
                offenders.append(f"{where} {node.id}")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == "write"
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                offenders.append(f"{where} os.write")
    assert not offenders, "CLI output past the terminal filter:\n" + "\n".join(offenders)
    tree = ast.parse((PACKAGE / "cli" / "__init__.py").read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    guards = [
        item.context_expr
        for node in ast.walk(main)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Name)
        and item.context_expr.func.id == "guarded"
    ]
    assert guards, "main runs the commands outside `guarded()`"
