"""``ayra-tickets webhooks``: subscriptions set from the command line or a JSON file,
deliveries listed, sent and redelivered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_cli import Cli
from tests.receiver import Receiver, receiving


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "tickets.db")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


def test_subscribe_shows_the_secret_once_and_list_never(run: Cli, receiver: Receiver) -> None:
    made = run.json("webhooks", "subscribe", receiver.url, "--event", "ticket.created")
    assert made["secret"].startswith("whsec_")
    assert made["events"] == ["ticket.created"]
    listed = run.json("webhooks", "list")["data"]
    assert listed == [{k: v for k, v in made.items() if k != "secret"}]


def test_deliveries_are_sent_listed_and_redelivered(run: Cli, receiver: Receiver) -> None:
    run.json("webhooks", "subscribe", receiver.url, "--secret", "whsec_0123456789abcdef")
    ticket = run.create()
    (pending,) = run.json("webhooks", "deliveries", "--status", "pending")["data"]
    assert (pending["event"], pending["ticket_id"]) == ("ticket.created", ticket["id"])
    assert run.json("webhooks", "send") == {"attempted": 1}
    assert run.json("webhooks", "deliveries", "--status", "pending")["data"] == []
    again = run.json("webhooks", "redeliver", pending["id"])
    assert (again["id"], again["status"]) == (pending["id"], "pending")
    run.json("webhooks", "send")
    assert receiver.ids() == [pending["id"], pending["id"]]


def test_set_takes_the_subscriptions_from_a_json_file(
    run: Cli, receiver: Receiver, tmp_path: Path
) -> None:
    config = tmp_path / "webhooks.json"
    config.write_text(json.dumps([{"url": receiver.url, "events": ["ticket.closed"]}]))
    (made,) = run.json("webhooks", "set", str(config))["data"]
    assert made["url"] == receiver.url
    assert "secret" in made
    (kept,) = run.json("webhooks", "set", str(config))["data"]  # no secret named: kept as is
    assert kept["id"] == made["id"]
    assert "secret" not in kept
    config.write_text("[{")
    result = run("webhooks", "set", str(config))
    assert result.exit_code == 1
    assert "is not a JSON file" in result.output
    config.write_text(json.dumps([{"url": "gopher://x"}]))
    assert "webhook 0: url must start" in run.error("webhooks", "set", str(config))["message"]


def test_a_bad_url_is_the_apis_validation_error(run: Cli) -> None:
    error = run.error("webhooks", "subscribe", "nowhere")
    assert (error["code"], error["param"]) == ("parameter_invalid", "url")
    assert run.json("webhooks", "list") == {"data": []}
