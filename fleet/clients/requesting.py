"""One cluster's HTTP: a session, a rate limit, a timeout on every call, safe retries.

Every request to a cluster goes through its `ApiSession`: one aiohttp session (one
connection pool) per cluster for its whole life, never one per call, so a thousand
clusters cost a thousand pools, not a pool per request. Each request first takes a
token from the cluster's bucket (qps and burst), and has a deadline of real time --
never the injected clock, which must not cut real I/O short in a test.

Retries are decided by what a repeat could do. A request that reached the server may
have taken effect, so only requests that are safe to repeat (`Call.safe`: reads, watch
starts, server-side apply, a delete with a uid precondition) are retried after a
connection failure or a 5xx; a 429 is retried for every request, since the server
refused it before doing anything, and the wait is at least its ``Retry-After``.

Answers are checked here, explicitly: anything but 2xx becomes an `ApiError` carrying
the server's `Status` (code, reason, message, causes). Requests that got no answer
become a `ClusterError`. Both name the cluster and the request, never a credential.
Every outcome also updates the cluster's `ConnectionState` and the request counters.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from fleet import __version__
from fleet.clients import connecting, throttling
from fleet.clients.connecting import Endpoint
from fleet.clients.inventories import Access
from fleet.clients.metering import ClientMetrics, ClusterMeter, Verb
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.kube import ConnectionPhase, ConnectionState
from fleet.structs.objects import ClusterName
from fleet.structs.settings import ClientSettings

logger = logging.getLogger("fleet.clients")

APPLY_PATCH = "application/apply-patch+yaml"
JSON = "application/json"
USER_AGENT = f"fleet/{__version__}"
READ_BUFFER = 2**21
"""Bytes aiohttp may buffer for one line of a watch: objects may be up to 1.5 MiB (etcd)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request: what it is for (``what``, in messages), and whether it may be repeated."""

    verb: Verb
    method: str
    path: str
    what: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    safe: bool = False


class Connection:
    """A cluster's `ConnectionState`, moved by the outcome of every request."""

    def __init__(self, cluster: ClusterName, *, clock: Clock, meter: ClusterMeter) -> None:
        self._cluster = cluster
        self._clock = clock
        self.meter = meter
        self.state = ConnectionState(ConnectionPhase.CONNECTING, clock.utcnow())

    def succeeded(self) -> None:
        if self.state.phase is not ConnectionPhase.READY:
            logger.info("cluster %s: ready", self._cluster, extra={"cluster": self._cluster})
            self._move(ConnectionState(ConnectionPhase.READY, self._clock.utcnow()))

    def failed(self, message: str) -> None:
        state = self.state
        if state.phase is not ConnectionPhase.UNREACHABLE:
            logger.warning(
                "cluster %s: unreachable: %s", self._cluster, message,
                extra={"cluster": self._cluster},
            )  # fmt: skip
            since = self._clock.utcnow()
        else:
            since = state.since
        self._move(ConnectionState(ConnectionPhase.UNREACHABLE, since, message, state.failures + 1))

    def _move(self, state: ConnectionState) -> None:
        if state.phase is not self.state.phase:
            self.meter.phase(state.phase)
        self.state = state

    def __repr__(self) -> str:
        return f"Connection({self._cluster}, {self.state.phase}, failures={self.state.failures})"


