"""Typed SQLAlchemy 2 models: the whole Steer schema.

Conventions
- Every datetime column is an aware UTC datetime (``UTCDateTime``): naive values are
  refused on the way in, values come back aware on SQLite too.
- Constraint names come from ``NAMING_CONVENTION`` so Alembic migrations (batch mode on
  SQLite) can address them.
- The unit of status, deadline, escalation and colour is the ``WorkItem``: one per lead
  unit of a task (and per occurrence of a recurring task). A task's status is derived.
- ``Event`` is the append-only, hash-chained log of every change; ``ChainHead`` is the one
  row that serialises appends and lets ``audit verify`` detect a deleted tail.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.states import ExtensionStatus, PlanStatus, Status

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class NaiveDatetimeError(ValueError):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes; returns aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value!r} refused; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


# --- directory -------------------------------------------------------------------------


class Committee(Base):
    __tablename__ = "committee"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    standing_agency: Mapped[str | None] = mapped_column(String(64))  # unit code
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Unit(Base):
    """An agency, a district, a commune, or a group phrase ("Các sở, ban, ngành")."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32), default="unit")
    parent_code: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    former_names: Mapped[list[str]] = mapped_column(default=list)
    members: Mapped[list[str]] = mapped_column(default=list)  # groups: member unit codes
    groups: Mapped[list[str]] = mapped_column(default=list)  # group codes this unit is in
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[list[str]] = mapped_column(default=list)  # apprise URLs (secret)
    # where the row came from: "directory" (loaded file), "standard" (built-in, materialised
    # when a plan referenced it), "plan" (unknown name registered by a plan load)
    source: Mapped[str] = mapped_column(String(16), default="directory")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Person(Base):
    __tablename__ = "person"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(32))  # chair|vice_chair|secretariat|focal_point|viewer
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    oversees: Mapped[list[str]] = mapped_column(default=list)  # unit/group codes
    notify: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    unit: Mapped[Unit | None] = relationship()


# --- plans -----------------------------------------------------------------------------


class Plan(Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(300))
    issued_on: Mapped[date | None] = mapped_column(Date)
    issued_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    parent_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.ACTIVE)
    source_file: Mapped[str | None] = mapped_column(String(500))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per-plan overrides
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    issued_by: Mapped[Unit | None] = relationship()
    parent: Mapped[Plan | None] = relationship(remote_side="Plan.id")


class PlanRevision(Base):
    __tablename__ = "plan_revision"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    number: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64), default="system")
    source_file: Mapped[str | None] = mapped_column(String(500))
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the normalised plan content
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"))
    code: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    deliverable: Mapped[str] = mapped_column(Text, default="")
    lead_text: Mapped[str] = mapped_column(Text, default="")
    coordinating_text: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date | None] = mapped_column(Date)
    deadline_text: Mapped[str] = mapped_column(String(300), default="")
    deadline_kind: Mapped[str | None] = mapped_column(String(16))  # date|ongoing|recurring
    recurrence: Mapped[str | None] = mapped_column(String(100))  # cron, committee local time
    recurrence_starts: Mapped[date | None] = mapped_column(Date)
    vice_chair_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.ACTIVE)
    source_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TaskUnit(Base):
    __tablename__ = "task_unit"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # lead|coordinating
    position: Mapped[int] = mapped_column(Integer, default=0)


class TaskDependency(Base):
    __tablename__ = "task_dependency"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True)


