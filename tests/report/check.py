"""Checks a statement folder written by `verifier report` with independent readers.

  check.py xlsx DIR TABLE...   the workbook opens with openpyxl; sheet i equals TABLE_i.csv
  check.py package DIR         datapackage.json + budget.csv validate with frictionless

Exits 0 when everything holds; prints what differs otherwise.
"""
import csv
import sys
from decimal import Decimal
from pathlib import Path


def cell_text(value, csv_text):
    """The workbook's value as the CSV prints it: amounts with two decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        # Amounts are yuan with two decimals (a whole amount may read back as an int); the CSV
        # is exact and the number must round to it. Counts are whole numbers.
        if "." in csv_text:
            return f"{Decimal(repr(value)).quantize(Decimal('0.01'))}"
        return str(int(value))
    return str(value)


def check_xlsx(folder, tables):
    import openpyxl

    book = openpyxl.load_workbook(folder / "statement.xlsx", data_only=True)
    assert len(book.worksheets) == len(tables), (len(book.worksheets), tables)
    numeric_cells = 0
    for sheet, table in zip(book.worksheets, tables):
        with open(folder / f"{table}.csv", encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        got = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert len(got) == len(rows), f"{table}: {len(got)} rows in the sheet, {len(rows)} in the CSV"
        for i, (xrow, crow) in enumerate(zip(got, rows)):
            assert len(xrow) == len(crow), f"{table} row {i}: {xrow} vs {crow}"
            for x, c in zip(xrow, crow):
                if isinstance(x, (int, float)) and not isinstance(x, bool):
                    numeric_cells += 1
                if isinstance(x, str) and x[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    c = c.removeprefix("'")  # the CSV defuses formulas; the workbook holds text
                assert cell_text(x, c) == c, f"{table} row {i}: sheet {x!r} vs CSV {c!r}"
        # Amount columns are numbers with a yuan format, not text.
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, (int, float)) and cell.number_format != "General":
                    assert cell.number_format == "#,##0.00", (table, cell.coordinate, cell.number_format)
    assert numeric_cells > 0, "no numeric cells at all"
    print(f"xlsx ok: {len(tables)} sheets, {numeric_cells} numeric cells equal the CSV")


def check_package(folder):
    from frictionless import validate

    report = validate(str(folder / "datapackage.json"))
    if not report.valid:
        print(report.flatten(["rowNumber", "fieldNumber", "type", "note"]))
        sys.exit(1)
    print("datapackage ok:", report.stats)


if __name__ == "__main__":
    what, folder = sys.argv[1], Path(sys.argv[2])
    if what == "xlsx":
        check_xlsx(folder, sys.argv[3:])
    elif what == "package":
        check_package(folder)
    else:
        sys.exit(f"unknown check {what}")
