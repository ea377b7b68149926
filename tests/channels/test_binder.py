"""channel_bindings: one binding per external record, reads never go back in time, each state pushed once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shopsync.channels import binder
from shopsync.transport.api_client import RemoteError, RemoteRejected

SHOP, CHANNEL = "demo", "prom"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _bind(engine, internal_id=1, external_id="1001", entity="order"):
    with engine.begin() as conn:
        return binder.bind(conn, SHOP, CHANNEL, entity, internal_id, external_id)


def _reload(engine, binding):
    with engine.connect() as conn:
        return binder.find(conn, SHOP, CHANNEL, binding.entity, external_id=binding.external_id)


def test_binding_the_same_external_record_twice_gives_the_one_binding(engine):
    first, again = _bind(engine), _bind(engine)
    assert first.id == again.id and (again.internal_id, again.external_id) == (1, "1001")
    with engine.connect() as conn:
        assert binder.find(conn, SHOP, CHANNEL, "order", internal_id=1).id == first.id
        assert binder.find(conn, SHOP, "rozetka", "order", external_id="1001") is None


def test_one_internal_record_cannot_be_bound_to_two_external_ones(engine):
    _bind(engine)
    with pytest.raises(sa.exc.IntegrityError, match="channel_bindings_one_per_internal"):
        _bind(engine, internal_id=1, external_id="1002")


def test_a_read_older_than_the_last_one_does_not_undo_it(engine):
    binding = _bind(engine)
    with engine.begin() as conn:
        assert binder.record_seen(conn, binding, "received", T0 + timedelta(minutes=5))
        assert not binder.record_seen(conn, binding, "pending", T0)            # listed again from an older page
        assert binder.record_seen(conn, binding, "delivered", None)           # no time given: taken, time kept
    seen = _reload(engine, binding)
    assert (seen.external_status, seen.external_changed_at) == ("delivered", T0 + timedelta(minutes=5))


class Channel:
    """What the channel has been sent, and what it shows."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.shows: dict | None = None
        self.fail_with: Exception | None = None

    def send(self, state: dict) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(state)
        self.shows = state

    def already_there(self, state: dict) -> bool:
        return self.shows == state


def test_a_state_is_pushed_once_and_again_only_when_it_changes(engine):
    channel, binding = Channel(), _bind(engine)
    received = {"status": "received"}

    assert binder.push_once(engine, binding, received, send=channel.send, already_there=channel.already_there) \
        == "pushed"
    binding = _reload(engine, binding)
    assert binder.push_once(engine, binding, dict(received), send=channel.send,
                            already_there=channel.already_there) == "unchanged"
    shipped = {"status": "received", "declaration_id": "20450012345678"}
    assert binder.push_once(engine, binding, shipped, send=channel.send, already_there=channel.already_there) \
        == "pushed"
    assert channel.sent == [received, shipped]


def test_a_push_killed_before_its_record_is_recognised_not_sent_again(engine):
    channel, binding = Channel(), _bind(engine)
    state = {"status": "received"}

    class Killed(BaseException):
        pass

    def send_then_die(sent: dict) -> None:
        channel.send(sent)
        raise Killed                                    # the process dies between the call and its record

    with pytest.raises(Killed):
        binder.push_once(engine, binding, state, send=send_then_die, already_there=channel.already_there)
    binding = _reload(engine, binding)
    assert binding.pending_hash == binder.state_hash(state) and binding.pushed_hash is None

    assert binder.push_once(engine, binding, state, send=channel.send, already_there=channel.already_there) \
        == "recognised"
    assert channel.sent == [state]                      # the channel saw it once
    assert _reload(engine, binding).pushed_hash == binder.state_hash(state)


def test_a_push_killed_before_the_channel_got_it_is_sent_on_the_next_run(engine):
    channel, binding = Channel(), _bind(engine)
    channel.fail_with = RemoteError("prom: POST /orders/set_status timed out after 30 s")
    state = {"status": "received"}
    with pytest.raises(RemoteError):
        binder.push_once(engine, binding, state, send=channel.send, already_there=channel.already_there)
    binding = _reload(engine, binding)
    assert (binding.attempts, binding.last_error) == (1, "prom: POST /orders/set_status timed out after 30 s")

    channel.fail_with = None
    assert binder.push_once(engine, binding, state, send=channel.send, already_there=channel.already_there) \
        == "pushed"
    assert channel.sent == [state] and _reload(engine, binding).attempts == 0


def test_a_refused_state_is_not_sent_again_until_it_changes(engine):
    channel, binding = Channel(), _bind(engine)
    channel.fail_with = RemoteRejected("rozetka: PUT /orders/1001: ttn is required for status 61")
    state = {"status": 61}
    assert binder.push_once(engine, binding, state, send=channel.send, already_there=channel.already_there) \
        == "refused"
    binding = _reload(engine, binding)
    assert binder.push_once(engine, binding, state, send=channel.send, already_there=channel.already_there) \
        == "refused"
    assert _reload(engine, binding).attempts == 1        # the second run did not call the channel

    channel.fail_with = None
    with_ttn = {"status": 61, "ttn": "20450012345678"}
    assert binder.push_once(engine, binding, with_ttn, send=channel.send, already_there=channel.already_there) \
        == "pushed"
    assert _reload(engine, binding).last_error is None


def test_two_pushers_of_one_shop_and_channel_never_run_at_once(engine):
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with binder.channel_push_lock(engine, SHOP, CHANNEL):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(10)
        with pytest.raises(binder.ChannelBusy, match="another run is pushing statuses to prom"):
            with binder.channel_push_lock(engine, SHOP, CHANNEL):
                pass
        with binder.channel_push_lock(engine, SHOP, "rozetka"):      # another channel is free
            pass
    finally:
        release.set()
        holder.join()
    with binder.channel_push_lock(engine, SHOP, CHANNEL):           # released with its holder
        pass


def test_a_cursor_moves_forward_only(engine):
    with engine.begin() as conn:
        assert binder.read_cursor(conn, SHOP, CHANNEL, "orders") is None
        binder.move_cursor(conn, SHOP, CHANNEL, "orders", T0 + timedelta(hours=1))
        binder.move_cursor(conn, SHOP, CHANNEL, "orders", T0)                   # a slower run finishing late
        assert binder.read_cursor(conn, SHOP, CHANNEL, "orders") == T0 + timedelta(hours=1)
