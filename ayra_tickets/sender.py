"""Posting a webhook: one HTTP request over the standard library's ``http.client``.

The outbox, the claims and the retries are the services' (``ayra_tickets/webhooks.py``);
this module only makes the request and says what came of it. A redirect is not
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


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``url`` with ``headers``, waiting at most ``timeout`` seconds for
    the connection and for each read of the answer."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn = kind(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", target, body=body, headers={"User-Agent": USER_AGENT, **dict(headers)})
        answer = conn.getresponse()
        answer.read(MAX_ANSWER)
    except TimeoutError:
        return Outcome(None, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])
    finally:
        conn.close()
    if 200 <= answer.status < 300:
        return Outcome(answer.status)
    return Outcome(answer.status, f"HTTP {answer.status} {answer.reason}"[:500])
