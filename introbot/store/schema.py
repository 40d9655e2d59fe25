"""The schema: one list of migrations for both engines, written in SQLite's words.

Schema version N is ``MIGRATIONS[:N]`` applied in order, whatever the engine; a database
records its version (SQLite: ``PRAGMA user_version``; PostgreSQL: its mailbox's row in
``introbot.mailboxes``). The few words PostgreSQL says differently are translated by one
table, :data:`POSTGRES_WORDS`, and a migration that uses an SQLite-only construct the table
does not know is refused (:func:`statements`), so a new migration cannot silently work on
one engine only. Write new migrations in the common subset (``INSERT ... ON CONFLICT``,
``RETURNING``) and add a word to the table only when there is none.
"""

from __future__ import annotations

import re

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE intros (
        id TEXT PRIMARY KEY,
        request_thread_id TEXT NOT NULL,
        request_message_id TEXT NOT NULL,
        request_rfc822_id TEXT,
        request_subject TEXT NOT NULL,
        author_name TEXT,
        author_email TEXT NOT NULL,
        form TEXT NOT NULL,
        context TEXT NOT NULL,
        workflow_order TEXT NOT NULL,
        stage TEXT NOT NULL,
        attention TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE INDEX intros_thread ON intros (request_thread_id);
    CREATE INDEX intros_stage ON intros (stage);
    CREATE TABLE parties (
        intro_id TEXT NOT NULL REFERENCES intros (id),
        role TEXT NOT NULL,
        name TEXT,
        email TEXT NOT NULL,
        consent TEXT NOT NULL,
        evidence TEXT NOT NULL,
        words TEXT NOT NULL,
        assistant TEXT,
        asked_at TEXT,
        reminded INTEGER NOT NULL,
        reply_ids TEXT NOT NULL,
        PRIMARY KEY (intro_id, role)
    );
    CREATE INDEX parties_email ON parties (email);
    CREATE TABLE drafts (
        key TEXT PRIMARY KEY,
        intro_id TEXT NOT NULL REFERENCES intros (id),
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        recipient TEXT,
        state TEXT NOT NULL,
        draft_id TEXT,
        message_id TEXT,
        thread_id TEXT,
        subject TEXT NOT NULL,
        sent_message_id TEXT,
        sent_rfc822_id TEXT,
        sent_at TEXT
    );
    CREATE INDEX drafts_intro ON drafts (intro_id);
    CREATE INDEX drafts_state ON drafts (state);
    CREATE INDEX drafts_thread ON drafts (thread_id);
    CREATE INDEX drafts_rfc822 ON drafts (sent_rfc822_id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        intro_id TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX audit_intro ON audit (intro_id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        intro_id TEXT,
        action TEXT NOT NULL,
        created_at TEXT NOT NULL,
        done_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (done_at);
    CREATE TABLE threads (
        thread_id TEXT PRIMARY KEY,
        problem TEXT,
        labels TEXT NOT NULL DEFAULT '[]',
        dirty INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE seen (message_id TEXT PRIMARY KEY, at TEXT NOT NULL);
    CREATE TABLE draft_bodies (key TEXT PRIMARY KEY, body TEXT NOT NULL);
    """,
    # 2: labels go on the request message itself (5 units, or 50 for a thousand at once)
    # rather than the whole thread (10 units each): remember which message that is.
    """
    ALTER TABLE threads ADD COLUMN message_id TEXT;
    """,
    # 3: when each yes or no was counted, for `introbot stats`.
    """
    ALTER TABLE parties ADD COLUMN answered_at TEXT;
    """,
    # 4: who a message belongs to is decided from evidence. Each intro gets a random secret
    # its drafts' Message-IDs derive from (intros opened before get one now: their drafts
    # keep the ids they have). A draft gone from Drafts with no sent copy is pending since
    # gone_at; edited marks the connector's hand. sent_bodies: the text actually sent.
    """
    ALTER TABLE intros ADD COLUMN secret TEXT;
    UPDATE intros SET secret = lower(hex(randomblob(16))) WHERE secret IS NULL;
    ALTER TABLE drafts ADD COLUMN gone_at TEXT;
    ALTER TABLE drafts ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sent_bodies (key TEXT PRIMARY KEY, body TEXT NOT NULL);
    """,
    # 5: decisions and cancels from the command line, queued while `introbot run` holds the
    # lock; its next poll applies them (one writer per mailbox).
    """
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        intro_id TEXT NOT NULL,
        observation TEXT NOT NULL,
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX commands_pending ON commands (done_at);
    """,
    # 6: one consent draft to the requester shared by the intros of one request: each
    # intro's record of it names the shared draft's key.
    """
    ALTER TABLE drafts ADD COLUMN shared TEXT;
    CREATE INDEX drafts_shared ON drafts (shared);
    """,
    # 7: the Message-ID of the note to the connector a request thread holds (a problem, a
    # pair held back): when the request is fixed, or says something else, that note goes.
    """
    ALTER TABLE threads ADD COLUMN note TEXT;
    """,
    # 8: the Gmail message ids of the drafts introbot wrote or deleted, whatever became of
    # them since (a rewritten note is deleted, an edited draft's message replaced): a draft
    # added and gone in history is one of these, or maybe a draft introbot was killed before
    # recording (Engine._create). The drafts recorded so far are ours; awaiting_copy_since:
    # when a retried create first saw such a lost draft gone (it waits for its sent copy).
    """
    CREATE TABLE own_messages (message_id TEXT PRIMARY KEY);
    INSERT INTO own_messages (message_id)
        SELECT DISTINCT message_id FROM drafts WHERE message_id IS NOT NULL;
    ALTER TABLE outbox ADD COLUMN awaiting_copy_since TEXT;
    """,
    # 9: when each of introbot's own draft messages was kept (last written or deleted), so
    # that rows history can no longer show added and gone are forgotten
    # (workflow.OWN_MESSAGES_KEPT). Rows from before have none: dated at the next keep.
    """
    ALTER TABLE own_messages ADD COLUMN kept_at TEXT;
    CREATE INDEX own_messages_kept ON own_messages (kept_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# SQLite's words -> PostgreSQL's, for the migrations above (and only those constructs).
POSTGRES_WORDS: tuple[tuple[str, str], ...] = (
    ("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    ("lower(hex(randomblob(16)))", "replace(gen_random_uuid()::text, '-', '')"),
)
# What must not reach PostgreSQL untranslated.
_SQLITE_ONLY = re.compile(
    r"AUTOINCREMENT|randomblob|PRAGMA|INSERT\s+OR\s+(IGNORE|REPLACE)|WITHOUT\s+ROWID",
    re.IGNORECASE,
)


def tables() -> tuple[str, ...]:
    """Every table, in the order the migrations make them (referenced before referring)."""
    found = re.findall(r"CREATE TABLE (\w+)", "\n".join(MIGRATIONS))
    return tuple(dict.fromkeys(found))


def counted_columns() -> tuple[tuple[str, str], ...]:
    """(table, column) of every column the engine numbers itself (``INTEGER PRIMARY KEY
    AUTOINCREMENT``; PostgreSQL: an identity column)."""
    found = re.findall(
        r"CREATE TABLE (\w+) \(\s*(\w+) INTEGER PRIMARY KEY AUTOINCREMENT", "\n".join(MIGRATIONS)
    )
    return tuple(found)


class DialectError(Exception):
    """A migration says something only SQLite understands and the translation table lacks."""


def statements(number: int, dialect: str) -> list[str]:
    """The statements of migration ``number`` (0-based) for ``dialect`` ("sqlite" or
    "postgresql")."""
    script = MIGRATIONS[number]
    if dialect == "postgresql":
        for sqlite, postgres in POSTGRES_WORDS:
            script = script.replace(sqlite, postgres)
        left = _SQLITE_ONLY.search(script)
        if left:
            raise DialectError(
                f"migration {number + 1} says {left.group(0)!r}, which PostgreSQL does not "
                "understand: write it in the common subset or add it to POSTGRES_WORDS"
            )
    elif dialect != "sqlite":
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return [s.strip() for s in script.split(";") if s.strip()]
