"""Spreadsheets written with openpyxl (run in the worker's process pool: big ones take seconds)."""

from __future__ import annotations

import io
from typing import Any

SCHEDULE_HEADERS = [
    "活动名称",
    "主办单位",
    "活动时间",
    "活动地点",
    "活动形式",
    "预计参与人数",
    "联系人",
    "联系电话",
]


def write_workbook(sheets: list[tuple[str, list[list[Any]]]], headers: list[str]) -> bytes:
    """One sheet per (title, rows), each with the Chinese headers, as .xlsx bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    book.remove(book.active)
    for title, rows in sheets or [("活动", [])]:
        sheet = book.create_sheet(title=title[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for column, width in zip("ABCDEFGH", (36, 28, 30, 30, 10, 12, 10, 16), strict=False):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
