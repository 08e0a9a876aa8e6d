"""The error types veriwiki raises; each says what went wrong and what to do next."""

from __future__ import annotations


class VeriwikiError(Exception):
    """Root of every expected veriwiki failure.

    ``path`` and ``line`` locate the problem when it has a place; ``hint`` says what
    the user can do about it. Adapters map these to exit codes or HTTP statuses.
    """

    exit_code = 2

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class VaultNotFoundError(VeriwikiError):
    """No vault at or above the given directory."""


class ConfigError(VeriwikiError):
    """veriwiki.toml is malformed or holds invalid settings."""


class InputError(VeriwikiError):
    """A command argument or a file is not acceptable (bad name, unreadable file, ...)."""


class PageNotFoundError(InputError):
    """A page argument names no page."""


class AmbiguousPageError(InputError):
    """A page argument names several pages."""


class ConflictError(VeriwikiError):
    """The operation would overwrite or lose something (existing page, uncommitted edit)."""


class LockTimeoutError(VeriwikiError):
    """Another veriwiki process holds the vault's write lock."""


class GitError(VeriwikiError):
    """A git command failed unexpectedly."""


class UnsafePathError(InputError):
    """A write would go through a symbolic link, into ``.git`` or outside the vault."""
