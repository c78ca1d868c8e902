"""Leader election on a Lease, as client-go's ``leaderelection`` does it, so that two
replicas of fleet can run with one of them active.

A Lease (``coordination.k8s.io/v1``) in the management cluster names its holder, when it
was acquired and last renewed, for how long it holds, and how often it changed hands.
Every replica runs a `LeaderElector`; the one that holds the Lease leads, the others are
candidates. Four properties make it safe, all of them client-go's:

- **One winner.** A candidate writes the Lease only with the ``resourceVersion`` it read
  (``PUT``), or creates it when there is none (``POST``). Of two candidates that saw the
  same Lease, the API server lets exactly one write through and answers the other 409,
  which means "lost the race", not an error: it reads again and stays a candidate.
- **Local time only.** Other hosts' clocks are not trusted: the timestamps in the Lease
  are written for people, never compared. A candidate measures ``lease_duration`` on its
  own clock from the moment it last saw the Lease *change*, so clock offsets between
  hosts do not matter (only a difference in their rates, which the margin covers).
- **The leader steps down first.** A leader counts ``renew_deadline`` from the moment it
  *sent* its last successful renewal -- before anyone else could have seen that renewal
  -- and stops leading when it passes, even while a request still hangs: `lost()` fires
  on the clock, not on an answer. As ``renew_deadline < lease_duration``, it has stopped
  before any candidate may take over.
- **Release on shutdown** (``ReleaseOnCancel``). Leaving ``async with`` writes an empty
  ``holderIdentity`` and ``leaseDurationSeconds: 1`` (0 is invalid), so a candidate takes
  over at its next attempt instead of after ``lease_duration``. The runtime leaves the
  block only after the work the Lease guards has stopped; releasing earlier would let two
  replicas work at once.

An elector serves one term, like client-go's ``Run``: once it has stopped leading it does
not try again, and the runtime stops the controller (and exits, so that the pod comes back
as a new candidate). A renewal is one ``PUT`` of the object of the last write; only a
conflict makes it read the Lease first. The elector makes one attempt per retry period
itself, so the session that `session()` opens does not retry, and its requests time out
well within the renewal deadline. A failing API is logged once per change of its error
and tried again; nothing but opening the session raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import json
import logging
import random
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from prometheus_client import CollectorRegistry, Counter, Gauge

from fleet.clients import inventories, requesting
from fleet.clients.inventories import Access
from fleet.clients.metering import ClientMetrics, Verb
from fleet.clients.requesting import JSON, ApiSession, Call
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.objects import ClusterName
from fleet.structs.settings import RETRY_JITTER, ClientSettings, LeaderSettings

logger = logging.getLogger("fleet.clients")

MANAGEMENT = ClusterName("management")
"""The management cluster's name in messages and log lines."""

API_VERSION = "coordination.k8s.io/v1"
RELEASED_DURATION = 1
"""``leaseDurationSeconds`` of a released Lease: the API server refuses 0."""
ATTEMPT_ROUNDS = 2
"""Reads and writes in one attempt: a write that meets a conflict reads again once."""


class Standing(StrEnum):
    """Where an elector is in its one term."""

    CANDIDATE = "candidate"
    LEADING = "leading"
    LOST = "lost"
    """It led, then could not renew in time or saw another holder."""
    STOPPED = "stopped"
    """It was closed (and released the Lease if it led)."""


class Change(StrEnum):
    """The changes of leadership that ``fleet_leader_transitions`` counts."""

    ACQUIRED = "acquired"
    LOST = "lost"
    RELEASED = "released"


