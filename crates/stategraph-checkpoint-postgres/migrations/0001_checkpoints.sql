-- Stategraph checkpoints, version 1. The same three tables as the SQLite backend.

-- One row per checkpoint: the header (everything but the channel values) and the metadata.
CREATE TABLE checkpoints (
    thread_id            TEXT NOT NULL,
    checkpoint_ns        TEXT NOT NULL DEFAULT '',
    checkpoint_id        UUID NOT NULL,  -- v7: byte order = creation order
    parent_checkpoint_id UUID,
    checkpoint           JSONB NOT NULL, -- v, ts, channel_versions, versions_seen, updated_channels
    metadata             JSONB NOT NULL DEFAULT '{}', -- source, step, parents, run_id, extra keys
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);

-- Listing across threads (newest first) without a thread id.
CREATE INDEX checkpoints_by_id ON checkpoints (checkpoint_id);
-- Metadata filters (`metadata @> $filter`) across threads.
CREATE INDEX checkpoints_metadata ON checkpoints USING GIN (metadata jsonb_path_ops);

-- One row per channel version: written only when a checkpoint changes the channel.
CREATE TABLE checkpoint_blobs (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    version       BIGINT NOT NULL,
    type          TEXT NOT NULL,  -- codec type tag: msgpack, null, empty (no value at this version)
    blob          BYTEA NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
);

-- Pending writes of the tasks of the step after a checkpoint.
CREATE TABLE checkpoint_writes (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id UUID NOT NULL,
    task_id       TEXT NOT NULL,
    idx           BIGINT NOT NULL,  -- negative for special channels (__error__ -1, __interrupt__ -3, ...)
    channel       TEXT NOT NULL,
    type          TEXT NOT NULL,
    blob          BYTEA NOT NULL,
    task_path     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);
