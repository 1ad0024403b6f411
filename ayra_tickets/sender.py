"""Posting a webhook: one HTTP request over the standard library's ``http.client``.

The outbox, the claims and the retries are the services' (``ayra_tickets/webhooks.py``);
this module only makes the request and says what came of it (sync's pushes make theirs
with :func:`exchange` too). A redirect is not
followed: any answer but 2xx is a failure, retried on the schedule.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

USER_AGENT = "ayra-tickets-webhooks/1"
MAX_ANSWER = 64 * 1024
"""The most of a receiver's answer that is read (and then dropped)."""


@attrs.frozen
class Outcome:
    """What one attempt came to: the HTTP status, if an answer came, and what went
    wrong, if anything did."""

    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@attrs.frozen
class Reply:
    """What one request came to: the HTTP status, headers (names in lower case) and
    body, if an answer came; what went wrong, if anything did."""

    status: int | None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    error: str | None = None


def exchange(
    method: str,
    url: str,
    body: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
    *,
    limit: int = MAX_ANSWER,
) -> Reply:
    """Send one request to ``url`` and read at most ``limit`` bytes of its answer,
    waiting at most ``timeout`` seconds for the connection and for each read. A
    redirect is an answer like any other (not followed)."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn = kind(parts.hostname or "", parts.port, timeout=timeout)
    try:
        sent = {"User-Agent": USER_AGENT, **dict(headers)}
        conn.request(method, target, body=body, headers=sent)
        answer = conn.getresponse()
        read = answer.read(limit)
    except TimeoutError:
        return Reply(None, error=f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return Reply(None, error=f"{type(error).__name__}: {error}"[:500])
    finally:
        conn.close()
    named = {name.lower(): value for name, value in answer.getheaders()}
    failed = None if 200 <= answer.status < 300 else f"HTTP {answer.status} {answer.reason}"[:500]
    return Reply(answer.status, named, read, failed)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``url`` with ``headers``, waiting at most ``timeout`` seconds for
    the connection and for each read of the answer."""
    reply = exchange("POST", url, body, headers, timeout)
    return Outcome(reply.status, reply.error)
