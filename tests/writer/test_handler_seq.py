"""`seq` per file: standalone handlers, as dictConfig builds them, number their own files."""

from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path


def test_two_standalone_handlers_number_their_files_apart(tmp_path: Path) -> None:
    handlers = {
        name: {"class": "llmops_logging.RotatingJsonlHandler", "filename": str(tmp_path / name)}
        for name in ("a.jsonl", "b.jsonl")
    }
    loggers = {
        f"seq.{name}": {"handlers": [name], "level": "INFO", "propagate": False}
        for name in handlers
    }
    config = {"version": 1, "disable_existing_loggers": False, "handlers": handlers}
    logging.config.dictConfig({**config, "loggers": loggers})
    try:
        for i in range(3):
            for name in handlers:
                logging.getLogger(f"seq.{name}").info("line %d", i)
    finally:
        for name in handlers:
            logger = logging.getLogger(f"seq.{name}")
            for handler in logger.handlers[:]:
                logger.removeHandler(handler)
                handler.close()
    for name in handlers:
        lines = (tmp_path / name).read_text().splitlines()
        assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]
