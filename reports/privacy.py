"""Personal data of reports: the retention purge and « oubliez mes données ».

A report's contact (e-mail, phone), its conversation id and its photo are personal data; the
category, the place and the description describe the street and stay (the services need the
history of a place). `purge_reports` erases the personal fields `reports_days` days after the
report (territory/demo/privacy.yml) and deletes the photos never attached to a report after
`PENDING_UPLOAD`; `forget_sender` does the same at once for one conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from booking.engine import local_now
from booking.models import Report, Upload
from core.db import session_scope
from reports.photos import delete_uploads

PENDING_UPLOAD = timedelta(days=1)  # a photo sent but never attached to a report
_ERASED = {"contact_email": None, "contact_phone": None, "sender_id": "", "photo_id": None}


@dataclass(frozen=True)
class ReportsPurge:
    reports: int  # reports whose personal fields were erased
    photos: int  # photos deleted


def _erase(where, now: datetime, url: str | None) -> ReportsPurge:
    with session_scope(url, write=True) as session:
        rows = session.execute(select(Report.id, Report.photo_id).where(where)).all()
        ids = [row.id for row in rows]
        photos = [row.photo_id for row in rows if row.photo_id]
        if ids:
            session.execute(
                update(Report)
                .where(Report.id.in_(ids))
                .values(**_ERASED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return ReportsPurge(len(ids), delete_uploads(photos, url=url))


def _personal():
    return or_(
        Report.sender_id != "",
        Report.contact_email.isnot(None),
        Report.contact_phone.isnot(None),
        Report.photo_id.isnot(None),
    )


def purge_reports(reports_days: int, *, now: datetime | None = None, url: str | None = None) -> ReportsPurge:
    moment = local_now(now)
    erased = _erase((Report.created_at < moment - timedelta(days=reports_days)) & _personal(), moment, url)
    with session_scope(url) as session:
        stale = select(Upload.id).where(
            Upload.report_reference.is_(None), Upload.created_at < moment - PENDING_UPLOAD
        )
        pending = list(session.execute(stale).scalars())
    return ReportsPurge(erased.reports, erased.photos + delete_uploads(pending, url=url))


def forget_sender(
    channel: str, sender_id: str, *, now: datetime | None = None, url: str | None = None
) -> ReportsPurge:
    """« Oubliez mes données »: this conversation's reports lose their personal fields, its photos go."""
    moment = local_now(now)
    erased = _erase((Report.channel == channel) & (Report.sender_id == sender_id), moment, url)
    with session_scope(url) as session:
        mine = select(Upload.id).where(Upload.channel == channel, Upload.sender_id == sender_id)
        photos = list(session.execute(mine).scalars())
    return ReportsPurge(erased.reports, erased.photos + delete_uploads(photos, url=url))
