"""A reply whose reading fails because the database or the lease failed meanwhile is not
set aside as unreadable (its party's answer would be "unclear" for good): the poll fails and
the next one reads it again. A failure of the message itself still sets it aside."""

from __future__ import annotations

import sqlite3

import psycopg

from introbot.leases import LeaseLost
from introbot.store import StoreError
from introbot.sync import not_the_message


def test_the_database_and_the_lease_are_not_the_message() -> None:
    assert not_the_message(psycopg.errors.AdminShutdown("the server restarted"))
    assert not_the_message(psycopg.OperationalError("the connection is lost"))
    assert not_the_message(sqlite3.OperationalError("database is locked"))
    assert not_the_message(StoreError("the store is gone"))
    assert not_the_message(LeaseLost("box", "taken over"))


def test_a_message_that_cannot_be_read_is_the_message() -> None:
    assert not not_the_message(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert not not_the_message(ValueError("no parties"))
    assert not not_the_message(RecursionError("deeply nested parts"))
