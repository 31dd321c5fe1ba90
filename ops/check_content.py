"""`python -m ops.check_content` (make check-content): check every content file at once.

For content teams: the territory, booking, waste, recycling, sorting, welfare and tracking
files (territory/demo/*.yml, or the files named by GRU_TERRITORY_FILE, GRU_BOOKING_FILE,
GRU_BULKY_BOOKING_FILE, GRU_WASTE_FILE, GRU_RECYCLING_FILE, GRU_SORTING_FILE,
GRU_WELFARE_FILE, GRU_TRACKING_FILE), one line per valid file and the French errors of the
others; exit status 1 when one is invalid.

The check itself lives in `actions` (the action server runs it at start). Importing
`actions` already stops with the report (on stderr) and status 1 when a file is invalid.
"""

from __future__ import annotations

from actions import check_all_content, content_report


def main() -> int:
    results = check_all_content()
    print(content_report(results))
    return 1 if any(result.error is not None for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
