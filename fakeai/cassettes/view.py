"""How ``fakeai cassettes`` shows things to a person: tables (rich, or plain text past a few hundred
rows), sizes and dates, and a cassette with its stream events and the text they add up to."""

from __future__ import annotations

import base64
import json
import os
import sys
from datetime import datetime
from typing import Any

import click

__all__ = [
    "cell",
    "console",
    "fitted",
    "human_size",
    "iso",
    "print_cassette",
    "stream_summary",
    "table",
    "terminal_width",
    "when",
]


def console():  # noqa: ANN202 - rich.console.Console
    from rich.console import Console

    # Piped output (scripts, tests) would otherwise be cut at 80 columns.
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
    return Console(width=width, highlight=False, soft_wrap=False)


class _Table:
    """Rows for a rich table; past ``RICH_MAX`` rows (a big database) it prints the same columns as
    plain aligned text, because rich measures every cell and 20,000 rows would take a minute."""

    RICH_MAX = 300
    NO_WRAP = ("hash", "recorded_at", "last_used_at", "oldest", "newest")

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.rows: list[list[str]] = []
        self.sections: set[int] = set()

    def add_row(self, *cells: Any) -> None:
        self.rows.append(["" if cell is None else str(cell) for cell in cells])

    def add_section(self) -> None:
        self.sections.add(len(self.rows))

    def print(self, console: Any) -> None:
        if len(self.rows) > self.RICH_MAX:
            widths = [max([len(c)] + [len(row[i]) for row in self.rows]) for i, c in enumerate(self.columns)]
            out = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths)).rstrip()]
            out.append("  ".join("-" * w for w in widths))
            for index, row in enumerate(self.rows):
                if index in self.sections:
                    out.append(out[1])
                out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            click.echo("\n".join(out))
            return
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(*self.columns, box=box.SIMPLE_HEAD)
        for column in table.columns:
            column.no_wrap = column.header in self.NO_WRAP
        for index, row in enumerate(self.rows):
            if index in self.sections:
                table.add_section()
            table.add_row(*(Text(cell) for cell in row))  # data, never markup
        console.print(table)


def table(*columns: str) -> _Table:
    return _Table(*columns)


def terminal_width() -> int | None:
    """The width to fit, or None (no limit) when output goes to a pipe and COLUMNS is not set."""
    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        import shutil

        return shutil.get_terminal_size().columns
    return None


_GAP = "  "
_MIN_FLEX = 10


def _shorten(text: str, width: int, drop_org: bool) -> str:
    """``text`` in at most ``width`` characters; a model ``org/name`` drops its org first (the name says more)."""
    if len(text) <= width:
        return text
    if drop_org and "/" in text:
        text = text.rsplit("/", 1)[1]
        if len(text) <= width:
            return text
    return text[: max(width - 1, 0)] + "…"


def fitted(
    columns: list[str], rows: list[list[str]], width: int | None, flexible: tuple[str, ...], models: str = "model"
) -> str:
    """Plain aligned columns within ``width`` characters per line: fixed columns keep their values
    whole; the ``flexible`` ones (most important first) share what is left, at least ten characters
    each, and are shortened with an ellipsis. ``width=None`` shortens nothing. Plain text, so 20,000 rows print at once."""
    natural = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    widths = list(natural)
    flex = [columns.index(c) for c in flexible if c in columns]
    if width is not None and flex:
        fixed = sum(w for i, w in enumerate(natural) if i not in flex) + len(_GAP) * (len(columns) - 1)
        room = max(width - fixed, _MIN_FLEX * len(flex))
        if sum(natural[i] for i in flex) > room:
            # In the order given: each takes what it needs, leaving the ones after it a few characters.
            left = room
            for k, i in enumerate(flex):
                reserve = sum(min(natural[j], _MIN_FLEX) for j in flex[k + 1 :])
                widths[i] = max(min(natural[i], left - reserve), min(natural[i], _MIN_FLEX))
                left -= widths[i]
    lines = [_GAP.join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), _GAP.join("-" * w for w in widths)]
    for row in rows:
        cells = [
            _shorten(v, w, columns[i] == models) if i in flex else v for i, (v, w) in enumerate(zip(row, widths))
        ]
        lines.append(_GAP.join(v.ljust(w) for v, w in zip(cells, widths)).rstrip())
    return "\n".join(lines)


