"""The plain settings values a check reads without pydantic (``FreshnessValues``,
``SandboxValues``, ``Vault.check_severities``, ``Vault.default_type``) equal what the
pydantic schema gives for the same veriwiki.toml, defaults included."""

from __future__ import annotations

from pathlib import Path

import pytest

from veriwiki.vault import open_vault

TOMLS = [
    '[vault]\nname = "plain"\n',
    '[vault]\nname = "set"\ndefault_type = "concept"\n\n'
    '[checks]\norphan-page = "off"\nbroken-link = "warning"\n\n'
    '[sandbox]\ntimeout_seconds = 3.5\nmemory_mb = 256\n\n'
    '[freshness]\nreview_every = "90d"\n'
    'by_type = { model = "30d" }\nby_folder = { "wiki/models" = "2w" }\n',
]


@pytest.mark.parametrize("toml", TOMLS)
def test_plain_values_equal_the_schema(tmp_path: Path, toml: str) -> None:
    (tmp_path / "veriwiki.toml").write_text(toml, encoding="utf-8")
    (tmp_path / "wiki").mkdir()
    light = open_vault(tmp_path)
    got = (light.freshness, light.sandbox_settings, light.check_severities,
           light.default_type)
    assert light._config is None  # noqa: SLF001 - none of these built the schema
    full = open_vault(tmp_path)
    config = full.config
    assert (got[0].review_every, got[0].by_type, got[0].by_folder) == (
        config.freshness.review_every, config.freshness.by_type, config.freshness.by_folder)
    fields = ("timeout_seconds", "cpu_seconds", "memory_mb", "max_output_bytes",
              "max_processes")
    assert [getattr(got[1], f) for f in fields] == [getattr(config.sandbox, f) for f in fields]
    assert got[2] == dict(config.checks)
    assert got[3] == config.vault.default_type
    # once the schema is built, the same properties answer from it
    assert full.check_severities == got[2] and full.default_type == got[3]
