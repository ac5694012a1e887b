"""Progress of long command-line work (seeding, loading regions, bulk certificates, a report):
a bar with the time left on a terminal, and nothing at all when the output is not one (a pipe,
a log file, a container's log)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress(description: str, total: int, unit: str = "项") -> Iterator[tqdm]:
    """A bar on standard error, which `tqdm` leaves out when that is not a terminal."""
    bar = tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        disable=None,  # None: only on a terminal
        dynamic_ncols=True,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit}"
        " [用时 {elapsed}，剩余约 {remaining}]",
    )
    try:
        yield bar
    finally:
        bar.close()


def advance_to(bar: tqdm, done: int, total: int) -> None:
    """Move a bar to `done` of `total` (for work that tells how far it is, not what it did)."""
    if bar.total != total:
        bar.total = total
    if done > bar.n:
        bar.update(done - bar.n)
