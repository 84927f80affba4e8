"""Streaming CSV parsing and report saving."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adops_async import AdOpsError, VirtualClock
from adops_async.core.errors import DecodeError
from adops_async.core.reports import ReportJob, csv_rows, poll

pytestmark = pytest.mark.anyio


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 3, 7, 4096])
async def test_csv_rows_across_any_chunking_including_quoted_newlines(size: int) -> None:
    text = 'day,name,imps\n2024-01-01,"a, ""quoted""\nname",10\n2024-01-02,plain,20\n2024-01-03,é,30'
    rows = [row async for row in csv_rows(pieces(("\ufeff" + text).encode(), size))]
    assert rows == list(csv.DictReader(text.splitlines(keepends=True)))
    assert rows[0]["name"] == 'a, "quoted"\nname'


class ListJob(ReportJob):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        for row in self._rows:
            yield row


async def test_save_csv_and_jsonl(tmp_path: Path) -> None:
    rows = [{"a": "1", "b": "x,y"}, {"a": "2", "b": "z"}]
    job = ListJob(rows)
    assert await job.save(tmp_path / "r.csv") == 2
    assert list(csv.DictReader((tmp_path / "r.csv").read_text().splitlines())) == rows
    assert await job.save(tmp_path / "r.jsonl", format="jsonl") == 2
    assert [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()] == rows


async def test_poll_backs_off_and_gives_up() -> None:
    calls: list[float] = []
    async with VirtualClock().running() as clock:

        async def never() -> None:
            calls.append(clock.now())

        with pytest.raises(AdOpsError, match="not ready after 60 s"):
            await poll(never, clock, first=1, factor=2, longest=8, give_up_after=60)
    assert calls[:5] == [0, 1, 3, 7, 15]


@pytest.mark.parametrize("size", [1, 2, 4096])
async def test_csv_rows_turn_invalid_utf8_into_a_decode_error_with_the_byte_offset(size: int) -> None:
    data = "day,name\n2024-01-01,é\n".encode() + b"2024-01-02,\xc3\x28\n"
    bad_at = data.index(b"\xc3\x28")
    with pytest.raises(DecodeError, match=f"byte 0xc3 at offset {bad_at}") as caught:
        [row async for row in csv_rows(pieces(data, size))]
    assert caught.value.code == "encoding"


async def test_csv_rows_refuse_a_body_ending_inside_quotes_and_a_line_the_reader_refuses() -> None:
    with pytest.raises(DecodeError, match="inside a quoted field"):
        [row async for row in csv_rows(pieces(b'a,b\n1,"unfinished\n2,3', 4))]
    with pytest.raises(DecodeError, match="malformed CSV"):  # longer than csv.field_size_limit()
        [row async for row in csv_rows(pieces(b"a\n" + b"x" * (csv.field_size_limit() + 1) + b"\n", 65536))]
