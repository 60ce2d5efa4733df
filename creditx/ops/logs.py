"""Structured logs: JSON lines (default) or logfmt, with levels, to stderr or a file.

Every line carries ``ts`` (UTC, RFC 3339), ``level``, ``logger`` and ``msg``; an event adds its
own fields with ``log.info("batch", extra=fields(node=..., records=...))``. The scheduler's own
INFO lines ("Running job …", one per job run, >99 % of a node's log) are held at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMATS = ("json", "logfmt", "text")
LEVELS = ("debug", "info", "warning", "error")
NOISY = ("apscheduler",)
_FIELDS = "creditx_fields"


def fields(**kv: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the event's own fields."""
    return {_FIELDS: kv}


def _base(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    out.update(getattr(record, _FIELDS, {}))
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_base(record), ensure_ascii=False, default=str)


def _logfmt_value(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    if s == "" or any(c in s for c in ' ="\n\t'):
        return json.dumps(s, ensure_ascii=False)
    return s


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _base(record).items())


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = _base(record)
        extra = " ".join(f"{k}={_logfmt_value(v)}" for k, v in getattr(record, _FIELDS, {}).items())
        line = f"{base['ts']} {base['level'].upper():7} {base['logger']}: {base['msg']}"
        line += f" {extra}" if extra else ""
        return line + (f"\n{base['exc']}" if "exc" in base else "")


def check_settings(level: str, fmt: str) -> None:
    from creditx.standard.errors import InputError

    if level.lower() not in LEVELS:
        raise InputError(f"log level {level!r} is not one of {', '.join(LEVELS)}", hint="e.g. --log-level info")
    if fmt not in FORMATS:
        raise InputError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}", hint="e.g. --log-format json")


def configure(level: str = "info", fmt: str = "json", file: str | Path | None = None) -> logging.Handler:
    """Send the root logger's records at ``level`` and above to stderr (or ``file``, appended)."""
    check_settings(level, fmt)
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8") if file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter({"json": JsonFormatter, "logfmt": LogfmtFormatter, "text": TextFormatter}[fmt]())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler


def add_log_flags(parser: Any) -> None:
    """``--log-level/--log-format/--log-file``; unset flags fall back to the config file."""
    parser.add_argument("--log-level", choices=LEVELS, default=None, help="default: log_level in the config (info)")
    parser.add_argument(
        "--log-format", choices=FORMATS, default=None, help="default: log_format in the config (json = JSON lines)"
    )
    parser.add_argument("--log-file", default=None, help="append logs here instead of stderr (default: log_file)")


def configure_from(args: Any, cfg: Any, base: Path) -> logging.Handler:
    """Logging from flags, else the config's ``log_level``/``log_format``/``log_file`` (relative
    to the role's directory)."""
    level = getattr(args, "log_level", None) or cfg.log_level
    fmt = getattr(args, "log_format", None) or cfg.log_format
    file = getattr(args, "log_file", None) or cfg.log_file
    if file and not Path(file).is_absolute():
        file = Path(base) / file
    return configure(level, fmt, file or None)
