-- Stategraph checkpoints, version 2: a blob may refer to a pending write instead of repeating it.
--
-- A blob row whose value is the value a task wrote in the step that made the checkpoint (stored in
-- the same transaction) has type 'ref' (or, for a delta 'append:<base>', inner tag 'ref'), bytes
-- the xxh3 of the write row's bytes, and names the write row here; the thread and namespace are
-- the blob row's own. NULL for every other row, so files written before this version read as they
-- were. Adding nullable columns rewrites nothing: the migration is instant on any file.
ALTER TABLE checkpoint_blobs ADD COLUMN ref_checkpoint_id TEXT;
ALTER TABLE checkpoint_blobs ADD COLUMN ref_task_id TEXT;
ALTER TABLE checkpoint_blobs ADD COLUMN ref_idx INTEGER;
