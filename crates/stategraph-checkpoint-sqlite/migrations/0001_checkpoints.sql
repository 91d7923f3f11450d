-- Stategraph checkpoints, version 1. The same three tables as the PostgreSQL backend.

-- One row per checkpoint: the header (everything but the channel values) and the metadata, as JSON.
CREATE TABLE checkpoints (
    thread_id            TEXT NOT NULL,
    checkpoint_ns        TEXT NOT NULL DEFAULT '',
    checkpoint_id        TEXT NOT NULL,  -- UUID v7, lowercase hyphenated: text order = creation order
    parent_checkpoint_id TEXT,
    checkpoint           TEXT NOT NULL,  -- JSON: v, ts, channel_versions, versions_seen, updated_channels
    metadata             TEXT NOT NULL,  -- JSON: source, step, parents, run_id, extra keys
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);

-- Listing across threads (newest first) without a thread id.
CREATE INDEX checkpoints_by_id ON checkpoints (checkpoint_id);

-- One row per channel version: written only when a checkpoint changes the channel.
CREATE TABLE checkpoint_blobs (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    type          TEXT NOT NULL,  -- codec type tag: msgpack, null, empty (no value at this version)
    blob          BLOB NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
);

-- Pending writes of the tasks of the step after a checkpoint.
CREATE TABLE checkpoint_writes (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    idx           INTEGER NOT NULL,  -- negative for special channels (__error__ -1, __interrupt__ -3, ...)
    channel       TEXT NOT NULL,
    type          TEXT NOT NULL,
    blob          BLOB NOT NULL,
    task_path     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);
