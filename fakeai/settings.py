"""The one place configuration is read.

Each option has one entry in ``OPTIONS``: its name, type, default and help. The CLI builds its
``serve`` flags from that table, and ``Settings.load`` resolves every value the same way:
an explicit value (a CLI flag) wins, then the ``FAKEAI_<NAME>`` environment variable, then the
default. A bad value raises ``SettingsError`` with a one-line message naming the option.
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "DEFAULT_API_KEYS",
    "DEFAULT_DB",
    "FAULT_TYPES",
    "Mode",
    "OPTIONS",
    "STATE_DIR",
    "OnMiss",
    "Option",
    "Settings",
    "SettingsError",
    "masked_text",
    "masked_url",
]

DEFAULT_API_KEYS = ("sk-fakeai-1234567890abcdef", "sk-test-abcdefghijklmnop")
# Local state lives in a directory of its own (which ignores itself in git), never beside the exported
# cassette files (cassettes/) that are meant to be committed.
STATE_DIR = ".fakeai"
DEFAULT_DB = f"{STATE_DIR}/fakeai.db"
FAULT_TYPES = (  # what --fault-types and x-fakeai-fault accept (fakeai.edge.faults implements them)
    "rate_limit",
    "server_error",
    "overloaded",
    "timeout",
    "disconnect",
    "stream_cut",
    "stream_error",
    "malformed",
)


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message is one line for a person."""


class Mode(str, enum.Enum):
    """How an endpoint answers."""

    SYNTHETIC = "synthetic"  # generate locally, no network
    RECORD = "record"  # forward to the upstream and store the exchange
    REPLAY = "replay"  # answer from stored cassettes only


class OnMiss(str, enum.Enum):
    """What replay does with a request that has no cassette."""

    ERROR = "error"
    SYNTHETIC = "synthetic"
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    kind: str  # str | int | float | bool | list | choice
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    metavar: str = ""  # what --help shows for the value (URL, DIR); else the kind
    switch: tuple[str, str] = ()  # a bool's on/off flags when not --name/--no-name

    @property
    def env(self) -> str:
        return "FAKEAI_" + self.name.upper()

    @property
    def flag(self) -> str:
        return self.switch[0] if self.switch else "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, str]:
        """A bool option's on and off flags."""
        return self.switch or (self.flag, "--no-" + self.flag[2:])


