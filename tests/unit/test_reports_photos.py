"""Photos of reports (reports/photos.py): content checks, size limits, metadata (GPS EXIF) stripped,
an upload tied to the conversation that sent it, Messenger's CDN only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from booking.seed import migrate
from reports import photos
from reports.photos import PhotoRefused, allowed_photo_url, clean_photo, owned_upload, store_photo


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_UPLOADS_DIR", str(tmp_path / "uploads"))
    url = f"sqlite:///{tmp_path / 'photos.db'}"
    migrate(url)
    return url


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def encoded(kind: str, size=(32, 32), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, format=kind)
    return out.getvalue()


def test_gps_and_every_exif_tag_are_stripped_and_the_photo_is_upright():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo has a position
    clean = clean_photo(original)
    assert clean.content_type == "image/jpeg"
    with Image.open(io.BytesIO(clean.data)) as image:
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info and "icc_profile" not in image.info
        assert image.size == (48, 64)  # turned by its orientation tag before the tag was dropped
    assert b"CameraMaker" not in clean.data


@pytest.mark.parametrize(
    "kind, content_type", [("PNG", "image/png"), ("WEBP", "image/webp"), ("JPEG", "image/jpeg")]
)
def test_jpeg_png_and_webp_are_accepted_by_their_content(kind, content_type):
    assert clean_photo(encoded(kind)).content_type == content_type


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"not an image at all", "not_an_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not_an_image"),
        (encoded("GIF"), "unsupported_type"),
        (encoded("BMP"), "unsupported_type"),
        (b"\xff" * (photos.MAX_BYTES + 1), "too_large"),
        (encoded("PNG")[:40], "not_an_image"),  # truncated
    ],
)
def test_what_is_not_a_photo_we_accept_is_refused_with_a_reason(data, reason):
    with pytest.raises(PhotoRefused) as refused:
        clean_photo(data)
    assert refused.value.reason == reason


def test_a_decompression_bomb_is_refused():
    with pytest.raises(PhotoRefused) as refused:
        clean_photo(encoded("PNG", size=(10_000, 10_000), mode="1"))
    assert refused.value.reason in ("too_many_pixels", "not_an_image")


def test_an_upload_belongs_to_its_conversation_only(url, tmp_path):
    upload_id = store_photo(jpeg_with_gps(), "socketio", "session-a", url=url)
    assert len(upload_id) == 32 and int(upload_id, 16) >= 0
    stored = owned_upload(upload_id, "socketio", "session-a", url=url)
    assert stored is not None and stored.path.parent == tmp_path / "uploads"
    assert stored.path.stat().st_mode & 0o077 == 0
    assert b"CameraMaker" not in stored.read()
    assert owned_upload(upload_id, "socketio", "session-b", url=url) is None
    assert owned_upload(upload_id, "rest", "session-a", url=url) is None
    for forged in ("../../etc/passwd", "0" * 32, 42, None, "A" * 32):
        assert owned_upload(forged, "socketio", "session-a", url=url) is None


def test_messenger_photos_come_from_meta_cdn_only(monkeypatch):
    monkeypatch.delenv("GRU_REPORTS_PHOTO_HOSTS", raising=False)
    assert allowed_photo_url("https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1")
    assert allowed_photo_url("https://cdn.fbsbx.com/v/t59/photo.png")
    for url in (
        "http://scontent.xx.fbcdn.net/photo.jpg",  # not https
        "https://fbcdn.net.evil.example/photo.jpg",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:5005/webhooks/rest",
        "file:///etc/passwd",
        "https://" + "a" * 3000 + ".fbcdn.net/x",
        None,
    ):
        assert not allowed_photo_url(url), url
    assert allowed_photo_url("http://127.0.0.1:8000/photo.jpg", hosts=("127.0.0.1",))


def test_messenger_image_and_location_attachments_become_report_payloads():
    from tests.unit.test_channels_messenger import event, run_batch

    def with_attachment(psid: str, kind: str, payload: dict) -> dict:
        body = event(psid)
        body["message"] = {"mid": "m", "attachments": [{"type": kind, "payload": payload}]}
        return body

    image = with_attachment("p1", "image", {"url": "https://x.fbcdn.net/a.jpg"})
    place = with_attachment("p2", "location", {"coordinates": {"lat": 47.9, "long": 1.9}})
    broken = with_attachment("p3", "location", {"coordinates": {"lat": 95, "long": 1}})
    messages, _ = run_batch([image, place, broken])
    assert [(m.sender_id, m.text) for m in messages] == [
        ("p1", '/share_photo{"photo_url": "https://x.fbcdn.net/a.jpg"}'),
        ("p2", '/share_location{"latitude": 47.9, "longitude": 1.9}'),
    ]
