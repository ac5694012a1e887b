"""infra.batching: concurrent calls go as one batch, and no caller is left waiting."""

from __future__ import annotations

import asyncio

import pytest

from infra.batching import Batcher


class Recorder:
    """A `run` that keeps the batches it was given and answers each item doubled, after
    waiting for `gate` (so that a test decides when a batch is done)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: Exception | None = None

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await self.gate.wait()
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        return [2 * item for item in items]


async def test_calls_of_one_turn_go_together_and_calls_during_a_batch_go_in_the_next():
    run = Recorder()
    batcher = Batcher(run)
    run.gate.clear()

    first = [asyncio.ensure_future(batcher(i)) for i in range(3)]
    await asyncio.sleep(0)  # the batch is sent; it waits at the gate
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher(i)) for i in range(10, 15)]
    await asyncio.sleep(0)
    run.gate.set()

    assert await asyncio.gather(*first, *later) == [0, 2, 4, 20, 22, 24, 26, 28]
    assert run.batches == [[0, 1, 2], [10, 11, 12, 13, 14]]


async def test_a_batch_is_no_larger_than_its_limit():
    run = Recorder()
    batcher = Batcher(run, max_size=4)

    assert await asyncio.gather(*[batcher(i) for i in range(10)]) == [2 * i for i in range(10)]
    assert [len(batch) for batch in run.batches] == [4, 4, 2]


async def test_a_failing_batch_fails_its_callers_only():
    run = Recorder()
    batcher = Batcher(run)
    run.gate.clear()
    run.fail_with = RuntimeError("database away")

    failing = [asyncio.ensure_future(batcher(i)) for i in range(2)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    next_ones = [asyncio.ensure_future(batcher(i)) for i in range(5, 7)]
    run.gate.set()

    for call in failing:
        with pytest.raises(RuntimeError, match="database away"):
            await call
    assert await asyncio.gather(*next_ones) == [10, 12]
    assert await batcher(8) == 16  # and the batcher goes on


async def test_a_caller_that_gives_up_leaves_the_batch_to_the_others():
    run = Recorder()
    batcher = Batcher(run)
    run.gate.clear()

    leaving, staying = asyncio.ensure_future(batcher(1)), asyncio.ensure_future(batcher(2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    leaving.cancel()
    run.gate.set()

    assert await staying == 4
    assert leaving.cancelled()
    assert run.batches == [[1, 2]]  # its call was made all the same, as a sent statement is


async def test_an_exception_as_a_result_is_raised_to_its_caller_alone():
    async def run(items: list[int]) -> list[int | Exception]:
        return [ValueError(item) if item < 0 else item for item in items]

    batcher = Batcher(run)
    results = await asyncio.gather(batcher(1), batcher(-2), batcher(3), return_exceptions=True)

    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)


async def test_a_call_that_must_not_share_runs_alone_at_once():
    run = Recorder()
    inside = [False]
    batcher = Batcher(run, alone=lambda: inside[0])

    shared = [asyncio.ensure_future(batcher(i)) for i in range(2)]
    await asyncio.sleep(0)  # both wait for their batch, not sent yet
    inside[0] = True
    assert await batcher(7) == 14
    inside[0] = False

    assert await asyncio.gather(*shared) == [0, 2]
    assert run.batches == [[7], [0, 1]]  # it neither joined the waiting batch nor waited for it


async def test_an_exception_of_a_call_run_alone_is_raised_to_it():
    async def run(items: list[int]) -> list[int | Exception]:
        return [ValueError(item) for item in items]

    with pytest.raises(ValueError):
        await Batcher(run, alone=lambda: True)(1)