OPTIONS: tuple[Option, ...] = (
    Option("host", "str", "127.0.0.1", "Interface to bind.", metavar="HOST"),
    Option("port", "int", 8000, "TCP port to listen on."),
    Option("mode", "choice", "synthetic", "How endpoints answer.", tuple(m.value for m in Mode)),
    Option(
        "db",
        "str",
        DEFAULT_DB,
        "SQLite path or SQLAlchemy URL (postgresql+asyncpg://...) for cassettes, files and responses.",
        metavar="PATH|URL",
    ),
    Option("workers", "int", 1, "Number of uvicorn worker processes."),
    Option("db_pool_size", "int", 5, "PostgreSQL connections each worker process keeps open."),
    Option("db_max_overflow", "int", 10, "Extra PostgreSQL connections each worker may open under a burst."),
    Option("require_api_key", "bool", True, "Require 'Authorization: Bearer KEY' on /v1 endpoints."),
    Option("api_keys", "list", (), "Extra accepted API keys, comma-separated (added to the defaults)."),
    Option(
        "default_keys",
        "bool",
        None,
        "Accept the public default keys. Default: yes, except where a real key is spent "
        "(--upstream-api-key with record mode or --on-miss record).",
        switch=("--allow-default-keys", "--no-default-keys"),
    ),
    Option("strict_models", "bool", False, "Answer 404 model_not_found for models not in the catalogue."),
    Option("ttft_ms", "float", 0.0, "Simulated time to first token, in milliseconds."),
    Option("itl_ms", "float", 0.0, "Simulated inter-token latency, in milliseconds per token."),
    Option("latency_jitter", "float", 0.0, "Relative jitter of the simulated latencies (0.1 = +/-10%)."),
    Option("latency_seed", "int", None, "Seed of the latency jitter, so jittered timings repeat run to run."),
    Option("prefill_ms_per_token", "float", 0.0, "Extra time to first token per uncached prompt token (ms)."),
    Option("max_concurrency", "int", 0, "Running sequences per worker (vLLM's max-num-seqs); more wait in a "
           "FIFO queue. 0: unlimited."),
    Option("max_queue", "int", 0, "Waiting requests per worker past --max-concurrency; a full queue answers 429. "
           "0: unlimited."),
    Option("itl_per_seq_ms", "float", 0.0, "Extra decode step time per running sequence (ms): the batch's "
           "throughput knee."),
    Option("kv_capacity", "int", 1_000_000, "KV-cache tokens per worker, for vllm:kv_cache_usage_perc."),
    Option("max_body_bytes", "int", 32 * 1024 * 1024, "Largest accepted JSON request body; larger gets 413."),
    Option("max_file_bytes", "int", 128 * 1024 * 1024, "Largest accepted file upload; larger gets 413."),
    Option(
        "upstream",
        "str",
        None,
        "Upstream base URL to record from. One ending in /v1 (https://api.openai.com/v1) replaces the "
        "request's own /v1: /v1/chat/completions goes to https://api.openai.com/v1/chat/completions and "
        "/v2/rerank beside it; a bare http://host:port gets the whole request path.",
        metavar="URL",
    ),
    Option("upstream_api_key", "str", None, "API key sent upstream (default: pass the client's own header).",
           metavar="KEY"),
    Option(
        "anthropic_upstream",
        "str",
        None,
        "Upstream for Anthropic requests (/v1/messages, anything sent with anthropic-version), e.g. "
        "https://api.anthropic.com. Default: --upstream.",
        metavar="URL",
    ),
    Option(
        "anthropic_upstream_api_key",
        "str",
        None,
        "Key sent as x-api-key on Anthropic requests. Default: --upstream-api-key when Anthropic requests "
        "go to --upstream, else the client's own x-api-key.",
        metavar="KEY",
    ),
    Option(
        "upstream_timeout",
        "float",
        600.0,
        "Deadline (s) for the upstream's headers and whole answers (504 after it); for streams, "
        "the longest gap between events.",
    ),
    Option("match_header", "list", (), "Request headers that are part of the cassette key, comma-separated."),
    Option(
        "match_ignore",
        "list",
        (),
        "Body fields left out of the cassette key, comma-separated dotted paths: a number indexes an "
        "array, * (or a name met on an array) reaches every element: user, metadata.*, messages.0.content, "
        "messages.name.",
    ),
    Option("redact_header", "list", (), "Extra request headers never stored, comma-separated."),
    Option(
        "redact_field",
        "list",
        (),
        "Body fields replaced by \"[REDACTED]\" before hashing and storing, comma-separated dotted paths "
        "(as --match-ignore).",
    ),
    Option("record_errors", "bool", True, "Record upstream 4xx/5xx answers as cassettes."),
    Option("replay_speed", "float", 0.0, "Replay timing: 0 as fast as possible, 1 real time, 2 twice as fast."),
    Option(
        "on_miss",
        "choice",
        "error",
        "What replay does without a cassette: error (404 cassette_not_found), synthetic (answer locally) "
        "or record (forward to --upstream, which it then needs, and store the answer).",
        tuple(m.value for m in OnMiss),
    ),
    Option(
        "cassettes",
        "str",
        None,
        "Serve exactly this directory of exported cassette files (fakeai cassettes export): they are loaded "
        "at start into a temporary database that replaces --db for this run.",
        metavar="DIR",
    ),
    Option(
        "keep_cassettes",
        "bool",
        False,
        "With --cassettes: import the files into --db instead and keep them there; replay then serves "
        "everything --db holds. Needed to record (--mode record, --on-miss record) alongside --cassettes.",
    ),
    Option("log_level", "choice", "info", "Log level.", ("critical", "error", "warning", "info", "debug")),
    Option("rate_limit_rpm", "int", 0, "Requests per minute allowed per API key, for the whole server (all replicas on PostgreSQL; 0: no limit)."),
    Option("rate_limit_tpm", "int", 0, "Tokens per minute allowed per API key: prompt + requested completion (0: no limit)."),
    Option("quota_tokens", "int", 0, "Tokens the whole run may spend before 429 insufficient_quota (0: no quota)."),
    Option("fault_rate", "float", 0.0, "Share of requests (0-1) that meet an injected fault."),
    Option(
        "fault_types",
        "list",
        FAULT_TYPES,
        "Faults to draw from, with optional weights, e.g. rate_limit=2,server_error=1,stream_cut=1.",
    ),
    Option("fault_seed", "int", None, "Seed making the fault sequence reproducible (the n-th request meets the n-th draw)."),
    Option("fault_timeout_s", "float", 10.0, "Seconds a 'timeout' fault says nothing before closing the connection."),
    Option("fault_retry_after_ms", "int", 1000, "retry-after(-ms) of injected rate_limit and overloaded faults."),
    Option("fault_endpoints", "list", (), "Path prefixes random faults are limited to, e.g. /v1/chat (default: all /v1)."),
    Option(
        "run_dir",
        "str",
        None,
        "Directory for state the workers share (metrics, rate limits); emptied at start. "
        "Default: a new temporary directory, removed at exit.",
        metavar="DIR",
    ),
)

