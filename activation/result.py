"""What one sync did, or would do: counts per change, who was left out and why, the tags changed, masked
examples. The CLI prints it and the Dagster asset records it as metadata (`report()`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from activation.audience import Member

EXAMPLES = 3
"""Masked examples shown per kind of change (dry run) and of failure."""


@dataclass
class SyncResult:
    """What one sync did (or, for a dry run, would do). Counts are of members; examples are masked."""

    destination: str
    mode: str
    dry_run: bool
    added: int = 0
    updated: int = 0
    removed: int = 0
    failed: int = 0
    invalid: int = 0
    skipped_no_consent: int = 0
    skipped_erased: int = 0
    skipped_absent: int = 0
    """update-only: eligible members the audience does not have (never created)."""
    unchanged: int = 0
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(masked member, reason) of the first failures."""
    aborted: str | None = None
    """Why the run stopped early (outage, auth, rate limit that outlasted the retries); the rest is resent."""
    archived: int = 0
    """Of `removed`: members archived (consent revoked; mirror: left the profiles)."""
    deleted: int = 0
    """Of `removed`: members deleted permanently (erased)."""
    people: int = 0
    """Profiles considered: the marts' customer_profiles (or, in a copy without marts, audience + excluded)."""
    audience: int = 0
    """People who may be sent (eligible), whether or not anything about them changed."""
    excluded: dict[str, int] = field(default_factory=dict)
    """Everyone else, by reason (activation.exclusions.REASONS order, zeros left out); sums to people - audience."""
    tags_added: dict[str, int] = field(default_factory=dict)
    """Segment tag -> members it was added to (dry run: would be)."""
    tags_removed: dict[str, int] = field(default_factory=dict)
    """Segment tag -> members it was removed from (mirror mode)."""

    @property
    def ok(self) -> bool:
        return self.aborted is None and self.failed == 0

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "failed": self.failed,
            "invalid": self.invalid,
            "skipped_no_consent": self.skipped_no_consent,
            "skipped_erased": self.skipped_erased,
            "skipped_absent": self.skipped_absent,
            "unchanged": self.unchanged,
        }

    def report(self) -> dict[str, int | dict[str, int]]:
        """Who was left out and why, and what changed at the ESP: counts only, for the CLI and asset metadata."""
        return {
            "people": self.people,
            "audience": self.audience,
            "excluded": dict(self.excluded),
            "created": self.added,
            "updated": self.updated,
            "archived": self.archived,
            "deleted": self.deleted,
            "tags_added": dict(sorted(self.tags_added.items())),
            "tags_removed": dict(sorted(self.tags_removed.items())),
        }

    def _count_tags(self, change: TagChange) -> None:
        for tag in change.add:
            self.tags_added[tag] = self.tags_added.get(tag, 0) + 1
        for tag in change.remove:
            self.tags_removed[tag] = self.tags_removed.get(tag, 0) + 1

    def _example(self, kind: str, who: str) -> None:
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(who)


@dataclass(frozen=True)
class TagChange:
    member: Member
    add: frozenset[str]
    remove: frozenset[str]
