"""Spreadsheets written with openpyxl (run in the worker's process pool: big ones take seconds).

A sheet is made to be printed and signed as well as filtered: a title row and a line saying what
it holds and when it was made, one header row (frozen, filtered, repeated on each printed page),
dates as real dates, landscape pages one page wide."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    date: bool = False  # a naive datetime (China time) shown as one


SCHEDULE_COLUMNS = [
    Column("活动名称", 36),
    Column("主办单位", 28),
    Column("填报单位", 24),
    Column("所在地区", 20),
    Column("开始时间", 17, date=True),
    Column("结束时间", 17, date=True),
    Column("活动地点", 30),
    Column("活动形式", 9),
    Column("预计参与人数", 12),
    Column("联系人", 10),
    Column("联系电话", 15),
]
HEADER_ROW = 3  # the title, the line under it, then the headers


BOOKING_COLUMNS = [
    Column("序号", 6),
    Column("姓名", 14),
    Column("手机号", 15),
    Column("状态", 10),
    Column("预约时间", 17, date=True),
    Column("签到时间", 17, date=True),
]


def write_workbook(
    sheets: list[tuple[str, list[list[Any]]]], columns: list[Column], title: str, note: str
) -> bytes:
    """One sheet per (name, rows) under `title` and `note` (its row count is added), as .xlsx."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    last = get_column_letter(len(columns))
    for name, rows in sheets or [("活动", [])]:
        sheet = book.create_sheet(title=name[:31])
        sheet.append([f"{title}（{name}）"])
        sheet.append([f"{note}，共{len(rows)}项"])
        sheet.append([column.header for column in columns])
        sheet.merge_cells(f"A1:{last}1")
        sheet.merge_cells(f"A2:{last}2")
        sheet["A1"].font = Font(bold=True, size=14)
        sheet["A1"].alignment = Alignment(horizontal="center")
        sheet.row_dimensions[1].height = 24
        for cell in sheet[HEADER_ROW]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            if column.date:
                for (cell,) in sheet.iter_rows(
                    min_row=HEADER_ROW + 1, min_col=index, max_col=index
                ):
                    if isinstance(cell.value, datetime):
                        cell.number_format = "yyyy-mm-dd hh:mm"
        end = HEADER_ROW + max(len(rows), 1)
        sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{end}"
        sheet.freeze_panes = f"A{HEADER_ROW + 1}"
        sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