class ApiSession:
    """Requests to one cluster, through one aiohttp session, within its rate limit."""

    def __init__(
        self,
        cluster: ClusterName,
        *,
        endpoint: Endpoint,
        settings: ClientSettings,
        clock: Clock,
        rng: random.Random,
        meter: ClusterMeter,
    ) -> None:
        self.cluster = cluster
        self.endpoint = endpoint
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self.meter = meter
        self.connection = Connection(cluster, clock=clock, meter=meter)
        self.bucket = throttling.TokenBucket(qps=settings.qps, burst=settings.burst, clock=clock)
        # No connection limit: watches hold one connection each for minutes, and a cap
        # would let them starve the cluster's other requests; the bucket bounds the rest.
        connector = aiohttp.TCPConnector(limit=0, ssl=endpoint.tls or True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT, "Accept": JSON},
            read_bufsize=READ_BUFFER,
            trust_env=False,  # the endpoint has the proxy already (and .netrc is no source)
        )
        self._timeout = aiohttp.ClientTimeout(total=settings.request_timeout)

    async def close(self) -> None:
        await self._session.close()

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def call(self, call: Call) -> dict[str, Any]:
        """Send ``call`` (retrying where safe); return the JSON object of the answer."""
        backoff = throttling.retrying(self._settings, self._rng)
        while True:
            try:
                return await self._once(call)
            except errors.ClusterError as error:
                if backoff.failures >= self._settings.retries or not self._retryable(call, error):
                    raise
                asked = error.retry_after if isinstance(error, errors.ApiError) else None
                delay = max(backoff.next(), asked or 0.0)
                logger.info(
                    "cluster %s: %s failed (%s); retrying in %.1f s",
                    self.cluster, call.what, error.message, delay,
                    extra={"cluster": self.cluster},
                )  # fmt: skip
                await self._clock.sleep(min(delay, self._settings.retry_max))

    @staticmethod
    def _retryable(call: Call, error: errors.ClusterError) -> bool:
        if isinstance(error, errors.ApiError):
            return error.code == 429 or (call.safe and error.code >= 500)
        return call.safe

    async def _once(self, call: Call) -> dict[str, Any]:
        await self.bucket.acquire()
        started = self._clock.now()
        try:
            async with self._session.request(
                call.method,
                self.endpoint.server + call.path,
                params=call.params,
                data=call.body,
                headers=await self._headers(call),
                timeout=self._timeout,
                proxy=self.endpoint.proxy,
                server_hostname=self.endpoint.server_hostname,
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise self._no_answer(call, error, started) from None
        self.meter.request(call.verb, response.status, self._clock.now() - started)
        if response.status >= 300:
            raise self._refused(call, response, body)
        self.connection.succeeded()
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise errors.ClusterError(
                f"{call.what}: the answer is not a JSON object", cluster=self.cluster
            )
        return answer

    @contextlib.asynccontextmanager
    async def watch(self, call: Call, *, seconds: float) -> AsyncIterator[AsyncIterator[Any]]:
        """Open a watch stream (server timeout ``seconds``); yield its decoded events.

        The stream may end cleanly (the server's timeout) or raise `ClusterError` when it
        is cut; the caller decides what either means. Not retried here: informers back off.
        """
        await self.bucket.acquire()
        started = self._clock.now()
        timeout = aiohttp.ClientTimeout(
            total=seconds + self._settings.request_timeout,
            sock_connect=self._settings.request_timeout,
        )
        try:
            response = await self._session.request(
                call.method,
                self.endpoint.server + call.path,
                params=call.params,
                headers=await self._headers(call),
                timeout=timeout,
                proxy=self.endpoint.proxy,
                server_hostname=self.endpoint.server_hostname,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise self._no_answer(call, error, started) from None
        async with response:
            self.meter.request(call.verb, response.status, self._clock.now() - started)
            if response.status != 200:
                try:
                    body = await response.read()
                except (aiohttp.ClientError, TimeoutError, OSError):
                    body = b""
                raise self._refused(call, response, body)
            self.connection.succeeded()
            self.meter.watch_opened()
            events = self._events(call, response)
            try:
                yield events
            finally:
                self.meter.watch_closed()
                await events.aclose()  # not left to the garbage collector's own task

    async def _events(
        self, call: Call, response: aiohttp.ClientResponse
    ) -> AsyncGenerator[Any, None]:
        try:
            async for line in response.content:
                if line.strip():
                    yield json.loads(line)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            raise errors.ClusterError(
                f"{call.what} was cut: {_describe(error)}", cluster=self.cluster
            ) from None

    async def _headers(self, call: Call) -> dict[str, str]:
        headers = {}
        authorization = await self.endpoint.authorization()
        if authorization:
            headers["Authorization"] = authorization
        if call.content_type:
            headers["Content-Type"] = call.content_type
        return headers

    def _no_answer(self, call: Call, error: BaseException, started: float) -> errors.ClusterError:
        self.meter.request(call.verb, None, self._clock.now() - started)
        message = f"{call.what}: no answer from {self.endpoint.shown}: {_describe(error)}"
        self.connection.failed(message)
        return errors.ClusterError(message, cluster=self.cluster)

    def _refused(
        self, call: Call, response: aiohttp.ClientResponse, body: bytes
    ) -> errors.ApiError:
        error = api_error(
            call.what, cluster=self.cluster, code=response.status, body=body,
            phrase=response.reason or "",
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )  # fmt: skip
        # An answer means the server is there; but one that refuses fleet's credentials or
        # fails inside says the cluster cannot be worked with, which is what people need.
        if response.status == 401 or response.status >= 500:
            self.connection.failed(f"{call.what}: {error.code} {error.reason}: {error.message}")
        else:
            self.connection.succeeded()
        return error

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else self.connection.state.phase
        return f"ApiSession({self.cluster} at {self.endpoint.shown}, {state})"


async def open_session(
    name: ClusterName,
    access: Access,
    *,
    settings: ClientSettings,
    clock: Clock,
    rng: random.Random,
    metrics: ClientMetrics,
) -> ApiSession:
    """Load ``access`` and open a session to its cluster (the caller closes it);
    `ClusterError` naming the cluster if the access cannot be used."""
    endpoint = await connecting.connect(name, access, clock=clock)
    meter = ClusterMeter(metrics, name)  # only now: a cluster that cannot connect has no series
    return ApiSession(name, endpoint=endpoint, settings=settings, clock=clock, rng=rng, meter=meter)


def api_error(
    what: str,
    *,
    cluster: str,
    code: int,
    body: bytes | dict[str, Any],
    phrase: str = "",
    retry_after: float | None = None,
) -> errors.ApiError:
    """The `ApiError` for a refusal: from the server's `Status` when the body is one."""
    status: Any = body
    if isinstance(body, bytes):
        try:
            status = json.loads(body)
        except ValueError:
            status = None
    if not isinstance(status, dict) or status.get("kind") != "Status":
        return errors.ApiError(
            f"{what}: HTTP {code} {phrase}".rstrip(), cluster=cluster, code=code,
            reason=phrase.replace(" ", "") or "Unknown", retry_after=retry_after,
        )  # fmt: skip
    causes = []
    for cause in (status.get("details") or {}).get("causes") or []:
        if isinstance(cause, dict):
            text = str(cause.get("message") or cause.get("reason") or "")
            causes.append(f"{cause['field']}: {text}" if cause.get("field") else text)
    return errors.ApiError(
        f"{what}: {status.get('message') or phrase or 'refused'}",
        cluster=cluster,
        code=int(status.get("code") or code),
        reason=str(status.get("reason") or phrase.replace(" ", "") or "Unknown"),
        causes=tuple(causes),
        retry_after=retry_after,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: API servers send seconds, and a retry backs off anyway


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
