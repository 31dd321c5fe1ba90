"""Photos citizens attach to a report: checked by their content, re-encoded without metadata,
stored under var/uploads/ (GRU_UPLOADS_DIR) with a random id, tied to the conversation that sent
them.

* Only JPEG, PNG and WebP, recognised by Pillow from the bytes (never from the name or the
  declared type), at most ``MAX_BYTES`` (5 MB) and ``MAX_PIXELS``: anything else is refused
  with a reason the channel turns into French.
* Re-encoded: the pixels are kept (turned upright by their EXIF orientation first), every
  metadata block is dropped — EXIF (GPS position, camera serial, date), XMP, ICC, PNG texts.
* An upload belongs to (channel, sender): `owned_upload` answers None for anyone else, so a
  forged `/share_photo{"upload_id": …}` attaches nothing.

CPU work (decoding, re-encoding) is synchronous: callers run it in a thread.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select

from booking.engine import local_now
from booking.models import Upload
from core.db import ROOT, session_scope

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 5 MB file may decode to gigabytes (decompression bomb)
MAX_SIDE = 4096  # larger photos are scaled down: the back-office needs to see, not to print
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class PhotoRefused(Exception):
    """``reason``: too_large | not_an_image | unsupported_type | too_many_pixels | empty."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str


def uploads_dir() -> Path:
    return Path(os.environ.get("GRU_UPLOADS_DIR", "").strip() or ROOT / "var" / "uploads")


def clean_photo(data: bytes) -> CleanPhoto:
    """The photo re-encoded without metadata, or PhotoRefused."""
    if not data:
        raise PhotoRefused("empty")
    if len(data) > MAX_BYTES:
        raise PhotoRefused("too_large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused("not_an_image") from None
    if kind not in FORMATS:
        raise PhotoRefused("unsupported_type")
    if width * height > MAX_PIXELS:
        raise PhotoRefused("too_many_pixels")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            # A new image holds the pixels only: no info, EXIF, XMP or ICC travels with it.
            mode = "RGB" if kind == "JPEG" else ("RGBA" if "A" in upright.getbands() else "RGB")
            pixels = upright.convert(mode)
            bare = Image.new(mode, pixels.size)
            bare.paste(pixels)
            out = io.BytesIO()
            options = {"quality": 85} if kind in ("JPEG", "WEBP") else {"optimize": True}
            bare.save(out, format=kind, **options)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused("not_an_image") from None
    content_type, extension = FORMATS[kind]
    return CleanPhoto(out.getvalue(), content_type, extension)


def _path(upload_id: str, extension: str) -> Path:
    return uploads_dir() / f"{upload_id}.{extension}"


def store_photo(
    data: bytes, channel: str, sender_id: str, *, now: datetime | None = None, url: str | None = None
) -> str:
    """Check, clean and keep a photo for this conversation; its new upload id (32 hex digits)."""
    photo = clean_photo(data)
    upload_id = secrets.token_hex(16)
    folder = uploads_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _path(upload_id, photo.extension)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(photo.data)
    try:
        with session_scope(url, write=True) as session:
            session.add(
                Upload(
                    id=upload_id,
                    channel=channel,
                    sender_id=sender_id,
                    content_type=photo.content_type,
                    size=len(photo.data),
                    created_at=local_now(now),
                )
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return upload_id


@dataclass(frozen=True)
class StoredPhoto:
    id: str
    content_type: str
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()

    @property
    def filename(self) -> str:
        return self.path.name


def _stored(row: Upload) -> StoredPhoto:
    extension = next(ext for ctype, ext in FORMATS.values() if ctype == row.content_type)
    return StoredPhoto(row.id, row.content_type, _path(row.id, extension))


def owned_upload(
    upload_id: object, channel: str, sender_id: str, *, url: str | None = None
) -> StoredPhoto | None:
    """The upload if it exists and was sent by this conversation, else None."""
    if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
        return None
    with session_scope(url) as session:
        row = session.get(Upload, upload_id)
        if row is None or row.channel != channel or row.sender_id != sender_id:
            return None
        stored = _stored(row)
    return stored if stored.path.exists() else None


def photo_of(upload_id: str | None, *, url: str | None = None) -> StoredPhoto | None:
    """A report's photo for the back-office (no owner check: the report holds it)."""
    if not upload_id:
        return None
    with session_scope(url) as session:
        row = session.get(Upload, upload_id)
        stored = _stored(row) if row else None
    return stored if stored and stored.path.exists() else None


def delete_uploads(ids: list[str], *, url: str | None = None) -> int:
    """Delete these uploads' files and rows; how many rows went."""
    if not ids:
        return 0
    with session_scope(url, write=True) as session:
        rows = session.execute(select(Upload).where(Upload.id.in_(ids))).scalars().all()
        for row in rows:
            _stored(row).path.unlink(missing_ok=True)
        session.execute(delete(Upload).where(Upload.id.in_(ids)))
        return len(rows)


# --- Messenger attachments: downloaded from Meta's CDN, with the same limits ----------------------

DEFAULT_PHOTO_HOSTS = ("fbcdn.net", "fbsbx.com")  # where Messenger's attachment URLs point


def photo_hosts(env=os.environ) -> tuple[str, ...]:
    raw = (env.get("GRU_REPORTS_PHOTO_HOSTS") or "").strip()
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip()) or DEFAULT_PHOTO_HOSTS


def allowed_photo_url(url: object, hosts: tuple[str, ...] | None = None) -> bool:
    """Only Messenger's CDN (https), or a host listed in GRU_REPORTS_PHOTO_HOSTS: a forged URL
    never makes the assistant fetch an internal address."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or len(url) > 2000:
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    hosts = hosts or photo_hosts()
    listed = [h for h in hosts if host == h or host.endswith("." + h)]
    if not listed:
        return False
    return parts.scheme == "https" or (
        parts.scheme == "http" and host in hosts and host not in DEFAULT_PHOTO_HOSTS
    )


async def download_photo(url: str, *, timeout_s: float = 10.0, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes at `url` (at most `max_bytes`), through the process's HTTP session (core.http).
    PhotoRefused('too_large'), or PhotoRefused('unavailable') when it cannot be fetched."""
    import asyncio

    import aiohttp

    from core.http import get_session

    try:
        async with get_session().get(
            url, timeout=aiohttp.ClientTimeout(total=timeout_s), allow_redirects=False
        ) as response:
            if response.status != 200:
                raise PhotoRefused("unavailable")
            if (response.content_length or 0) > max_bytes:
                raise PhotoRefused("too_large")
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise PhotoRefused("too_large")
                chunks.append(chunk)
            return b"".join(chunks)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        raise PhotoRefused("unavailable") from None
