"""python -m portal: the appointment pages on GRU_PAGES_HOST:GRU_PAGES_PORT (see portal/app.py)."""

from portal.app import main

if __name__ == "__main__":
    raise SystemExit(main())