class WorkItem(Base):
    """One lead unit's share of a task (one occurrence for recurring tasks)."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("task_id", "unit_id", "occurrence"),
        Index("ix_work_item_open_deadline", "status", "deadline"),
        # the submissions waiting for verification, by submission time (escalation's
        # verification_pending rule); partial: only the few submitted items are in it
        Index("ix_work_item_submitted_at", "submitted_at", sqlite_where=text("status = 'submitted'"),
              postgresql_where=text("status = 'submitted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    occurrence: Mapped[str] = mapped_column(String(32), default="")  # "" or "2025", "2025-06"
    deadline: Mapped[date | None] = mapped_column(Date)  # the deadline in force
    original_deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=Status.NOT_STARTED)
    version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # on_time|late|unknown (imported history without a completion date)
    completion: Mapped[str | None] = mapped_column(String(16))
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    # last recorded timeliness (tracking flips): on_track|due_soon|overdue|...
    timeliness: Mapped[str | None] = mapped_column(String(32))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]

    task: Mapped[Task] = relationship()
    unit: Mapped[Unit] = relationship()


class ExtensionRequest(Base):
    __tablename__ = "extension_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    until: Mapped[date] = mapped_column(Date)
    previous_deadline: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.PENDING)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class PlanAdoption(Base):
    """A unit's own implementing plan registered against a parent plan."""

    __tablename__ = "plan_adoption"
    __table_args__ = (UniqueConstraint("parent_plan_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    child_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    document: Mapped[str | None] = mapped_column(String(300))
    issued_on: Mapped[date | None] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]


# --- indicators ------------------------------------------------------------------------


class Indicator(Base):
    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    name: Mapped[str] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(String(300))  # "Đến năm 2030"
    unit_of_measure: Mapped[str | None] = mapped_column(String(100))
    comparator: Mapped[str] = mapped_column(String(8))  # >=|<=|=|range|text
    target_low: Mapped[float | None] = mapped_column(Float)
    target_high: Mapped[float | None] = mapped_column(Float)
    target_text: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None] = mapped_column(Date)
    higher_is_better: Mapped[bool | None] = mapped_column(Boolean)
    reporting_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    created_at: Mapped[datetime]


class Measurement(Base):
    __tablename__ = "measurement"
    __table_args__ = (UniqueConstraint("indicator_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"))
    period: Mapped[str] = mapped_column(String(16))  # "2025-10", "2025-Q3", "2025"
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


# --- the log ---------------------------------------------------------------------------


class Event(Base):
    """Append-only, hash-chained record of every change."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_item_kind_at", "work_item_id", "kind", "at"),
        # reports: a plan's events of some kinds over a time range; each task's latest note
        Index("ix_event_plan_kind_at", "plan_id", "kind", "at"),
        Index("ix_event_task_kind_at", "task_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    percent: Mapped[float | None] = mapped_column(Float)
    deadline_before: Mapped[date | None] = mapped_column(Date)
    deadline_after: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class PendingEvent(Base):
    """PostgreSQL: an event whose place in the chain is taken when its transaction commits.

    A lifecycle action writes its event here (``engine.audit.append_event_at_commit``); the
    deferred constraint trigger ``event_pending_chain`` (migration 0008) then, inside COMMIT,
    locks the chain head, writes the event to ``event`` with the next id and its hash
    (sha256 of the previous hash, a newline and ``pre + id + post``) and deletes this row.
    So concurrent writers hold the head only while their commit runs, not from their append
    to their commit. Empty outside transactions; unused on SQLite. Same columns as ``Event``
    minus the chain's (no foreign keys here: ``event``'s are checked when the row moves)."""

    __tablename__ = "event_pending"

    pending_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    plan_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    percent: Mapped[float | None] = mapped_column(Float)
    deadline_before: Mapped[date | None] = mapped_column(Date)
    deadline_after: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the event's canonical text before and after its id (engine.audit.hashed_text_around_id)
    pre: Mapped[str] = mapped_column(Text)
    post: Mapped[str] = mapped_column(Text)


class ChainHead(Base):
    """Single row (id=1): the last event's id and hash. Locked to append."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger, default=0)


# --- reports ---------------------------------------------------------------------------


