"""The ``-c`` options veriwiki passes on every git call: safety, then durability.

**Safety.** A vault may come from anyone: a clone, a pull request checked out by CI, a
tarball that includes ``.git``. Its ``.git/config``, its hooks and its committed
``.gitattributes`` can all name programs for git to run: hooks (``post-checkout`` on
``worktree add``, ``reference-transaction`` on every ``update-ref``,
``post-index-change`` on every index write), ``core.fsmonitor`` (run on index reads),
filter drivers (``filter.<name>.clean``/``smudge``/``process``, chosen per file by
``.gitattributes``, run on checkout and whenever git compares a working file),
``core.sshCommand`` and transports (``ext::`` URLs), signing programs. veriwiki's git
calls must run none of them:

- :data:`SAFETY` turns off hooks, fsmonitor, pagers, submodule recursion, signing and
  every transport (veriwiki never fetches; a partial clone's lazy fetch is refused);
- :func:`driver_overrides` blanks every filter driver the configuration in force
  defines (``.gitattributes`` can only select drivers that configuration defines, so
  blanking all of them is complete) and refuses every per-protocol ``allow``;
- content diffs are asked for with ``--no-ext-diff --no-textconv`` (``diff.external``
  and diff drivers cannot be blanked by ``-c``: git would try to run an empty command).

**Durability.** :data:`DURABILITY` makes git fsync new loose objects, refs and its index
before renaming them into place (git 2.36+; by default git fsyncs none of these).
"""

from __future__ import annotations

_PROTOCOLS = ("file", "git", "ssh", "http", "https", "ext")

Setting = tuple[str, str]

SAFETY: tuple[Setting, ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.pager", "cat"),
    ("core.sshCommand", "false"),
    ("credential.helper", ""),
    ("submodule.recurse", "false"),
    ("commit.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("protocol.allow", "never"),
    *((f"protocol.{name}.allow", "never") for name in _PROTOCOLS),
)

DURABILITY: tuple[Setting, ...] = (
    ("core.fsync", "objects,reference,index"),
    ("core.fsyncMethod", "fsync"),
)

_FILTER_KEYS = ("clean", "smudge", "process")


def with_settings(env: dict[str, str], settings: list[Setting]) -> dict[str, str]:
    """``env`` plus ``settings`` as command-line-level git configuration.

    Uses ``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n`` (git 2.31+), which keep key and value
    apart (a ``-c`` argument could not carry a driver name holding ``=``), appended to
    any the caller set; child git processes inherit them.
    """
    out = dict(env)
    try:
        start = int(out.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        start = 0
    for i, (key, value) in enumerate(settings, start):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    out["GIT_CONFIG_COUNT"] = str(start + len(settings))
    return out


def parse_config_list(listing: bytes) -> dict[str, list[str]]:
    """Key → values from ``git config -z --list`` output (keys as git prints them)."""
    out: dict[str, list[str]] = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        key, _, value = record.decode("utf-8", "surrogateescape").partition("\n")
        out.setdefault(key, []).append(value)
    return out


def driver_overrides(config: dict[str, list[str]]) -> list[Setting]:
    """Settings that blank every configured filter driver and refuse every protocol."""
    filters: set[str] = set()
    protocols: set[str] = set()
    for key in config:
        section, _, rest = key.partition(".")
        name, _, variable = rest.rpartition(".")
        if not name:
            continue
        if section.lower() == "filter":
            filters.add(name)
        elif section.lower() == "protocol" and variable.lower() == "allow":
            protocols.add(name)
    out: list[Setting] = []
    for name in sorted(filters):
        out += [(f"filter.{name}.{k}", "") for k in _FILTER_KEYS]
        out.append((f"filter.{name}.required", "false"))
    out += [(f"protocol.{name}.allow", "never") for name in sorted(protocols)
            if name not in _PROTOCOLS]
    return out
