"""Reverse ETL: send the difference between the serving copy and the sync state to one ESP audience.

A sync, in order:

1. reads `activation.profiles` / `activation.segments` from the serving copy and re-checks every row (consent,
   erasure ledger, valid and unique email: `activation.audience`);
2. compares it with the sync state of the destination (`activation.state`) and plans only what changed;
3. sends, privacy first: erased members are deleted permanently, members who lost consent are archived (in
   every mode: leaving them subscribed would keep emailing them), members who left the profiles are archived
   (mirror mode only); then new and changed members go in batch upserts of at most 500; then tags follow the
   segments (added in every mode, removed in mirror mode);
4. records each batch's outcome in the state before the next one, so a run that is interrupted or partly
   rejected is completed by the next run, and nothing that already arrived is sent twice.

The result also says who was left out of the audience and why, per person of the marts' `customer_profiles`
(`activation.exclusions`), and which tags changed.

Modes: `upsert` creates and updates; `mirror` also removes what left (untag, archive); `update-only` never
creates a member: it pages through the audience first and only updates members that exist there.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, get_args

from activation.audience import Audience, Member, load_audience, mask_email
from activation.config import DestinationConfig, destination_config, sync_state_path
from activation.exclusions import excluded_by_reason, read_upstream
from activation.mailchimp import MailchimpClient, is_fatal
from activation.result import EXAMPLES, SyncResult, TagChange
from activation.state import MemberState, RunRecord, SyncStateStore
from core.http import ApiError, RetryPolicy
from core.settings import Settings
from privacy.ledger import ErasureLedger

log = logging.getLogger(__name__)

SyncMode = Literal["upsert", "mirror", "update-only"]
SYNC_MODES: tuple[str, ...] = get_args(SyncMode)
_STATE_FLUSH_EVERY = 100
"""Per-member calls (tags, removals) are recorded in the state this often, and before the run ends."""


@dataclass
class Plan:
    """What has to change at the destination; built from the audience and the state alone."""

    erase: list[MemberState] = field(default_factory=list)
    archive: list[tuple[MemberState, str]] = field(default_factory=list)
    upsert: list[Member] = field(default_factory=list)
    tags: dict[str, TagChange] = field(default_factory=dict)
    absent: list[Member] = field(default_factory=list)
    unchanged: int = 0


def make_plan(audience: Audience, states: dict[str, MemberState], mode: str, existing: set[str] | None = None) -> Plan:
    """The changes to send. `existing` (update-only): subscriber hashes the audience has; others are skipped."""
    plan = Plan()
    for key, state in sorted(states.items()):
        if state.subject_hash in audience.erased_subject_hashes or key in audience.erased:
            plan.erase.append(state)  # archived members too: Mailchimp keeps an archived contact's data
        elif not state.may_exist or key in audience.eligible or key in audience.held:
            continue
        elif key in audience.no_consent:
            plan.archive.append((state, "consent revoked"))
        elif mode == "mirror":
            plan.archive.append((state, "no longer in the profiles"))
    for key, member in audience.eligible.items():
        if existing is not None and key not in existing:
            plan.absent.append(member)
            continue
        state = states.get(key)
        applied = state.tags if state else frozenset()
        changed = state is None or state.status != "active" or state.fields_hash != member.fields_hash
        if changed:
            plan.upsert.append(member)
        add = member.tags - applied
        remove = applied - member.tags if mode == "mirror" else frozenset()
        if add or remove:
            plan.tags[key] = TagChange(member, add, remove)
        elif not changed:
            plan.unchanged += 1
    return plan


def sync(
    destination: str,
    mode: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    config: DestinationConfig | None = None,
    retry: RetryPolicy | None = None,
) -> SyncResult:
    """Sync one destination; see the module docstring. Never raises for a per-member or HTTP failure: those
    are in the result (`failed`, `aborted`) and in the state, for the next run. Raises ValueError for a bad
    mode or missing configuration, FileNotFoundError / LookupError when the serving copy lacks its tables."""
    if mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {mode!r}; expected one of {', '.join(SYNC_MODES)}")
    config = config or destination_config(destination)
    ledger = ErasureLedger(settings)
    audience = load_audience(settings.serving_path, ledger)
    upstream = read_upstream(settings.serving_path, ledger)
    excluded = excluded_by_reason(upstream, audience)
    result = SyncResult(
        destination=config.name,
        mode=mode,
        dry_run=dry_run,
        invalid=len(audience.invalid),
        skipped_no_consent=len(audience.no_consent),
        skipped_erased=len(audience.erased),
        people=upstream.people if upstream.people is not None else len(audience.eligible) + sum(excluded.values()),
        audience=len(audience.eligible),
        excluded=excluded,
    )
    for row in audience.invalid:
        result.invalid_reasons[row.reason] = result.invalid_reasons.get(row.reason, 0) + 1
        result._example("invalid", f"{mask_email(row.email)} ({row.reason})")
    if dry_run:
        return _preview(audience, config, mode, settings, retry, result)
    started = datetime.now(UTC)
    with MailchimpClient(config, retry=retry) as client, SyncStateStore(sync_state_path(settings)) as store:
        run = _Run(store, client, config, result)
        try:
            client.check_audience()
            existing = client.existing_members() if mode == "update-only" else None
            run.execute(make_plan(audience, run.states, mode, existing))
        except _Abort as stop:
            result.aborted = stop.reason
        except ApiError as error:  # the preflight or the update-only listing: nothing was sent
            result.aborted = str(error)
        finally:
            run.flush()
        outcome = "aborted" if result.aborted else ("partial" if result.failed else "succeeded")
        store.record_run(
            RunRecord(
                secrets.token_hex(8),
                config.name,
                mode,
                started,
                outcome,
                result.counts(),
                result.aborted,
                report=result.report(),
            )
        )
    log.info("sync to %s (%s): %s, %s, excluded %s", config.name, mode, outcome, result.counts(), result.excluded)
    return result


def _preview(
    audience: Audience,
    config: DestinationConfig,
    mode: str,
    settings: Settings,
    retry: RetryPolicy | None,
    result: SyncResult,
) -> SyncResult:
    """Dry run: the plan as counts and masked examples; nothing is sent and the state is not written.

    Only update-only mode talks to the ESP, to read which members exist (GET requests, no change)."""
    with SyncStateStore(sync_state_path(settings), read_only=True) as store:
        states = store.members(config.name)
    existing = None
    if mode == "update-only":
        with MailchimpClient(config, retry=retry) as client:
            existing = client.existing_members()
    plan = make_plan(audience, states, mode, existing)
    upserted = {m.subscriber_hash for m in plan.upsert}
    for member in plan.upsert:
        state = states.get(member.subscriber_hash)
        new = state is None or state.status != "active"
        result.added += new
        result.updated += not new
        result._example("add" if new else "update", mask_email(member.email))
    for key, change in plan.tags.items():
        result._count_tags(change)
        if key not in upserted:
            result.updated += 1
            result._example("retag", f"{mask_email(change.member.email)} +{len(change.add)} -{len(change.remove)}")
    for state in plan.erase:
        result._example("erase", _who(state))
    for state, reason in plan.archive:
        result._example("archive", f"{_who(state)} ({reason})")
    result.deleted, result.archived = len(plan.erase), len(plan.archive)
    result.removed = result.deleted + result.archived
    result.skipped_absent = len(plan.absent)
    result.unchanged = plan.unchanged
    return result


def _who(state: MemberState) -> str:
    """A member known only by subscriber hash (no email is stored): a short prefix of it."""
    return f"member {state.subscriber_hash[:6]}"


class _Abort(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Run:
    """Executes a plan against the client, recording every outcome in the state store."""

    def __init__(
        self, store: SyncStateStore, client: MailchimpClient, config: DestinationConfig, result: SyncResult
    ) -> None:
        self.store = store
        self.client = client
        self.config = config
        self.result = result
        self.states = store.members(config.name)
        self._pending: dict[str, MemberState] = {}
        self._forget: list[str] = []
        self._failed: set[str] = set()
        self._touched: set[str] = set()

    def execute(self, plan: Plan) -> None:
        self.result.skipped_absent = len(plan.absent)
        self.result.unchanged = plan.unchanged
        for state in plan.erase:
            self._per_member(state, self.client.delete_permanently, erase=True)
        for state, _reason in plan.archive:
            self._per_member(state, self.client.archive, erase=False)
        self.flush()
        for start in range(0, len(plan.upsert), self.config.batch_size):
            self._batch(plan.upsert[start : start + self.config.batch_size])
        for key, change in plan.tags.items():
            if key not in self._failed:
                self._tags(change)
        self.flush()

    def flush(self) -> None:
        self.store.save(self.config.name, self._pending.values())
        self.store.forget(self.config.name, self._forget)
        self._pending.clear()
        self._forget.clear()

    def _remember(self, state: MemberState) -> None:
        self.states[state.subscriber_hash] = state
        self._pending[state.subscriber_hash] = state
        if len(self._pending) >= _STATE_FLUSH_EVERY:
            self.flush()

    def _fail(self, state: MemberState, who: str, reason: str) -> None:
        self._remember(state.failed(reason))
        if state.subscriber_hash not in self._failed:
            self._failed.add(state.subscriber_hash)
            self.result.failed += 1
            if len(self.result.failures) < EXAMPLES:
                self.result.failures.append((who, reason))

    def _per_member(self, state: MemberState, call: Callable[[str], None], *, erase: bool) -> None:
        try:
            call(state.subscriber_hash)
        except ApiError as error:
            self._fail(state, _who(state), str(error))
            if is_fatal(error):
                raise _Abort(str(error)) from error
            return
        self.result.removed += 1
        if erase:
            self.result.deleted += 1
            self.states.pop(state.subscriber_hash, None)
            self._pending.pop(state.subscriber_hash, None)
            self._forget.append(state.subscriber_hash)
        else:
            self.result.archived += 1
            self._remember(replace(state, status="archived", last_error=None, failures=0))

    def _batch(self, members: list[Member]) -> None:
        before = {m.subscriber_hash: self._state_for(m) for m in members}
        try:
            outcome = self.client.batch_upsert([m.payload() for m in members])
        except ApiError as error:
            for member in members:  # a batch that may have arrived in part: its members may exist now
                self._fail(before[member.subscriber_hash], mask_email(member.email), str(error))
            self.flush()
            if is_fatal(error) or error.status == 404:
                raise _Abort(str(error)) from error
            return
        for member in members:
            state = before[member.subscriber_hash]
            reason = outcome.errors.get(member.email)
            if reason is not None:
                self._fail(state, mask_email(member.email), reason)
                continue
            created = member.email in outcome.created
            self.result.added += created
            self.result.updated += not created
            self._touched.add(member.subscriber_hash)
            self._remember(replace(state, status="active", fields_hash=member.fields_hash, last_error=None, failures=0))
        self.flush()  # one batch, one transaction: a crash after this line never resends these members

    def _state_for(self, member: Member) -> MemberState:
        """The member's current state; a new one is `pending` (sent, not yet confirmed) until accepted."""
        known = self.states.get(member.subscriber_hash)
        if known is not None:
            return replace(known, subject_hash=member.subject_hash, status=_unconfirmed(known))
        return MemberState(member.subscriber_hash, member.subject_hash, "pending", None, frozenset())

    def _tags(self, change: TagChange) -> None:
        key = change.member.subscriber_hash
        state = self.states[key]
        try:
            self.client.set_tags(key, change.add, change.remove)
        except ApiError as error:
            if error.status == 404:  # the member is gone from the audience: upsert it again next run
                state = replace(state, status="pending", fields_hash=None)
            self._fail(state, mask_email(change.member.email), f"tags: {error}")
            if is_fatal(error):
                raise _Abort(str(error)) from error
            return
        self.result._count_tags(change)
        if key not in self._touched:
            self._touched.add(key)
            self.result.updated += 1
        self._remember(replace(state, tags=(state.tags | change.add) - change.remove))


def _unconfirmed(state: MemberState) -> str:
    """Status while a batch is in flight: an archived member being re-added may exist again afterwards."""
    return "pending" if state.status == "archived" else state.status
