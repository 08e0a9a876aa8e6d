"""The typed configuration schema read from ``veriwiki.toml``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from veriwiki.core.model import Severity
from veriwiki.errors import ConfigError
from veriwiki.settings import CONFIG_FILE

__all__ = ["CONFIG_FILE", "Config", "load_config", "parse_config"]


class VaultSettings(BaseModel):
    """The ``[vault]`` table: where things live and safety limits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("veriwiki vault", description="A human name for the vault.")
    pages: str = Field("wiki", description="Folder (relative to the vault) holding the pages.")
    index_page: str = Field("wiki/index.md", description="The generated catalog page.")
    log_page: str = Field("wiki/log.md", description="The append-only operations log.")
    max_page_bytes: int = Field(5_000_000, gt=0, description="Pages larger than this are refused.")
    lock_timeout: float = Field(
        30.0, ge=0, description="Seconds a write waits for another veriwiki process.")
    default_type: str | None = Field(None, description="Type assumed for pages with no `type`.")
    exclude: list[str] = Field(
        default_factory=list,
        description="Glob patterns (vault-relative) of markdown files that are not pages.")

    @field_validator("pages", "index_page", "log_page")
    @classmethod
    def _inside(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError("must be a path inside the vault")
        return value.strip("/") or "."


class SourceSettings(BaseModel):
    """The ``[sources]`` table: limits for sources added with ``veriwiki add``, and where
    URLs are fetched from."""

    model_config = ConfigDict(extra="forbid")

    max_source_bytes: int = Field(
        50_000_000, gt=0, description="Files larger than this many bytes are refused by add.")
    fetch_timeout_seconds: float = Field(
        60.0, gt=0, description="add URL and source refresh give up when the server sends "
                                "nothing for this many seconds.")
    arxiv_pdf_url: str = Field(
        "https://arxiv.org/pdf/{id}", pattern=r"^https?://.*\{id\}",
        description="Where 'add arxiv:ID' fetches a paper's PDF; {id} is replaced by the id.")


class SandboxSettings(BaseModel):
    """The ``[sandbox]`` table: limits for ``python check`` blocks."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(10.0, gt=0, description="Wall-clock limit per block.")
    cpu_seconds: int = Field(10, gt=0, description="CPU-time limit per block.")
    memory_mb: int = Field(512, gt=0, description="Address-space limit per block (MiB).")
    max_output_bytes: int = Field(65_536, gt=0, description="Captured output is cut here.")
    max_processes: int = Field(32, gt=0, description="Processes a block may have at once.")


class FreshnessSettings(BaseModel):
    """The ``[freshness]`` table: review intervals when a page sets none."""

    model_config = ConfigDict(extra="forbid")

    review_every: str | None = Field(
        None, pattern=r"^[0-9]+[dwmy]$", description="Default interval for every page.")
    by_type: dict[str, str] = Field(
        default_factory=dict, description="Interval per page type, e.g. model = \"90d\".")
    by_folder: dict[str, str] = Field(
        default_factory=dict, description="Interval per folder (vault-relative), e.g. "
                                          "\"wiki/models\" = \"30d\"; the longest match wins.")


class LlmSettings(BaseModel):
    """The ``[llm]`` table: which model plays each role, and how ingest treats replies."""

    model_config = ConfigDict(extra="forbid")

    writer: str = Field("SmolLM2", description="Model (an `llm` model id or alias) that writes "
                                               "claims and answers. SmolLM2 is the embedded one.")
    judge: str | None = Field(None, description="Model for `check --llm`; defaults to writer.")
    embedder: str | None = Field(
        None, description="`llm` embedding model for `ask`; none means keyword search only.")
    retries: int = Field(2, ge=0, le=10, description="Re-asks after an invalid structured reply.")
    keep_unverified: bool = Field(
        False, description="Keep claims whose quote does not verify, marked unverified "
                           "(never cited), instead of dropping them.")
    passage_chars: int = Field(900, ge=200, le=20000,
                               description="Source text is sent to the writer in passages "
                                           "of about this many characters.")
    max_claims_per_passage: int = Field(6, ge=1, le=50)
    extraction: str = Field(
        "auto", pattern="^(auto|passage|sentence)$",
        description="How ingest asks the writer: 'passage' (claims from a passage at a time), "
                    "'sentence' (one small question per sentence, for small local models) or "
                    "'auto' (sentence for local models, passage otherwise).")
    ingest_mode: str = Field(
        "auto", pattern="^(auto|extractive|write)$",
        description="'extractive' (informative source sentences quoted verbatim as claims; "
                    "the model only answers narrow checked questions), 'write' (the model "
                    "writes claims; `extraction` says how) or 'auto' (extractive for local "
                    "models such as the embedded one, write otherwise).")
    extractive_questions: list[str] = Field(
        default_factory=list,
        description="Narrow questions extractive ingest may ask the model: 'factual' "
                    "(is a borderline sentence a checkable fact?) and 'subject' (which page "
                    "is a sentence about?). Off by default: on the quality bench neither "
                    "helped the embedded model (docs/benchmarks.md).")
    context_tokens: int = Field(4096, ge=512, description="Context window for local GGUF "
                                                          "models run through llama.cpp.")
    threads: int | None = Field(
        None, ge=1, le=256,
        description="CPU threads for local GGUF models (llama.cpp); unset means half the "
                    "CPUs. VERIWIKI_LLM_THREADS overrides it.")
    timeout_seconds: float = Field(
        300.0, gt=0, le=86400,
        description="Seconds one call to a local model may take before it is stopped.")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="US dollars per million (input, output) tokens per "
                                          "model id, for cost reports.")


class McpSettings(BaseModel):
    """The ``[mcp]`` table: what agents connected through ``veriwiki mcp`` may do."""

    allow_approve: bool = Field(
        False, description="Offer the `approve` tool, so an agent may merge proposals into "
                           "main; by default only a person approves (`veriwiki review approve`).")


class Config(BaseModel):
    """All of veriwiki.toml. Unknown tables are kept for later features and plugins."""

    model_config = ConfigDict(extra="allow")

    vault: VaultSettings = Field(default_factory=VaultSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    checks: dict[str, Severity] = Field(
        default_factory=dict, description="Severity per rule id: error, warning, info or off.")


def load_config(root: Path) -> Config:
    """Read and validate ``root/veriwiki.toml``; report every problem in one error."""
    return parse_config((root / CONFIG_FILE).read_bytes())


def parse_config(data_bytes: bytes) -> Config:
    """Validate the bytes of a ``veriwiki.toml``; report every problem in one error."""
    try:
        raw = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("the file is not UTF-8 text", path=CONFIG_FILE,
                          hint="re-save it as UTF-8") from exc
    try:
        data: dict[str, Any] = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:  # Python 3.11 keeps the position only in the message
            m = re.search(r"at line (\d+)", str(exc))
            line = int(m.group(1)) if m else None
        raise ConfigError(f"not valid TOML: {exc}", path=CONFIG_FILE,
                          line=line, hint="fix the syntax at the position shown") from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"{where}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems),
                          path=CONFIG_FILE, hint="see docs/configuration.md for each option") from exc


DEFAULT_TOML = """\
# veriwiki settings. See docs/configuration.md.
[vault]
name = "{name}"
pages = "{pages}"
index_page = "{index_page}"
log_page = "{log_page}"
exclude = {exclude}

[checks]
# Set a rule's severity: "error", "warning", "info" or "off".
# orphan-page = "off"
"""