class ReportSnapshot(Base):
    """A generated periodic report: its full data (engine.reporting's dict) frozen as JSON.

    Re-rendering a snapshot reproduces the report exactly, whatever happened afterwards."""

    __tablename__ = "report_snapshot"
    __table_args__ = (Index("ix_report_snapshot_plan_period", "plan_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    kind: Mapped[str] = mapped_column(String(16))  # monthly|quarterly|semiannual|annual
    period: Mapped[str] = mapped_column(String(16))  # "2025-05", "2025-Q2", "2025-H1", "2025"
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    as_of: Mapped[date] = mapped_column(Date)
    cutoff_day: Mapped[int | None] = mapped_column(Integer)
    lang: Mapped[str] = mapped_column(String(8), default="vi")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical JSON of data
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime]


# --- roll-up across levels (engine.rollup) ------------------------------------------------


class RollupKey(Base):
    """A child unit's Ed25519 public key, trusted to sign the report snapshots it sends up
    (``steer keys trust UNIT FILE``, or the unit's ``signing_key`` in the directory file).
    ``public_key``: "ed25519:" + base64 of the 32 raw bytes."""

    __tablename__ = "rollup_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    public_key: Mapped[str] = mapped_column(String(100), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))  # first 16 hex digits of sha256(raw key)
    added_by: Mapped[str] = mapped_column(String(64), default="secretariat")
    added_at: Mapped[datetime]
    # replaced by another key of the unit (the directory's ``signing_key`` changed): kept so the
    # snapshots it signed stay verifiable, refused for new ones
    retired_at: Mapped[datetime | None]


class RollupSnapshot(Base):
    """A signed report snapshot received from a child unit, verified and accepted as sent.

    ``payload`` is the signed text exactly as received and ``signature`` its signature, so the
    row can be verified again later against the unit's key (``docs/rollup-snapshot.md``);
    ``digest`` the sha256 of the file's bytes. Colours are recomputed from it with this
    level's rules whenever the roll-up is shown."""

    __tablename__ = "rollup_snapshot"
    __table_args__ = (Index("ix_rollup_snapshot_unit_period", "unit_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    generated_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)  # the signed bytes (UTF-8 canonical JSON), exactly as received
    signature: Mapped[str] = mapped_column(String(200))  # base64 Ed25519 signature of ``payload``
    digest: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str] = mapped_column(String(64), default="secretariat")
    received_at: Mapped[datetime]


class ReadinessCriterion(Base):
    """One criterion of a readiness criteria set (``steer criteria load``): a unit is green on
    the set's view only when every criterion of the set is met (engine.criteria)."""

    __tablename__ = "readiness_criterion"
    __table_args__ = (UniqueConstraint("set_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_code: Mapped[str] = mapped_column(String(64))
    set_title: Mapped[str | None] = mapped_column(String(500))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # a criterion not required is shown but does not hold a unit back from green
    required: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class ReadinessRecord(Base):
    """A unit's criterion recorded met or not, with its evidence (the latest record counts)."""

    __tablename__ = "readiness_record"
    __table_args__ = (Index("ix_readiness_record_unit_criterion", "unit_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("readiness_criterion.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    met: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str | None] = mapped_column(Text)
    # an evidence file, kept as work items' evidence files are (engine.evidence: random name in
    # the upload folder's evidence/, sha256 recorded)
    file_stored_name: Mapped[str | None] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_content_type: Mapped[str | None] = mapped_column(String(200))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(64), default="secretariat")
    recorded_at: Mapped[datetime]


# --- escalation and notification delivery -----------------------------------------------


class OutboxMessage(Base):
    """One notification owed to one recipient: (work item, level, occurrence, recipient).

    Written by detection (``engine.escalation``) with ``INSERT … SELECT … ON CONFLICT DO
    NOTHING`` on ``dedupe_key``; delivered by ``notifications.delivery`` through the lease
    protocol of ``engine.outbox`` (pending → sending → sent | failed | pending again).
    Rows of one recipient claimed together share a ``batch_key``: one message, sent (and
    re-sent after a failure) under that key, which receivers can use to drop duplicates.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # Every index here is paid by each row detection writes (measured, 1M items: the
        # day's ~8,000 new rows cost more to write than to find). So there are few: the
        # claim (ix_outbox_due), the batch (partial, below) and the unique dedupe key, which
        # also serves, by ranges of its "{level}:{occurrence}:" prefix, detection's lookup of
        # a level's rows for a window of deadlines (engine.escalation, Rule.known) and the
        # acknowledgement's lookup of an item's rows for its deadline. When detection last
        # ran is kept in detection_run, not read off this table.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # a batch's rows (delivery); detection writes rows without one, which stay out of it
        Index("ix_outbox_batch_key", "batch_key", sqlite_where=text("batch_key IS NOT NULL"),
              postgresql_where=text("batch_key IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # PostgreSQL compares it bytewise (COLLATE "C"): the unique index's ranges of a prefix
    # are then exact whatever the database's collation, and each comparison is a memcmp
    # rather than a locale-aware strcoll (a large part of writing a row). SQLite's default
    # (BINARY) already is.
    dedupe_key: Mapped[str] = mapped_column(String(255).with_variant(String(255, collation="C"), "postgresql"),
                                            unique=True)
    level: Mapped[str] = mapped_column(String(32))  # remind_7|overdue|vice_chair|chair|weekly|...
    level_rank: Mapped[int] = mapped_column(Integer, default=0)
    occurrence: Mapped[str] = mapped_column(String(64))  # deadline, ISO week, request id, ...
    # the work item (None: a delivery-failure notice). Deliberately no foreign key (since
    # 0007): detection only writes ids it has just selected and work items are never deleted
    # (they are cancelled), while on PostgreSQL the key's check locks every referenced item
    # row (FOR KEY SHARE), which was a third of the cost of writing a day's rows (measured,
    # bench/escalation_scan.py, 1M items).
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)  # the deadline in force when detected
    recipient: Mapped[str] = mapped_column(String(100))  # "unit:SNV" | "person:chair"
    status: Mapped[str] = mapped_column(String(16), default="pending")  # engine.outbox.OutboxStatus
    not_before: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    batch_key: Mapped[str | None] = mapped_column(String(100))
    # fingerprints of the targets that already accepted this batch (skipped on a retry)
    delivered: Mapped[list[str] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # details (failure notices)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DetectionRun(Base):
    """One committed escalation detection pass (``engine.escalation.detect``): the instant it
    ran for, whether it was incremental, and how many outbox rows it wrote per rule. The
    next pass is incremental from the latest run at or before its own instant
    (``engine.escalation.last_run``)."""

    __tablename__ = "detection_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    today: Mapped[date] = mapped_column(Date)
    incremental: Mapped[bool] = mapped_column(Boolean)
    inserted: Mapped[int] = mapped_column(Integer)
    by_level: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeliveryAttempt(Base):
    """Every attempt to deliver one batch to one target (target URL redacted)."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_key: Mapped[str] = mapped_column(String(100), index=True)
    outbox_ids: Mapped[list[str]] = mapped_column(default=list)
    recipient: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(500))  # redacted: no password, token or query
    status: Mapped[str] = mapped_column(String(16))  # delivered|temporary|permanent
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    worker: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]


class EscalationAck(Base):
    """A recipient acknowledged an item's escalation: levels up to ``level_rank`` (and the
    weekly repeats) stop for that recipient while the deadline stays ``deadline``."""

    __tablename__ = "escalation_ack"
    __table_args__ = (UniqueConstraint("work_item_id", "recipient", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    recipient: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[date | None] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    acked_by: Mapped[str] = mapped_column(String(64))
    acked_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


# --- web accounts (engine.accounts) ---------------------------------------------------------


class Account(Base):
    """Login credentials of a directory person (the role and unit stay on ``person``)."""

    __tablename__ = "account"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Bumped by a logout: a web session remembers the value it began with and is void once
    # it differs (sessions live in a signed cookie; this is their server-side end).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginAttempt(Base):
    """Failed logins, per key ("user:<id>" or "ip:<address>"), for rate limiting across workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IcalFeed(Base):
    """The secret of a unit's iCalendar deadline feed; only its sha256 is stored."""

    __tablename__ = "ical_feed"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class EvidenceFile(Base):
    """A file uploaded as evidence for a work item (stored under a random name)."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    original_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