def cell(value: Any) -> str:
    return "" if value is None else str(value)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def human_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def print_cassette(document: dict[str, Any]) -> None:
    out = console()
    echo = click.echo
    echo(f"cassette {document['key']}")
    echo(f"  {document['method']} {document['path']}   model: {document['model'] or '-'}")
    echo("request:")
    echo(_indent(_pretty_value(document["request_encoding"], document["request"])))
    for doc in document["episodes"]:
        echo("")
        echo(
            f"episode {doc['episode']}: status {doc['status']}, recorded {doc['recorded_at']}"
            f" from {doc['upstream'] or '-'}, hits {doc['hits']}, last used {doc['last_used_at'] or '-'}"
        )
        echo("headers:")
        echo(_indent(json.dumps(doc["headers"], indent=2, ensure_ascii=False)))
        if "events" in doc:
            events = table("#", "offset_ms", "event", "adds", "data")
            for index, event in enumerate(doc["events"]):
                data = event.get("data", event.get("text", event.get("raw", "<binary>")))
                shown = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
                events.add_row(
                    str(index),
                    f"{event['t']:.1f}",
                    cell(event.get("event", "")),
                    cell(_adds(event)),
                    cell(shown if len(shown) <= 100 else shown[:97] + "..."),
                )
            events.print(out)
            summary = doc["summary"]
            for index, text in summary["text"].items():
                label = "text" if len(summary["text"]) == 1 else f"text[{index}]"
                echo(f"{label}: {text}")
            ttft = summary["ttft_ms"]
            echo(
                f"events: {summary['events']}   time to first token: "
                f"{'-' if ttft is None else f'{ttft:.1f} ms'}   total: {summary['total_ms']:.1f} ms"
            )
        if "body" in doc:
            echo(f"body ({doc['body_encoding']}):")
            echo(_indent(_pretty_value(doc["body_encoding"], doc["body"])))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines()) or "  (empty)"


def _pretty_value(encoding: str, value: Any) -> str:
    if encoding.startswith("json"):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if encoding == "base64":
        return f"<{len(base64.b64decode(value))} bytes of binary data>"
    return value if len(value) <= 20_000 else value[:20_000] + f"... ({len(value)} characters)"


def _adds(event: dict[str, Any]) -> str:
    pieces = _delta(event)
    if list(pieces) == [0]:
        return json.dumps(pieces[0], ensure_ascii=False)
    return " ".join(f"[{i}]{json.dumps(t, ensure_ascii=False)}" for i, t in sorted(pieces.items()))


def _delta(event: dict[str, Any]) -> dict[int, str]:
    """The text an SSE event adds, per choice: chat ``delta.content``, completions ``text``,
    Responses ``response.output_text.delta``, Anthropic's ``text_delta`` (all of a message's text
    blocks make one text)."""
    data = event.get("data")
    if not isinstance(data, dict):
        return {}
    if data.get("type") == "response.output_text.delta" and isinstance(data.get("delta"), str):
        return {int(data.get("output_index", 0) or 0): data["delta"]}
    if data.get("type") == "content_block_delta":
        delta = data.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
            return {0: delta["text"]}
        return {}
    out: dict[int, str] = {}
    choices = data.get("choices")
    if isinstance(choices, list):
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", position)
            index = index if isinstance(index, int) else position
            delta = choice.get("delta")
            piece = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            if isinstance(piece, str) and piece:
                out[index] = out.get(index, "") + piece
    return out


def stream_summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The text a stream adds up to (per choice), time to first token and total, in ms."""
    text: dict[int, str] = {}
    ttft = None
    for event in events:
        for index, piece in _delta(event).items():
            text[index] = text.get(index, "") + piece
            if ttft is None:
                ttft = event["t"]
    return {
        "events": len(events),
        "text": {str(k): v for k, v in sorted(text.items())} or {"0": ""},
        "ttft_ms": ttft,
        "total_ms": events[-1]["t"] if events else 0.0,
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
