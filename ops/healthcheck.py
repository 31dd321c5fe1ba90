"""Health checks for containers (deploy/docker): exit 0 when healthy, 1 otherwise.

    python -m ops.healthcheck http://127.0.0.1:5055/health   # an HTTP route answers 2xx
    python -m ops.healthcheck --database                     # GRU_DATABASE_URL answers SELECT 1

The slim Python image has neither curl nor wget; this uses the standard library for HTTP
and the project's own engine settings (core/db.py, 5 s connect timeout) for the database.
It prints one short line (no URL with a password, no body), which Docker keeps in
`docker inspect` and compose shows.
"""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request

from sqlalchemy import text

from core.db import create_engine


def http_ok(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - a URL of our config
            return 200 <= resp.status < 300, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, type(getattr(exc, "reason", exc)).__name__


def database_ok(url: str | None = None) -> tuple[bool, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, "database ok"
    except Exception as exc:  # noqa: BLE001 - any failure is « unhealthy »; the type says which
        return False, f"database: {type(exc).__name__}"
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vérifie qu'un service répond (HEALTHCHECK des conteneurs).")
    parser.add_argument("url", nargs="?", help="adresse HTTP qui doit répondre 2xx")
    parser.add_argument("--database", action="store_true", help="la base GRU_DATABASE_URL répond")
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    if bool(args.url) == args.database:
        parser.error("une adresse HTTP ou --database, l'un des deux")
    healthy, detail = database_ok() if args.database else http_ok(args.url, args.timeout)
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