_BY_NAME = {o.name: o for o in OPTIONS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    mode: Mode = Mode.SYNTHETIC
    db: str = DEFAULT_DB
    workers: int = 1
    db_pool_size: int = 5
    db_max_overflow: int = 10
    require_api_key: bool = True
    api_keys: tuple[str, ...] = ()
    default_keys: bool | None = None  # None: on unless a real upstream key is spent
    strict_models: bool = False
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    latency_jitter: float = 0.0
    latency_seed: int | None = None
    prefill_ms_per_token: float = 0.0
    max_concurrency: int = 0
    max_queue: int = 0
    itl_per_seq_ms: float = 0.0
    kv_capacity: int = 1_000_000
    max_body_bytes: int = 32 * 1024 * 1024
    max_file_bytes: int = 128 * 1024 * 1024
    upstream: str | None = None
    upstream_api_key: str | None = None
    anthropic_upstream: str | None = None
    anthropic_upstream_api_key: str | None = None
    upstream_timeout: float = 600.0
    match_header: tuple[str, ...] = ()
    match_ignore: tuple[str, ...] = ()
    redact_header: tuple[str, ...] = ()
    redact_field: tuple[str, ...] = ()
    record_errors: bool = True
    replay_speed: float = 0.0
    on_miss: OnMiss = OnMiss.ERROR
    cassettes: str | None = None
    keep_cassettes: bool = False
    log_level: str = "info"
    rate_limit_rpm: int = 0
    rate_limit_tpm: int = 0
    quota_tokens: int = 0
    fault_rate: float = 0.0
    fault_types: tuple[str, ...] = FAULT_TYPES
    fault_seed: int | None = None
    fault_timeout_s: float = 10.0
    fault_retry_after_ms: int = 1000
    fault_endpoints: tuple[str, ...] = ()
    run_dir: str | None = None

    @property
    def synthesizes(self) -> bool:
        """Requests may get synthetic answers (record mode forwards every one; replay only misses)."""
        return self.mode is Mode.SYNTHETIC or (self.mode is Mode.REPLAY and self.on_miss is OnMiss.SYNTHETIC)

    @property
    def needs_upstream(self) -> bool:
        return self.mode is Mode.RECORD or (self.mode is Mode.REPLAY and self.on_miss is OnMiss.RECORD)

    @property
    def spends_real_key(self) -> bool:
        """Requests may reach the upstream with ``--upstream-api-key``: someone's real money."""
        return self.needs_upstream and bool(self.upstream_api_key or self.anthropic_key_upstream)

    @property
    def key_check_stands_aside(self) -> bool:
        """Recording with the clients' own keys for every provider: the upstreams judge them."""
        return self.mode is Mode.RECORD and not self.upstream_api_key and not self.anthropic_key_upstream

    @property
    def accepted_keys(self) -> frozenset[str]:
        # The defaults are printed in the README: anyone could use them. Where they would open a
        # real upstream key they are off unless asked for (--allow-default-keys).
        defaults = self.default_keys if self.default_keys is not None else not self.spends_real_key
        return (frozenset(DEFAULT_API_KEYS) if defaults else frozenset()) | frozenset(self.api_keys)

    def fault_weights(self) -> tuple[tuple[str, float], ...]:
        """``--fault-types`` as (type, weight) pairs: ``rate_limit=2`` or a bare ``stream_cut`` (weight 1)."""
        weights: dict[str, float] = {}
        for item in self.fault_types:
            name, _, weight = item.partition("=")
            name = name.strip().lower()
            if name not in FAULT_TYPES:
                raise SettingsError(f"--fault-types: unknown fault {name!r}, expected some of {', '.join(FAULT_TYPES)}")
            try:
                value = float(weight) if weight.strip() else 1.0
            except ValueError:
                value = -1.0
            if not value >= 0:
                raise SettingsError(f"--fault-types: the weight of {name} must be a number, 0 or more")
            weights[name] = value
        if not any(weights.values()):
            raise SettingsError("--fault-types: at least one fault needs a weight above 0")
        return tuple(weights.items())

    @property
    def anthropic_target(self) -> str | None:
        """Where a recorder forwards Anthropic requests: --anthropic-upstream, else --upstream."""
        return self.anthropic_upstream or self.upstream

    @property
    def anthropic_key_upstream(self) -> str | None:
        """The x-api-key sent with Anthropic requests (None: the client's own is forwarded)."""
        if self.anthropic_upstream_api_key:
            return self.anthropic_upstream_api_key
        return None if self.anthropic_upstream else self.upstream_api_key

    @property
    def db_url(self) -> str:
        """The SQLAlchemy async URL; a bare path means an SQLite file."""
        if "://" in self.db:
            return self.db
        return "sqlite+aiosqlite:///" + os.path.abspath(self.db)

    @classmethod
    def load(cls, explicit: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Resolve every option: explicit value, else FAKEAI_* variable, else default."""
        explicit = explicit or {}
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for option in OPTIONS:
            raw = explicit.get(option.name)
            source = option.flag
            if raw is None and option.env in env:
                raw, source = env[option.env], option.env
            if raw is None:
                continue
            values[option.name] = _parse(option, raw, source)
        settings = msgspec.convert(values, cls)
        settings.check()
        return settings

    def check(self) -> None:
        if not 0 < self.port < 65536:
            raise SettingsError(f"--port must be between 1 and 65535, got {self.port}")
        if self.workers < 1:
            raise SettingsError(f"--workers must be at least 1, got {self.workers}")
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise SettingsError("--db-pool-size must be at least 1 and --db-max-overflow not negative")
        for option in OPTIONS:
            value = getattr(self, option.name)
            if option.kind == "float" and value is not None and not math.isfinite(value):
                raise SettingsError(f"{option.flag} must be a finite number")
        for name in ("ttft_ms", "itl_ms", "latency_jitter", "replay_speed", "prefill_ms_per_token",
                     "max_concurrency", "max_queue", "itl_per_seq_ms"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{_BY_NAME[name].flag} must not be negative")
        if self.latency_jitter > 1:
            raise SettingsError("--latency-jitter is a fraction between 0 and 1")
        if self.kv_capacity < 1:
            raise SettingsError("--kv-capacity must be at least 1")
        if self.max_body_bytes < 1024 or self.max_file_bytes < 1:
            raise SettingsError("--max-body-bytes must be at least 1024 and --max-file-bytes positive")
        if self.upstream_timeout <= 0:
            raise SettingsError("--upstream-timeout must be positive")
        for name in ("rate_limit_rpm", "rate_limit_tpm", "quota_tokens", "fault_retry_after_ms"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{_BY_NAME[name].flag} must not be negative")
        if not 0 <= self.fault_rate <= 1:
            raise SettingsError(f"--fault-rate is a probability between 0 and 1, got {self.fault_rate}")
        if self.fault_timeout_s < 0:
            raise SettingsError("--fault-timeout-s must not be negative")
        self.fault_weights()  # raises for an unknown type or a bad weight
        needs_upstream = self.needs_upstream
        if needs_upstream and not (self.upstream or self.anthropic_upstream):
            raise SettingsError(
                "record mode (and --on-miss record) needs --upstream URL (or FAKEAI_UPSTREAM) "
                "or --anthropic-upstream URL"
            )
        if needs_upstream and self.cassettes and not self.keep_cassettes:
            raise SettingsError(
                "--cassettes serves the directory from a temporary database, so recordings would be lost: "
                "add --keep-cassettes to record into --db (then fakeai cassettes export)"
            )
        for name in ("upstream", "anthropic_upstream"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise SettingsError(f"{_BY_NAME[name].flag} must be an http(s) URL, got {masked_url(url)!r}")
        if self.require_api_key and not self.key_check_stands_aside and not self.accepted_keys:
            if self.spends_real_key and self.default_keys is None:
                raise SettingsError(
                    "--upstream-api-key is spent for clients, so the public default keys are off and no key "
                    "would be accepted: pass --api-keys KEY (or --allow-default-keys)"
                )
            raise SettingsError("--no-default-keys leaves no accepted API key: pass --api-keys KEY")


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for anything a person or a log may see.
    A bare path (an SQLite file) comes back unchanged."""
    # user[:password]@ after the scheme, up to the last "@": a stray "@" in a password masks more, never less
    return _CREDENTIALS.sub(lambda m: m["head"] + (":***" if m["password"] is not None else "") + "@", url, count=1)


def masked_text(text: str, url: str) -> str:
    """``text`` (say, a driver's error) with ``url``'s password masked wherever it appears."""
    match = _CREDENTIALS.match(url)
    password = match["password"] if match else None
    text = text.replace(url, masked_url(url))
    return text.replace(password, "***") if password else text


_CREDENTIALS = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://[^:/@]*)(?::(?P<password>.*))?@")


def _parse(option: Option, raw: Any, source: str) -> Any:
    kind = option.kind
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if kind == "int":
            return int(raw)
        if kind == "float":
            value = float(raw)
            if not math.isfinite(value):  # nan/inf slip through every comparison check
                raise ValueError
            return value
        if kind == "list":
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            return tuple(p.strip() for item in items for p in str(item).split(",") if p.strip())
        if kind == "choice":
            text = str(raw).strip().lower()
            if text not in option.choices:
                raise ValueError
            return text
        return str(raw)
    except ValueError:
        expected = {"bool": "true or false", "int": "a whole number", "float": "a finite number"}.get(kind)
        if kind == "choice":
            expected = "one of " + ", ".join(option.choices)
        raise SettingsError(f"{source}: invalid value {raw!r}, expected {expected}") from None