class _Outcome(StrEnum):
    HELD = "held"
    """This process holds the Lease, as of a write that just succeeded."""
    TAKEN = "taken"
    """Another holder's Lease that has not expired."""
    FAILED = "failed"
    """No answer, an error, or a Lease that kept changing: try again later."""


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What a Lease's spec says about its holder (client-go's ``LeaderElectionRecord``).

    Times stay the text the API holds (MicroTime): they are compared only for change.
    """

    holder: str = ""
    duration: int | None = None
    acquired: str | None = None
    renewed: str | None = None
    transitions: int = 0

    @classmethod
    def of(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        """The record of a Lease as the API returned it; what is missing or malformed
        counts as unset, as in client-go."""
        spec = lease.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        holder, duration, transitions = (
            spec.get("holderIdentity"), spec.get("leaseDurationSeconds"),
            spec.get("leaseTransitions"))  # fmt: skip
        return cls(
            holder=holder if isinstance(holder, str) else "",
            duration=duration if _integer(duration) else None,
            acquired=_text(spec.get("acquireTime")),
            renewed=_text(spec.get("renewTime")),
            transitions=transitions if _integer(transitions) else 0,
        )

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"holderIdentity": self.holder, "leaseTransitions": self.transitions}
        if self.duration is not None:
            spec["leaseDurationSeconds"] = self.duration
        if self.acquired is not None:
            spec["acquireTime"] = self.acquired
        if self.renewed is not None:
            spec["renewTime"] = self.renewed
        return spec


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def micro_time(moment: datetime.datetime) -> str:
    """A time as the API writes a MicroTime: ``2030-01-01T00:00:02.000000Z``."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    """client-go's convention: the host name (in a pod, the pod's name) and a random
    suffix, so that a restarted process is a new candidate."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class LeaderMetrics:
    """The metrics of leader election, on the registry the caller passes in (once per
    registry: every elector of a process shares them)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "fleet_leader",
            "1 while this process leads (holds the Lease), else 0.",
            registry=registry,
        )
        self.transitions = Counter(
            "fleet_leader_transitions",
            "This process's changes of leadership: acquired; lost (not renewed within the"
            " renew deadline, or another holder); released (on shutdown).",
            ["change"],
            registry=registry,
        )
        for change in Change:  # zeros from the start, so rate() and alerts see them
            self.transitions.labels(change)


@contextlib.asynccontextmanager
async def session(
    settings: LeaderSettings,
    *,
    clients: ClientSettings,
    clock: Clock,
    rng: random.Random | None = None,
) -> AsyncIterator[ApiSession]:
    """A session to the management cluster: ``settings.kubeconfig`` (and ``context``), or
    the in-cluster service account when there is none.

    `UserError` naming the kubeconfig (or in-cluster access) when it cannot be used. Its
    requests are counted on a registry of their own, not in ``fleet_api_requests``: the
    management cluster is not one of the fleet's clusters, and its name could be one of
    theirs.
    """
    where = "leader election"
    if settings.kubeconfig is None:
        access = Access.inside()
    else:
        where = f"leader.kubeconfig {settings.kubeconfig}"
        try:
            access = await asyncio.to_thread(
                inventories.kubeconfig_access, settings.kubeconfig, settings.context
            )
        except errors.UserError as error:
            raise errors.UserError(error.message, where=where) from None
    tuned = dataclasses.replace(
        clients,
        retries=0,  # the elector tries again itself, every retry period
        request_timeout=min(clients.request_timeout, settings.renew_deadline / 2),
    )
    try:
        api = await requesting.open_session(
            MANAGEMENT,
            access,
            settings=tuned,
            clock=clock,
            rng=rng or random.Random(),  # noqa: S311 -- jitter, not secrecy
            metrics=ClientMetrics(CollectorRegistry()),
        )
    except errors.ClusterError as error:
        raise errors.UserError(error.message, where=where) from None
    try:
        yield api
    finally:
        await api.close()


class LeaderElector:
    """One process's candidacy for the Lease, for one term; use as ``async with``.

    Entering starts the task that acquires and then renews the Lease; leaving stops it and
    releases the Lease if this process leads. Between the two, `acquired()` returns once
    this process leads and `lost()` once it has stopped leading.
    """

    def __init__(
        self,
        api: ApiSession,
        *,
        settings: LeaderSettings,
        clock: Clock,
        metrics: LeaderMetrics,
        identity: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.identity = identity or settings.identity or default_identity()
        self.lease = f"{settings.namespace}/{settings.lease_name}"
        self.standing = Standing.CANDIDATE
        self.record: LeaseRecord | None = None
        """The Lease's record as last read or written."""
        self._clock = clock
        self._metrics = metrics
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not secrecy
        collection = f"/apis/{API_VERSION}/namespaces/{settings.namespace}/leases"
        self._collection = collection
        self._path = f"{collection}/{settings.lease_name}"
        self._object: dict[str, Any] | None = None  # last read or written: its resourceVersion
        self._observed = 0.0  # when the record last changed, on this process's clock
        self._renewed = 0.0  # when the last successful write was sent
        self._led = False
        self._trouble: str | None = None
        # Plain counts, for tests and the repr, as `ClusterMeter` keeps them.
        self.attempts = 0
        """Attempts to acquire or renew that have ended, whatever their outcome."""
        self.conflicts = 0
        """Writes the API server refused with 409: another writer came first."""
        self.attempting = False
        """Whether an attempt is waiting for the API server now."""
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        metrics.leader.set(0)

    # -- lifetime --------------------------------------------------------------------

    async def __aenter__(self) -> LeaderElector:
        self._task = asyncio.create_task(self._run(), name=f"leader election {self.lease}")
        self._task.add_done_callback(self._ended)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop trying to acquire or renew; release the Lease if this process holds it."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        if self.standing is Standing.STOPPED:
            return
        leading = self.standing is Standing.LEADING
        released = self._led and await self._release()
        if leading:
            self._metrics.transitions.labels(Change.RELEASED).inc()
            if released:
                logger.info("leader election: %s released the Lease %s", self.identity, self.lease)
        self._move(Standing.STOPPED)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        logger.error(
            "leader election for the Lease %s failed", self.lease, exc_info=task.exception()
        )
        if self.standing is Standing.LEADING:
            self._lose("leader election failed")
        elif self.standing is Standing.CANDIDATE:
            self._move(Standing.STOPPED)

    # -- what the runtime asks -----------------------------------------------------------

    @property
    def leading(self) -> bool:
        return self.standing is Standing.LEADING

    @property
    def holder(self) -> str | None:
        """Who holds the Lease as last seen: an identity, "" when released, None unread."""
        return self.record.holder if self.record is not None else None

    async def acquired(self) -> None:
        """Return once this process leads (at once if it has led in this term).

        `FleetError` if the elector stopped before this process led.
        """
        while self.standing is Standing.CANDIDATE:
            await self._moved.wait()
        if not self._led:
            raise errors.FleetError(
                f"leader election for the Lease {self.lease} ended before this process led"
            )

    async def lost(self) -> None:
        """Return once this process does not lead and will not in this term: it could not
        renew in time, another holder took the Lease, or the elector stopped."""
        while self.standing in (Standing.CANDIDATE, Standing.LEADING):
            await self._moved.wait()

    # -- the term ------------------------------------------------------------------------

    async def _run(self) -> None:
        logger.info(
            "leader election: %s is a candidate for the Lease %s", self.identity, self.lease
        )
        while await self._attempt() is not _Outcome.HELD:
            delay = self.settings.retry_period * (1.0 + self._rng.random() * RETRY_JITTER)
            await self._clock.sleep(delay)
        self._led = True
        self._move(Standing.LEADING)
        self._metrics.transitions.labels(Change.ACQUIRED).inc()
        logger.info(
            "leader election: %s leads (Lease %s, %d transitions)",
            self.identity, self.lease, self.record.transitions if self.record else 0,
        )  # fmt: skip
        while True:
            await self._clock.sleep(self.settings.retry_period)
            deadline = self._renewed + self.settings.renew_deadline
            try:
                async with self._clock.timeout(max(deadline - self._clock.now(), 0.0)):
                    while (outcome := await self._attempt()) is _Outcome.FAILED:
                        await self._clock.sleep(self.settings.retry_period)
            except TimeoutError:
                deadline_s = self.settings.renew_deadline
                self._lose(f"not renewed within the renew deadline ({deadline_s:g} s)")
                return
            if outcome is _Outcome.TAKEN:
                self._lose(f"{self.holder} holds it now")
                return

    def _lose(self, why: str) -> None:
        self._move(Standing.LOST)
        self._metrics.transitions.labels(Change.LOST).inc()
        logger.warning(
            "leader election: %s stopped leading (Lease %s): %s", self.identity, self.lease, why
        )

    def _move(self, standing: Standing) -> None:
        self.standing = standing
        self._metrics.leader.set(1 if standing is Standing.LEADING else 0)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    # -- one attempt: client-go's tryAcquireOrRenew ---------------------------------------

    async def _attempt(self) -> _Outcome:
        self.attempting = True
        try:
            return await self._try_acquire_or_renew()
        finally:
            self.attempting = False
            self.attempts += 1

    async def _try_acquire_or_renew(self) -> _Outcome:
        """Acquire or renew the Lease once (a read and a write at most, per round)."""
        sent = self._clock.now()
        # A leader renews what it wrote last, without reading first.
        lease = self._object if self.standing is Standing.LEADING else None
        try:
            for _ in range(ATTEMPT_ROUNDS):
                if lease is None:
                    lease = await self._get()
                if lease is not None:
                    self._observe(lease)
                    if not self._may_take():
                        self._recovered()
                        return _Outcome.TAKEN
                try:
                    written = await (self._create() if lease is None else self._update(lease))
                except errors.ApiError as error:
                    if error.code != 409:
                        raise
                    self.conflicts += 1
                    lease = None  # someone wrote first (or created it): read, and decide again
                    continue
                self._observe(written)
                self._renewed = sent
                self._recovered()
                return _Outcome.HELD
        except errors.ClusterError as error:
            self._troubled(str(error), hint=_hint(error))
            return _Outcome.FAILED
        self._troubled(f"the Lease {self.lease} changed under every attempt to write it")
        return _Outcome.FAILED

    def _may_take(self) -> bool:
        record = self.record
        if record is None or not record.holder or record.holder == self.identity:
            return True
        duration = record.duration if record.duration and record.duration > 0 else None
        held_for = duration or self.settings.lease_duration
        return self._clock.now() >= self._observed + held_for

    def _observe(self, lease: dict[str, Any]) -> None:
        self._object = lease
        record = LeaseRecord.of(lease)
        if record == self.record:
            return
        if record.holder != self.holder and record.holder not in ("", self.identity):
            logger.info("leader election: the Lease %s is held by %s", self.lease, record.holder)
        self.record = record
        self._observed = self._clock.now()

    def _claim(self) -> LeaseRecord:
        """The record this process writes to acquire or renew the Lease."""
        now = micro_time(self._clock.utcnow())
        old = self.record
        duration = self.settings.lease_duration
        if old is not None and old.holder == self.identity:
            return LeaseRecord(self.identity, duration, old.acquired or now, now, old.transitions)
        transitions = old.transitions + 1 if old is not None else 0
        return LeaseRecord(self.identity, duration, now, now, transitions)

    async def _release(self) -> bool:
        """Hand the Lease back, if the last record says this process holds it."""
        if self._object is None or self.record is None or self.record.holder != self.identity:
            return False
        now = micro_time(self._clock.utcnow())
        record = LeaseRecord("", RELEASED_DURATION, now, now, self.record.transitions)
        try:
            async with self._clock.timeout(self.settings.renew_deadline):
                written = await self._update(self._object, record)
        except (errors.ClusterError, TimeoutError) as error:
            logger.warning(
                "leader election: %s could not release the Lease %s; the others take over"
                " after %d s: %s",
                self.identity, self.lease, self.settings.lease_duration,
                error if isinstance(error, errors.ClusterError) else "no answer in time",
            )  # fmt: skip
            return False
        self._observe(written)
        return True

    # -- requests --------------------------------------------------------------------------

    async def _get(self) -> dict[str, Any] | None:
        call = Call(Verb.GET, "GET", self._path, what=f"get of Lease {self.lease}", safe=True)
        try:
            return await self.api.call(call)
        except errors.ApiError as error:
            if error.code == 404:
                return None
            raise

    async def _create(self) -> dict[str, Any]:
        metadata = {"name": self.settings.lease_name, "namespace": self.settings.namespace}
        body = {"apiVersion": API_VERSION, "kind": "Lease", "metadata": metadata,
                "spec": self._claim().spec()}  # fmt: skip
        return await self._write(Verb.CREATE, "POST", self._collection, body)

    async def _update(
        self, lease: dict[str, Any], record: LeaseRecord | None = None
    ) -> dict[str, Any]:
        # The object as read, so its metadata.resourceVersion makes the write conditional.
        body = {**lease, "spec": (record or self._claim()).spec()}
        return await self._write(Verb.UPDATE, "PUT", self._path, body)

    async def _write(
        self, verb: Verb, method: str, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        what = f"{verb} of Lease {self.lease}"
        data = json.dumps(body, separators=(",", ":")).encode()
        return await self.api.call(
            Call(verb, method, path, what=what, body=data, content_type=JSON)
        )

    # -- trouble, logged once per change ---------------------------------------------------

    def _troubled(self, message: str, *, hint: str = "") -> None:
        if message != self._trouble:
            self._trouble = message
            logger.warning("leader election: %s%s", message, hint)

    def _recovered(self) -> None:
        if self._trouble is not None:
            self._trouble = None
            logger.info("leader election: the Lease %s can be read and written again", self.lease)

    def __repr__(self) -> str:
        holder = (self.holder or "nobody") if self.record is not None else "unread"
        return (
            f"LeaderElector({self.lease} as {self.identity}, {self.standing}, held by {holder},"
            f" {self.attempts} attempts, {self.conflicts} conflicts)"
        )


def _hint(error: errors.ClusterError) -> str:
    if isinstance(error, errors.ApiError) and error.code == 403:
        return (
            " (fleet's Role must grant get, create and update on this Lease:"
            " deploy/kubernetes/10-rbac.yaml)"
        )
    return ""
