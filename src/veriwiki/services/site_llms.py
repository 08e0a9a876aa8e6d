"""``llms-full.txt`` patched from the last build instead of read from every page.

The file is every listed page's markdown one after another (:func:`site_pages.
llms_full_segment`), and a page's part is made from its path, its title and its text
only. So the build keeps, in ``.veriwiki/site-llms-full.json``, where each page's part
lies in the file it wrote (byte offsets), with the page's blob id and title, and the
file's size, change times and inode. The next build copies the part of every page
whose blob and title are unchanged from the old file (read through ``mmap``, never
whole in memory; consecutive parts in one piece) and makes only the others from their
text. The old file is used only when its size, times and inode are those recorded;
otherwise (a file edited or replaced, another output folder, a damaged record) every
part is made again. The bytes are the same either way.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from veriwiki.services import site_pages as docs
from veriwiki.services.site_model import SiteModel
from veriwiki.services.site_output import Output

LLMS_FULL = "llms-full.txt"
LLMS_CACHE = "site-llms-full.json"
FORMAT = 2


def _read_record(cache_file: Path, code: str) -> dict[str, Any] | None:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8", errors="surrogatepass"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("v") == FORMAT and data.get("code") == code
            and isinstance(data.get("size"), int) and isinstance(data.get("file"), list)
            and isinstance(data.get("parts"), list)):
        return None
    return data


def _identity(st: os.stat_result) -> list[int]:
    """What tells the file the last build wrote from one written since (size, change
    time and inode, as ``git`` and ``make`` tell)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _old_parts(record: dict[str, Any], view: Any) -> dict[str, tuple[str, str, int, int]]:
    """path -> (blob, title, start, end) of the record's parts that lie inside ``view``."""
    out: dict[str, tuple[str, str, int, int]] = {}
    size = len(view)
    for item in record["parts"]:
        if not (isinstance(item, list) and len(item) == 5):
            return {}
        path, blob, title, start, end = item
        if not (isinstance(path, str) and isinstance(blob, str) and isinstance(title, str)
                and type(start) is int and type(end) is int and 0 <= start <= end <= size):
            return {}
        out[path] = (blob, title, start, end)
    return out


def write_llms_full(vault_cache: Path, model: SiteModel, output: Output, paths: list[str],
                    code: str) -> None:
    """Write ``llms-full.txt`` for ``paths``, reusing the last build's parts that still
    hold (see the module docstring), and record where each part lies."""
    cache_file = vault_cache / LLMS_CACHE
    target = output.out / LLMS_FULL
    record = _read_record(cache_file, code)
    head = docs.llms_full_head(model).encode("utf-8", "surrogatepass")
    with contextlib.ExitStack() as stack:
        view: Any = b""
        old: dict[str, tuple[str, str, int, int]] = {}
        if record is not None and os.name != "nt":  # Windows cannot replace a mapped file
            try:
                fh = stack.enter_context(target.open("rb"))
                st = os.fstat(fh.fileno())
                if _identity(st) == record["file"] and st.st_size > 0:
                    view = stack.enter_context(
                        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
                    old = _old_parts(record, view)
            except (OSError, ValueError):
                old = {}
        parts: list[list[Any]] = []
        run = [0, 0]  # a stretch of the old file copied at once: consecutive reused parts
        size = len(head)

        def chunks() -> Iterator[bytes]:
            nonlocal size
            yield head
            for path in paths:
                blob, title = model.blobs.get(path, ""), model.title_of(path)
                got = old.get(path)
                if got is not None and got[0] == blob and got[1] == title:
                    if got[2] != run[1] or run[1] - run[0] >= 1 << 22:
                        if run[1] > run[0]:
                            yield view[run[0]:run[1]]
                        run[:] = [got[2], got[2]]
                    run[1] = got[3]
                    length = got[3] - got[2]
                else:
                    if run[1] > run[0]:
                        yield view[run[0]:run[1]]
                    run[:] = [0, 0]
                    data = docs.llms_full_segment(model, path).encode("utf-8",
                                                                      "surrogatepass")
                    length = len(data)
                    yield data
                parts.append([path, blob, title, size, size + length])
                size += length
            if run[1] > run[0]:
                yield view[run[0]:run[1]]

        # the group's key changed, so with the last build's parts the bytes did too
        output.write_chunks(LLMS_FULL, chunks(), changed=bool(old))
    try:
        st = os.stat(target)
    except OSError:
        return
    data = {"v": FORMAT, "code": code, "size": size, "file": _identity(st), "parts": parts}
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")  # one per process
    with contextlib.suppress(OSError):  # a record that cannot be written only costs time
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                       encoding="utf-8", errors="surrogatepass")
        os.replace(tmp, cache_file)
