"""Appointments and their invitation links: create, move, cancel, revoke, re-issue, open.

A link ``/j/<token>`` carries 256 random bits; only the token's hash is stored. It is valid from
when it is issued until the end of the appointment plus a grace period, and stops working when it
is revoked. Moving an appointment re-issues the link (the new time and the new link arrive
together); cancelling revokes it. Every step is written to the case record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from server.base import clock, crypto
from server.base.settings import Config
from server.domain.invitations import GroupInvite, compose_email, compose_sms, join_link, mask
from server.domain.models import (
    N_,
    Appointment,
    Attendee,
    Case,
    GuestBrowser,
    Invalid,
    Invitation,
    Worker,
    check_choice,
)
from server.storage.repositories import Store


@dataclasses.dataclass
class AppointmentForm:
    """What a worker enters for an appointment (local date and time in the service's zone)."""

    date: str
    time: str
    duration_minutes: int
    modality: str
    topic: str
    incident_phone: str
    plan_b: str = "worker_calls"
    attendees: list[dict[str, str]] = dataclasses.field(default_factory=list)
    documents: str = ""
    # The interview outline (the worker's own, never sent to the person).
    objectives: str = ""
    questions: str = ""
    test_minutes: int | None = None
    sms_reminder: bool = False
    # Which of a time that happens twice (the night the clocks go back): "first" or "second".
    occurrence: clock.Occurrence = "first"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppointmentForm:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise Invalid(sorted(unknown)[0], N_("Unknown field."))
        try:
            form = cls(**data)
        except TypeError:
            raise Invalid("appointment", N_("Some fields are missing or wrong.")) from None
        form.duration_minutes = _whole_number("duration_minutes", form.duration_minutes)
        if form.test_minutes is not None:
            form.test_minutes = _whole_number("test_minutes", form.test_minutes)
        if not isinstance(form.attendees, list):
            raise Invalid("attendees", N_("Attendees must be a list."))
        if not isinstance(form.sms_reminder, bool):
            raise Invalid("sms_reminder", N_("Some fields are missing or wrong."))
        check_choice("occurrence", form.occurrence, clock.OCCURRENCES)
        return form

    def starts_at(self, zone: str) -> dt.datetime:
        try:
            # A wall-clock time, naive on purpose: clock.local_to_utc gives it its zone.
            local = dt.datetime.strptime(f"{self.date} {self.time}",  # noqa: DTZ007
                                         "%Y-%m-%d %H:%M")
        except ValueError:
            raise Invalid("date", N_("Please give the date as YYYY-MM-DD and the time as "
                                     "HH:MM.")) from None
        # Bounds first, on the wall clock: year 1 or 9999 would overflow a datetime further on.
        here = clock.to_local(clock.now(), zone).replace(tzinfo=None)
        if local < here - dt.timedelta(days=1):
            raise Invalid("date", N_("This date and time is in the past."))
        if local > here + FURTHEST_AHEAD:
            raise Invalid("date", N_("This date is too far ahead: please check the year."))
        try:
            starts = clock.local_to_utc(local, zone, self.occurrence)
        except clock.LocalTimeError as exc:
            if exc.code == "not_repeated_local_time":
                raise Invalid("occurrence", N_("This time happens only once on that day: there "
                                               "is no second one to choose.")) from None
            raise Invalid("time", N_("This time does not exist on that day: the clocks change "
                                     "then. Please choose another time.")) from None
        if starts <= clock.now():
            raise Invalid("date", N_("This date and time is in the past."))
        return starts


FURTHEST_AHEAD = dt.timedelta(days=5 * 366)  # an appointment is planned at most 5 years ahead


def _whole_number(field: str, value: object) -> int:
    """A JSON integer (``3``, or ``3.0`` which JSON Schema counts as one); nothing else."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise Invalid(field, N_("Please enter a number."))
    return value


async def _nobody(appointments: list[Appointment]) -> int:
    return 0


class Scheduling:
    """The appointment workflow.

    Each act (plan, move, cancel, revoke, re-issue) is one transaction: it commits whole or not at
    all. ``notify`` wakes the outbox when a message was added; ``access_changed(appointments)``
    closes the live connections of an appointment whose link stopped working (in its group's
    room, for a person in a group)."""

    def __init__(self, store: Store, config: Config, notify: Callable[[], None],
                 access_changed: Callable[[list[Appointment]], Awaitable[int]] = _nobody,
                 ) -> None:
        self.store = store
        self.config = config
        self.notify = notify
        self.access_changed = access_changed

    # -- appointments -------------------------------------------------------------------------

    async def create(self, worker: Worker, case: Case, form: AppointmentForm,
                     group: tuple[int, GroupInvite] | None = None) -> tuple[Appointment, str]:
        """Plan an appointment and send its invitation; returns it with the new link.

        ``group``: the group session (its id and what the invitation says of it) this person's
        appointment belongs to."""
        appointment = Appointment(
            id=0, public_id="", case_id=case.id, worker_id=worker.id,
            starts_at=form.starts_at(self.config.timezone),
            duration_minutes=form.duration_minutes, modality=form.modality,
            test_minutes=(self.config.test_slot_minutes if form.test_minutes is None
                          else form.test_minutes),
            plan_b=form.plan_b, sms_reminder=form.sms_reminder, status="planned", sequence=0,
            topic=form.topic, incident_phone=form.incident_phone or worker.phone,
            documents=form.documents, attendees=_attendees(form.attendees),
            created_at=clock.now(), group_id=group[0] if group else None,
            objectives=form.objectives, questions=form.questions)
        if appointment.sms_reminder and not case.mobile:
            raise Invalid("sms_reminder", N_("The case has no mobile number for an SMS."))
        async with self.store.atomic():
            appointment = await self.store.appointments.create(appointment)
            await self.store.entries.add(case.id, "appointment_created", {
                "starts_at": appointment.starts_at.isoformat(), "modality": appointment.modality,
                "duration_minutes": appointment.duration_minutes}, appointment.id)
            link = await self._issue(worker, case, appointment, "invitation",
                                     group=group[1] if group else None)
        self.notify()
        return appointment, link

    async def move(self, worker: Worker, case: Case, appointment: Appointment,
                   form: AppointmentForm) -> str:
        """Change an appointment; the person gets the updated event with a new link."""
        self._planned(appointment)
        before = appointment.starts_at
        changed = dataclasses.replace(
            appointment, starts_at=form.starts_at(self.config.timezone),
            duration_minutes=form.duration_minutes, modality=form.modality, topic=form.topic,
            incident_phone=form.incident_phone or worker.phone, plan_b=form.plan_b,
            documents=form.documents, attendees=_attendees(form.attendees),
            objectives=form.objectives, questions=form.questions,
            test_minutes=(appointment.test_minutes if form.test_minutes is None
                          else form.test_minutes),
            sms_reminder=form.sms_reminder, sequence=appointment.sequence + 1)
        async with self.store.atomic():
            await self.store.appointments.save(changed)
            await self.store.entries.add(case.id, "appointment_moved", {
                "from": before.isoformat(), "to": changed.starts_at.isoformat(),
                "modality": changed.modality}, appointment.id)
            await self._revoke(appointment, reason="moved")
            link = await self._issue(worker, case, changed, "moved")
        self.notify()
        await self.access_changed([appointment])
        return link

    async def cancel(self, worker: Worker, case: Case, appointment: Appointment) -> None:
        """Cancel: the link stops working and the person gets the cancelled event."""
        self._planned(appointment)
        cancelled = dataclasses.replace(appointment, status="cancelled",
                                        sequence=appointment.sequence + 1)
        async with self.store.atomic():
            await self.store.appointments.save(cancelled)
            await self._revoke(appointment, reason="cancelled")
            await self.store.entries.add(case.id, "appointment_cancelled", {
                "starts_at": appointment.starts_at.isoformat()}, appointment.id)
            if case.email:
                payload = compose_email("cancelled", self.config, cancelled, case, worker, None)
                await self._queue_email(worker, cancelled, None, payload, "cancellation")
        self.notify()
        await self.access_changed([appointment])

    # -- links --------------------------------------------------------------------------------

    async def revoke(self, case: Case, appointment: Appointment) -> None:
        """Cut off the link and every browser that opened it, live connections included."""
        async with self.store.atomic():
            await self._revoke(appointment, reason="revoked")
            await self.store.entries.add(case.id, "invitation_revoked", {}, appointment.id)
        await self.access_changed([appointment])

    async def reissue(self, worker: Worker, case: Case, appointment: Appointment) -> str:
        """Revoke the current link and send a new one."""
        self._planned(appointment)
        async with self.store.atomic():
            await self._revoke(appointment, reason="reissued")
            link = await self._issue(worker, case, appointment, "invitation", reissued=True)
        self.notify()
        await self.access_changed([appointment])
        return link

    async def open_link(self, token: str) -> tuple[str, Invitation | None]:
        """What a token leads to: ('valid' | 'expired' | 'revoked' | 'unknown', invitation)."""
        invitation = await self.store.invitations.by_token_hash(crypto.token_hash(token))
        if invitation is None:
            return "unknown", None
        return invitation.state(clock.now()), invitation

    async def admit_browser(self, invitation: Invitation, user_agent: str,
                            ) -> tuple[str, GuestBrowser] | None:
        """Give a browser its own cookie for this invitation; returns the cookie's value.

        None when ``link_browsers_max`` browsers have opened the link already (mail scanners and
        forwarded links): the person is then shown the worker's number instead."""
        cookie = crypto.new_token()
        browser, device = describe_user_agent(user_agent)
        async with self.store.atomic():
            guest = await self.store.invitations.add_browser(
                invitation.id, crypto.token_hash(cookie), browser, device,
                at_most=self.config.link_browsers_max)
            if guest is None:
                return None
            appointment = await self.store.appointments.get(invitation.appointment_id)
            if appointment is not None:
                await self.store.entries.add(appointment.case_id, "link_opened", {
                    "browser": browser, "device": device}, appointment.id)
        return cookie, guest

    async def guest(self, cookie: str) -> tuple[str, GuestBrowser | None, Invitation | None]:
        """The browser behind a guest cookie, and whether its invitation still works."""
        guest = await self.store.invitations.browser_by_cookie(crypto.token_hash(cookie))
        if guest is None:
            return "unknown", None, None
        invitation = await self.store.invitations.get(guest.invitation_id)
        assert invitation is not None
        state = invitation.state(clock.now())
        if state == "valid":
            await self.store.invitations.touch_browser(guest.id)
        return state, guest, invitation

    # -- internals ----------------------------------------------------------------------------

    def _planned(self, appointment: Appointment) -> None:
        if appointment.status != "planned":
            raise Invalid("status", N_("This appointment is cancelled."))

    def _expiry(self, appointment: Appointment) -> dt.datetime:
        return appointment.ends_at + dt.timedelta(minutes=self.config.link_grace_minutes)

    async def _revoke(self, appointment: Appointment, reason: str) -> None:
        current = await self.store.invitations.current(appointment.id)
        await self.store.invitations.revoke_all(appointment.id)
        if current is not None:
            await self.store.outbox.drop_for_invitation(current.id)

    async def _issue(self, worker: Worker, case: Case, appointment: Appointment, kind: str,
                     reissued: bool = False, group: GroupInvite | None = None) -> str:
        token = crypto.new_token()
        invitation = await self.store.invitations.create(
            appointment.id, crypto.token_hash(token), self._expiry(appointment))
        link = join_link(self.config, token)
        await self.store.entries.add(case.id, "invitation_reissued" if reissued else
                                     "invitation_issued", {"kind": kind}, appointment.id)
        if group is None and appointment.group_id is not None:
            group = await self._group_invite(appointment.group_id)
        payload = compose_email(kind, self.config, appointment, case, worker, link, group)
        if case.email:
            await self._queue_email(worker, appointment, invitation, payload, kind)
        else:
            # No address: the worker sends the same invitation (text and calendar file) by hand.
            await self.store.outbox.add("email", kind, "manual", "", payload, appointment.id,
                                        invitation.id, worker.id)
        if appointment.sms_reminder and case.mobile:
            sms = compose_sms(self.config, appointment, case, link)
            due = appointment.starts_at - dt.timedelta(minutes=self.config.sms_reminder_minutes)
            status = "manual" if self.config.sms_gateway == "file" else "pending"
            await self.store.outbox.add("sms", "reminder", status, mask(case.mobile), sms,
                                        appointment.id, invitation.id, worker.id,
                                        not_before=max(due, clock.now()))
        return link

    async def _group_invite(self, group_id: int) -> GroupInvite | None:
        group = await self.store.groups.get(group_id)
        if group is None:
            return None
        members = await self.store.groups.members(group_id)
        return GroupInvite(group.title, len(members) + 1, group.rule,  # +1: the facilitator
                           tuple((a.title, a.minutes) for a in group.agenda))

    async def _queue_email(self, worker: Worker, appointment: Appointment,
                           invitation: Invitation | None, payload: dict[str, Any],
                           kind: str) -> None:
        status = "pending" if self.config.smtp_url else "manual"
        await self.store.outbox.add("email", kind, status, mask(payload["to"]), payload,
                                    appointment.id, invitation.id if invitation else None,
                                    worker.id)


def _attendees(raw: list[Any]) -> list[Attendee]:
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("attendees", N_("Each attendee has a name and a role."))
        if not str(item.get("name", "")).strip() and not str(item.get("role", "")).strip():
            continue
        out.append(Attendee(name=str(item.get("name", "")), role=str(item.get("role", ""))))
    return out


# Every name describe_user_agent gives: catalog ids, translated where they are shown (the live
# page translates those that arrive over the WebSocket with this list).
BROWSER_AND_DEVICE_NAMES = (
    N_("Edge"), N_("Firefox"), N_("Samsung Internet"), N_("Chrome"), N_("Safari"),
    N_("Other browser"), N_("iPhone"), N_("iPad"), N_("Android tablet"), N_("Android phone"),
    N_("Windows computer"), N_("Mac"), N_("Linux computer"), N_("Other device"))


def describe_user_agent(ua: str) -> tuple[str, str]:
    """Browser and device family from a User-Agent, as a worker would name them (catalog ids)."""
    ua_l = ua.lower()
    if "edg/" in ua_l:
        browser = N_("Edge")
    elif "firefox/" in ua_l:
        browser = N_("Firefox")
    elif "samsungbrowser" in ua_l:
        browser = N_("Samsung Internet")
    elif "chrome/" in ua_l or "chromium/" in ua_l or "crios/" in ua_l:
        browser = N_("Chrome")
    elif "safari/" in ua_l:
        browser = N_("Safari")
    else:
        browser = N_("Other browser")
    if "iphone" in ua_l:
        device = N_("iPhone")
    elif "ipad" in ua_l:
        device = N_("iPad")
    elif "android" in ua_l:
        device = N_("Android tablet") if "mobile" not in ua_l else N_("Android phone")
    elif "windows" in ua_l:
        device = N_("Windows computer")
    elif "mac os x" in ua_l or "macintosh" in ua_l:
        device = N_("Mac")
    elif "linux" in ua_l or "x11" in ua_l:
        device = N_("Linux computer")
    else:
        device = N_("Other device")
    return browser, device
