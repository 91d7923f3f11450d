//! # stategraph-checkpoint-sqlite
//!
//! The embedded default checkpointer: one SQLite file (via `sqlx`), in WAL mode so readers never
//! wait for the writer, with a busy timeout and `BEGIN IMMEDIATE` write transactions so writers
//! from several processes queue instead of failing, and versioned migrations embedded in the
//! binary. By default ([`SqliteOptions`]) the commits of `put`, `put_next` and `put_writes` (the
//! engine's `sync` and `exit` durability) are fsynced (`synchronous=FULL`: they survive a power
//! loss), and the commits of `save_batch` (the engine's `async` durability) are not
//! (`synchronous=NORMAL`: they survive a crash of the process, and a power loss may roll back the
//! last of them). [`SqliteOptions::durability`] sets both.
//!
//! [`Checkpointer::put_next`] checks that its parent is still the thread's latest checkpoint
//! inside the `BEGIN IMMEDIATE` transaction, so of two runners continuing one thread exactly one
//! wins, even when they are separate processes on the same file; the other gets `SG107`.
//!
//! ## Storage format
//!
//! Three tables (`migrations/`): `checkpoints` (header and metadata as JSON), `checkpoint_blobs`
//! (one row per channel version a checkpoint changed) and `checkpoint_writes` (the pending writes
//! of the step after a checkpoint), as in the PostgreSQL backend. A growing list is stored as
//! deltas (`append:<base version>`, see `stategraph_checkpoint::storage`).
//!
//! Rows cost more than bytes here (an insert into the table and its key index each, and the pages
//! they touch go to the WAL again at every commit), so since migration 0003 small values have no
//! row of their own. A checkpoint's values that are no value, null, a boolean, a number or a string
//! of at most 64 bytes are packed into its row (`inline_values`): those of its new versions encoded,
//! the others copied from its parent's row when the version is the same (so each version is stored
//! once per chain, as with blob rows; a version found in neither place is read from
//! `checkpoint_blobs`, and is `SG103` if it is not there either). The ordinary writes of a task's
//! first `put_writes` in a transaction are packed into one `checkpoint_writes` row of type `bundle`
//! (when there are two or more and the task had none stored); special writes keep a row each. A
//! later `put_writes` of the same task keeps what is stored, key by key, as before. Damaged packs
//! are `SG102`.
//!
//! A step's writes and the checkpoint that follows them usually arrive in one
//! [`Checkpointer::save_batch`], and the checkpoint's new values are the values written: the
//! string a task returned, the message it appended. Such a blob is not stored twice: its row has
//! type `ref` (or, for a delta, the inner tag `ref`), eight bytes (the xxh3 of the write row's
//! bytes) and names the write row in `ref_checkpoint_id`, `ref_task_id`, `ref_idx` (migration
//! 0002; the thread and namespace are the blob's own; the write is that row, or the entry with that
//! `idx` of the task's bundle). Only a write stored in the same transaction is referred to, never a
//! row committed earlier, and only encodings of at least 64 bytes. Reads fetch the referenced write
//! rows in the query that loads the blobs; a reference
//! whose write row is gone is `SG103`, one whose bytes changed `SG102`. `copy_thread` copies the
//! references with the rows they name, `prune` keeps every write row a remaining blob refers to
//! (not shown as pending: its checkpoint is gone), and builds from before migration 0002 refuse
//! a `ref` row with `SG101` rather than misread it.
//!
//! ```
//! use stategraph_checkpoint::{Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer};
//! use stategraph_checkpoint_sqlite::SqliteSaver;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("sg-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("checkpoints.db");
//!
//! let saver = SqliteSaver::open(&path).await?;
//! let mut cp = Checkpoint::empty();
//! cp.channel_values.insert("answer".into(), 42.into());
//! cp.channel_versions.insert("answer".into(), 1);
//! let meta = CheckpointMetadata::new(CheckpointSource::Input, -1);
//! saver.put(&CheckpointConfig::thread("t1"), &cp, &meta, &cp.channel_versions).await?;
//! saver.close().await;
//!
//! // Another process (here: another saver on the same file) sees the committed checkpoint.
//! let again = SqliteSaver::open(&path).await?;
//! let tuple = again.get_tuple(&CheckpointConfig::thread("t1")).await?.unwrap();
//! assert_eq!(tuple.checkpoint.channel_values["answer"], stategraph_value::Value::from(42));
//! # again.close().await;
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), stategraph_checkpoint::Error>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};

// FxHash for the maps of one batch: keys are short tuples of borrowed strings, hashed many times
// per batch (SipHash was ~3% of the writer's thread on a fan-out of subgraphs). Maps that outlive
// a batch, keyed by thread ids that clients choose, keep SipHash.
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Arguments, Connection};
use sqlx::{AssertSqlSafe, Transaction};
use stategraph_checkpoint::storage::{
    BaseCheck, BatchWrites, BlobRow, CheckpointHeader, DeltaCache, MAX_CHAIN, Staged, WriteRow, decode_blob,
    decode_channel_referring, encode_writes, version_to_i64,
};
use stategraph_checkpoint::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointId, CheckpointMetadata, CheckpointTuple, Checkpointer,
    Error, ListFilter, MsgpackSerde, PendingWrite, PruneStrategy, Result, SaveOp, Serde, TAG_EMPTY, metadata_matches,
};
use stategraph_value::Value;
use tokio::sync::{Mutex, MutexGuard};

mod packed;

const BACKEND: &str = "sqlite";

fn db(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// How hard each commit is pushed to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: a committed checkpoint survives a crash of the process *and* of the
    /// machine (power loss). The default.
    #[default]
    Sync,
    /// `synchronous=NORMAL`: a committed checkpoint survives a crash of the process; on power loss
    /// the last commits may roll back (the file stays consistent). Faster.
    Normal,
}

/// Options of [`SqliteSaver::open_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Durability of the commits of `put`, `put_next` and `put_writes`: what the engine's `sync`
    /// durability calls at every step, and `exit` durability at the end of a run.
    pub durability: Durability,
    /// Durability of the commits of [`Checkpointer::save_batch`]: what the engine's `async`
    /// durability hands over while the run goes on. Default [`Durability::Normal`]: with `async`
    /// durability a crash may already lose the saves still queued, so a commit need not wait for
    /// the disk either; a power loss (or OS crash) may roll back the last batches committed
    /// before it (SQLite keeps the file consistent: what is lost is a suffix of the commits, never
    /// one in the middle), and a crash of the process alone loses nothing committed. Set it to
    /// [`Durability::Sync`] to flush every batch (as Python LangGraph's `SqliteSaver` does with
    /// SQLite's default `synchronous=FULL`).
    pub batch_durability: Durability,
    /// How long a writer waits for another process's write lock before failing (SG104).
    pub busy_timeout: Duration,
    /// Connections in the pool (readers run in parallel; writers take turns).
    pub max_connections: u32,
    /// WAL pages after which a commit copies the log back into the database file (SQLite's
    /// `wal_autocheckpoint`; its own default is 1,000 pages, 4 MiB). Checkpoint rows land all
    /// over the tables' B-trees (a namespace per subgraph run), so the same pages are written
    /// again and again: copying them back every 4 MiB wrote each one many times, and each copy
    /// ends with an fsync. The default, 16,384 pages (64 MiB of log), copies a page once per
    /// 64 MiB of writes (`fanout_to_subgraph_100x`: −30% time); the log file grows to about that
    /// size. `0` turns automatic copying off (then call `PRAGMA wal_checkpoint` yourself).
    pub wal_autocheckpoint: u32,
    /// The value codec.
    pub serde: Arc<dyn Serde>,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            durability: Durability::Sync,
            batch_durability: Durability::Normal,
            busy_timeout: Duration::from_secs(30),
            max_connections: 4,
            wal_autocheckpoint: 16_384,
            serde: Arc::new(MsgpackSerde),
        }
    }
}

impl SqliteOptions {
    /// Sets [`wal_autocheckpoint`](SqliteOptions::wal_autocheckpoint), in pages.
    pub fn wal_autocheckpoint(mut self, pages: u32) -> SqliteOptions {
        self.wal_autocheckpoint = pages;
        self
    }

    /// Sets the durability of every commit (`put`s and `save_batch`).
    pub fn durability(mut self, durability: Durability) -> SqliteOptions {
        self.durability = durability;
        self.batch_durability = durability;
        self
    }
    /// Sets the durability of [`Checkpointer::save_batch`] commits only (after
    /// [`durability`](SqliteOptions::durability), which sets both).
    pub fn batch_durability(mut self, durability: Durability) -> SqliteOptions {
        self.batch_durability = durability;
        self
    }
    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> SqliteOptions {
        self.busy_timeout = timeout;
        self
    }
    /// Sets the pool size (at least 1).
    pub fn max_connections(mut self, n: u32) -> SqliteOptions {
        self.max_connections = n.max(1);
        self
    }
    /// Sets the codec (e.g. a host codec for foreign values).
    pub fn serde(mut self, serde: Arc<dyn Serde>) -> SqliteOptions {
        self.serde = serde;
        self
    }
}

/// A [`Checkpointer`] on SQLite. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct SqliteSaver {
    pool: SqlitePool,
    /// Writers of this process take turns here rather than spinning on SQLite's busy handler;
    /// `BEGIN IMMEDIATE` still orders them against other processes. The slot holds the
    /// connection this process writes checkpoints on (see `writer_options`).
    write_lock: Mutex<Option<SqliteConnection>>,
    /// How to open the writer's own connection (`None`: writes take a pooled connection, as for
    /// an in-memory database, which exists only on the pool's one connection, or a caller's pool).
    /// One connection for every write keeps its page cache valid: SQLite drops a connection's cache
    /// whenever another connection committed since its last transaction, so writes spread over
    /// the pool read the B-tree pages they touch again on every commit.
    writer_options: Option<SqliteConnectOptions>,
    serde: Arc<dyn Serde>,
    /// The lists stored last, so a growing list is stored as deltas (see `storage::DeltaCache`).
    deltas: DeltaCache,
    /// (thread, ns) → the last checkpoint this saver wrote there and its `inline_values`: what
    /// the next batch of a run expects of its first put's parent (see
    /// `SqliteSaver::predict`; a wrong guess costs encoding the batch again).
    last_packs: std::sync::Mutex<HashMap<Namespace, LastPack>>,
    /// `synchronous` of `put`, `put_next`, `put_writes` and the maintenance writes (`None`: the
    /// pool's own setting, for [`SqliteSaver::from_pool`]).
    durability: Option<Durability>,
    /// `synchronous` of [`Checkpointer::save_batch`] commits.
    batch_durability: Option<Durability>,
}

/// A thread id and a checkpoint namespace.
type Namespace = (String, String);
/// A checkpoint id and its row's `inline_values`.
type LastPack = (CheckpointId, Option<Vec<u8>>);

/// One save, borrowed: what [`SaveOp`] holds, or the arguments of `put` / `put_writes`.
enum Op<'a> {
    Put {
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
        only_if_latest: bool,
    },
    Writes {
        config: &'a CheckpointConfig,
        writes: &'a [(String, Value)],
        task_id: &'a str,
        task_path: &'a str,
    },
}

impl<'a> Op<'a> {
    fn of(op: &'a SaveOp) -> Op<'a> {
        match op {
            SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                Op::Put { config, checkpoint, metadata, new_versions, only_if_latest: *only_if_latest }
            }
            SaveOp::PutWrites { config, writes, task_id, task_path } => {
                Op::Writes { config, writes, task_id, task_path }
            }
        }
    }
}

/// Most bound parameters per statement (SQLite allows 32,766).
const MAX_PARAMS: usize = 16_000;
/// Encoded bytes of the rows of a batch held before they are sent. Each part is stored by the
/// connection's thread while this one encodes the next, so smaller parts overlap more of a large
/// batch: 256 KiB instead of 1 MiB took `react_agent_100x` and `fanout_to_subgraph_10x` from
/// ~36 to ~30 ms and ~11 to ~9.3 ms, and the peak RSS of `react_agent_100x` down by 0.7 MiB
/// (HOTSPOTS.md, saver round 7); a part is still one round trip (~40 µs).
const FLUSH_BYTES: usize = 1 << 18;
/// Namespaces whose last pack the saver remembers (see `SqliteSaver::predict`); past this, it
/// starts over.
const MAX_LAST_PACKS: usize = 4096;

/// thread, ns, id, parent, header, metadata; inline values.
type CheckpointRowToStore = ([Option<String>; 6], Option<Vec<u8>>);

/// The rows of several saves, inserted with one multi-row `INSERT` per table.
#[derive(Default)]
struct Rows<'v> {
    /// thread, ns, row.
    blobs: Vec<(String, String, BlobRow)>,
    checkpoints: Vec<CheckpointRowToStore>,
    /// The writes of each `put_writes`, in order.
    writes: Vec<WriteGroup<'v>>,
    /// Encoded bytes held.
    bytes: usize,
}

/// One `put_writes`, encoded; its rows are made when the rows are inserted.
struct WriteGroup<'v> {
    task: TaskKey<'v>,
    /// The checkpoint id, as stored.
    checkpoint_id: String,
    task_path: String,
    rows: Vec<WriteRow>,
    /// The task's first writes in the transaction, and it had none stored before.
    may_bundle: bool,
}

/// thread, ns, checkpoint id, task id, task path, row.
type WriteRowToStore = (String, String, String, String, String, WriteRow);

impl<'v> Rows<'v> {
    /// Encodes a put's rows; on error nothing is added (but `staged` may hold changes past its
    /// mark: the caller commits the cache only up to the mark of the last op that succeeded).
    /// `parent_inline`: the packs the parent's small values are found in (see
    /// `Checked::parent_inline`). Returns the row's own.
    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        saver: &SqliteSaver,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
        verified: &[BaseCheck],
        staged: &mut Staged,
        known: &BatchWrites<'_>,
        parent_inline: &[Vec<u8>],
    ) -> Result<Option<Vec<u8>>> {
        let header = CheckpointHeader::of(checkpoint).to_json()?;
        let metadata = metadata.to_json()?;
        let (inline, packed_now) = pack_inline(&*saver.serde, checkpoint, new_versions, parent_inline)?;
        let mut blobs = saver.deltas.encode_blobs_referring(
            &*saver.serde,
            config,
            checkpoint,
            new_versions,
            verified,
            staged,
            known,
        )?;
        // A value packed into the row needs no blob row (the cache's view of it is unaffected:
        // only lists are delta bases, and no list is packed).
        if !packed_now.is_empty() {
            blobs.retain(|b| !packed_now.contains(&b.channel.as_str()));
        }
        for b in &blobs {
            version_to_i64(b.version)?;
        }
        let (t, n) = (&config.thread_id, &config.checkpoint_ns);
        self.bytes += header.len()
            + metadata.len()
            + inline.as_ref().map_or(0, Vec::len)
            + blobs.iter().map(|b| b.bytes.len()).sum::<usize>();
        self.blobs.extend(blobs.into_iter().map(|b| (t.clone(), n.clone(), b)));
        self.checkpoints.push((
            [
                Some(t.clone()),
                Some(n.clone()),
                Some(checkpoint.id.to_string()),
                config.checkpoint_id.map(|p| p.to_string()),
                Some(header),
                Some(metadata),
            ],
            inline.clone(),
        ));
        Ok(inline)
    }

    /// Encodes a task's writes, and records them in `known` for the puts after them.
    #[allow(clippy::too_many_arguments)]
    fn writes(
        &mut self,
        serde: &dyn Serde,
        config: &'v CheckpointConfig,
        writes: &'v [(String, Value)],
        task_id: &'v str,
        task_path: &str,
        known: &mut BatchWrites<'v>,
        bundles: &mut Bundles<'v>,
    ) -> Result<()> {
        let checkpoint = config.require_checkpoint_id()?;
        let rows = encode_writes(serde, writes)?;
        let task = (config.thread_id.as_str(), config.checkpoint_ns.as_str(), checkpoint, task_id);
        let first = bundles.seen.insert(task);
        if first {
            // Only a task's first writes of the transaction may be referred to: a later
            // `put_writes` of the task may not be stored (its keys are taken).
            known.remember(config, task_id, writes, &rows);
        }
        // Writes a bundle of the task already holds are dropped in `write_rows`.
        self.bytes += rows.iter().map(|r| r.bytes.len()).sum::<usize>();
        self.writes.push(WriteGroup {
            task,
            checkpoint_id: checkpoint.to_string(),
            task_path: task_path.to_owned(),
            rows,
            may_bundle: first && !bundles.has_stored_writes(task),
        });
        Ok(())
    }

    /// The write rows to store: the ordinary writes of a task's first `put_writes` in the
    /// transaction (if it had none stored before) go in one bundle row (see migration 0003) when
    /// there are two or more; an ordinary write whose `idx` a bundle of the task already holds is
    /// dropped (the first row of a key stays).
    fn write_rows(groups: Vec<WriteGroup<'v>>, bundles: &mut Bundles<'v>) -> Result<Vec<WriteRowToStore>> {
        let mut out = Vec::new();
        for group in groups {
            let WriteGroup { task, checkpoint_id, task_path, mut rows, may_bundle } = group;
            let (t, n, _, task_id) = task;
            let covered = bundles.covered(task);
            if !covered.is_empty() {
                rows.retain(|r| r.upsert || !covered.contains(&r.idx));
            }
            // (A name or type tag too long for a pack keeps its own row.)
            let packable = |r: &WriteRow| !r.upsert && packed::fits(&r.channel, &r.type_tag, r.bytes.len());
            if may_bundle && rows.iter().filter(|r| packable(r)).count() >= 2 {
                let (packed_rows, mut rest): (Vec<_>, Vec<_>) = rows.into_iter().partition(packable);
                let mut pack =
                    packed::start_for(packed_rows.iter().map(|r| (r.channel.len(), r.type_tag.len(), r.bytes.len())));
                for r in &packed_rows {
                    packed::push(&mut pack, &r.channel, r.idx, &r.type_tag, &r.bytes)?;
                }
                bundles.bundled.entry(task).or_default().extend(packed_rows.iter().map(|r| r.idx));
                rest.push(WriteRow {
                    idx: packed_rows[0].idx,
                    channel: String::new(),
                    type_tag: TAG_BUNDLE.to_owned(),
                    bytes: pack,
                    upsert: false,
                });
                rows = rest;
            }
            out.extend(rows.into_iter().map(|r| {
                (t.to_owned(), n.to_owned(), checkpoint_id.clone(), task_id.to_owned(), task_path.clone(), r)
            }));
        }
        Ok(out)
    }

    /// Inserts every row held (and forgets them); with `commit`, the transaction's `COMMIT` goes
    /// with the last of them.
    async fn insert(&mut self, tx: &mut WriteTx<'_>, commit: bool, bundles: &mut Bundles<'v>) -> Result<()> {
        let batches = std::mem::take(self).into_batches(bundles)?;
        Batch::send_all(batches, tx, commit).await
    }

    /// The statements that insert these rows: one multi-statement query, one round trip (more
    /// only past 2 × [`MAX_PARAMS`] values).
    /// Rows of one table go in the order they were added, so a later save of the same key wins
    /// (or, for ordinary writes, the first one stays), as when the saves run one by one.
    fn into_batches(self, bundles: &mut Bundles<'v>) -> Result<Vec<Batch>> {
        let Rows { blobs, checkpoints, writes, bytes: _ } = self;
        let writes = Rows::write_rows(writes, bundles)?;
        let mut batches = Vec::new();
        let mut query = Batch::default();
        // Blobs: upsert.
        for chunk in chunks(blobs, 9) {
            query.statement(
                "INSERT INTO checkpoint_blobs
                   (thread_id, checkpoint_ns, channel, version, type, blob, ref_checkpoint_id, ref_task_id, ref_idx)
                 VALUES ",
                chunk.len(),
                9,
                " ON CONFLICT (thread_id, checkpoint_ns, channel, version)
                  DO UPDATE SET type = excluded.type, blob = excluded.blob, ref_checkpoint_id = excluded.ref_checkpoint_id,
                                ref_task_id = excluded.ref_task_id, ref_idx = excluded.ref_idx",
            );
            for (t, n, b) in chunk {
                let version = version_to_i64(b.version)?;
                query.bind(t)?;
                query.bind(n)?;
                query.bind(b.channel)?;
                query.bind(version)?;
                query.bind(b.type_tag)?;
                // By value: a borrowed blob would be copied into the arguments.
                query.bind(b.bytes)?;
                let (ref_checkpoint, ref_task, ref_idx) = match b.write_ref {
                    Some(r) => (Some(r.checkpoint_id), Some(r.task_id), Some(r.idx)),
                    None => (None, None, None),
                };
                query.bind(ref_checkpoint)?;
                query.bind(ref_task)?;
                query.bind(ref_idx)?;
            }
            query.split_if_full(&mut batches);
        }
        for chunk in chunks(checkpoints, 7) {
            query.statement(
                "INSERT INTO checkpoints
                   (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values)
                 VALUES ",
                chunk.len(),
                7,
                " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
                  DO UPDATE SET parent_checkpoint_id = excluded.parent_checkpoint_id,
                                checkpoint = excluded.checkpoint, metadata = excluded.metadata,
                                inline_values = excluded.inline_values",
            );
            for (row, inline) in chunk {
                for value in row {
                    query.bind(value)?;
                }
                query.bind(inline)?;
            }
            query.split_if_full(&mut batches);
        }
        // Writes to special channels replace what is stored; ordinary writes keep it.
        let (upserts, keeps): (Vec<_>, Vec<_>) = writes.into_iter().partition(|w| w.5.upsert);
        for (rows, conflict) in [
            (
                upserts,
                " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
                  DO UPDATE SET channel = excluded.channel, type = excluded.type, blob = excluded.blob,
                                task_path = excluded.task_path",
            ),
            (keeps, " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO NOTHING"),
        ] {
            for chunk in chunks(rows, 9) {
                query.statement(
                    "INSERT INTO checkpoint_writes
                       (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path) VALUES ",
                    chunk.len(),
                    9,
                    conflict,
                );
                for (t, n, id, task_id, task_path, r) in chunk {
                    query.bind(t)?;
                    query.bind(n)?;
                    query.bind(id)?;
                    query.bind(task_id)?;
                    query.bind(r.idx)?;
                    query.bind(r.channel)?;
                    query.bind(r.type_tag)?;
                    query.bind(r.bytes)?;
                    query.bind(task_path)?;
                }
                query.split_if_full(&mut batches);
            }
        }
        if !query.sql.is_empty() {
            batches.push(query);
        }
        Ok(batches)
    }
}

/// The checks a write transaction makes before it encodes anything, in one statement whose text
/// never changes, so that SQLite parses and plans it once per connection (a compound `SELECT`
/// with a term per key was parsed again for every batch: 11% of `fanout_to_subgraph_100x`). Each
/// parameter is a JSON array of keys. The answer is one JSON array (one row: sqlx hands rows from
/// its connection thread one message at a time, ~7% of the main thread on a fan-out of subgraphs)
/// of [kind, index of the key, text, length, hex bytes]:
/// 0: the latest checkpoint id of a (thread, ns) that a `put_next` writes to;
/// 1: type and length of a delta base row (thread, ns, channel, version), when it is stored;
/// 2: the tasks with ordinary writes stored on a checkpoint (thread, ns, id), as a JSON array,
///    when there are any;
/// 3: the id and `inline_values` of a parent checkpoint (thread, ns, id); when its row is gone
///    (pruned, or never stored), those of every checkpoint of the namespace (ordered newest first
///    here): a version's small value is in each row that has the version, as the in-memory saver
///    finds a version's blob whichever checkpoint wrote it.
const CHECK_SQL: &str = "SELECT json_group_array(json_array(k, i, t, l, CASE WHEN v IS NULL THEN NULL ELSE hex(v) END))
FROM (
SELECT 0 AS k, j.key AS i, (SELECT MAX(c.checkpoint_id) FROM checkpoints AS c
         WHERE c.thread_id = json_extract(j.value, '$[0]') AND c.checkpoint_ns = json_extract(j.value, '$[1]')) AS t,
       NULL AS l, NULL AS v
FROM json_each(?1) AS j
UNION ALL
SELECT 1, j.key, b.type, length(b.blob), NULL
FROM json_each(?2) AS j
JOIN checkpoint_blobs AS b
  ON b.thread_id = json_extract(j.value, '$[0]') AND b.checkpoint_ns = json_extract(j.value, '$[1]')
 AND b.channel = json_extract(j.value, '$[2]') AND b.version = json_extract(j.value, '$[3]')
UNION ALL
SELECT 2, j.key, (SELECT json_group_array(DISTINCT w.task_id) FROM checkpoint_writes AS w
         WHERE w.thread_id = json_extract(j.value, '$[0]') AND w.checkpoint_ns = json_extract(j.value, '$[1]')
           AND w.checkpoint_id = json_extract(j.value, '$[2]') AND w.idx >= 0),
       NULL, NULL
FROM json_each(?3) AS j
UNION ALL
SELECT 3, j.key, c.checkpoint_id, NULL, c.inline_values
FROM json_each(?4) AS j
JOIN checkpoints AS c
  ON c.thread_id = json_extract(j.value, '$[0]') AND c.checkpoint_ns = json_extract(j.value, '$[1]')
 AND c.checkpoint_id = json_extract(j.value, '$[2]')
WHERE c.inline_values IS NOT NULL
UNION ALL
SELECT 3, j.key, c.checkpoint_id, NULL, c.inline_values
FROM json_each(?4) AS j
JOIN checkpoints AS c
  ON c.thread_id = json_extract(j.value, '$[0]') AND c.checkpoint_ns = json_extract(j.value, '$[1]')
WHERE NOT EXISTS (SELECT 1 FROM checkpoints AS p
                  WHERE p.thread_id = json_extract(j.value, '$[0]') AND p.checkpoint_ns = json_extract(j.value, '$[1]')
                    AND p.checkpoint_id = json_extract(j.value, '$[2]'))
  AND c.inline_values IS NOT NULL
)
WHERE k != 2 OR t != '[]'";

/// One answer of [`CHECK_SQL`]: kind, index of the key, text, length, hex bytes.
type CheckRow = (i64, i64, Option<serde_json::Value>, Option<i64>, Option<String>);

/// The bytes of SQLite's `hex()` text.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks_exact(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// What [`SqliteSaver::check`] found, in the order of its arguments.
struct Checked {
    /// The latest checkpoint id of each guarded thread and namespace.
    latest: Vec<Option<CheckpointId>>,
    /// Whether each delta base is still stored as remembered.
    base_ok: Vec<bool>,
    /// The tasks with ordinary writes stored on each checkpoint.
    stored_tasks: Vec<Vec<String>>,
    /// The `inline_values` of each parent; when the parent row is gone, those of every row of its
    /// namespace, newest first (see [`CHECK_SQL`], kind 3).
    parent_inline: Vec<Vec<Vec<u8>>>,
}

impl Checked {
    /// Whether encoding from `self` (the answers of the check) gives what encoding from
    /// `predicted` gave. The writes stored before on a checkpoint matter only for the tasks of
    /// this batch that wrote there (whether they may bundle, which `idx` they already hold): the
    /// parent of a fan-out of subgraphs gets its tasks' writes over many batches, and comparing the
    /// whole lists took every one of those batches for a wrong guess and encoded it twice.
    fn same_outcome(
        &self,
        predicted: &Checked,
        written: &[(&str, &str, CheckpointId)],
        tasks_of: &FxHashMap<(&str, &str, CheckpointId), Vec<&str>>,
    ) -> bool {
        self.latest == predicted.latest
            && self.base_ok == predicted.base_ok
            && self.parent_inline == predicted.parent_inline
            && written.iter().zip(&self.stored_tasks).zip(&predicted.stored_tasks).all(|((key, found), guessed)| {
                let stored = |list: &[String], task: &str| list.iter().any(|s| s == task);
                tasks_of[key].iter().all(|&task| stored(found, task) == stored(guessed, task))
            })
    }
}

/// What a write transaction did: the staged-cache mark after the last op written, the error of
/// the first op not written (see `write_ops`), and the pack of the last checkpoint written in
/// each (thread, ns).
struct Written {
    mark: usize,
    failure: Option<Error>,
    packs: Vec<(Namespace, LastPack)>,
}

/// The encoding of a batch's ops, in order, from the check's answers, up to the first op that
/// cannot be stored. A put's blob that repeats a write encoded before it here refers to that
/// write's row (see the crate docs).
struct Encoding<'v> {
    rows: Rows<'v>,
    known: BatchWrites<'v>,
    bundles: Bundles<'v>,
    /// The latest checkpoint id of each guarded namespace, as the batch goes.
    latest: Vec<Option<CheckpointId>>,
    /// Checkpoint → the packs its small values are found in: the parents' (see
    /// `Checked::parent_inline`), then the checkpoints of the batch (their own, if any).
    inline: FxHashMap<(&'v str, &'v str, CheckpointId), Vec<Vec<u8>>>,
    /// (thread, ns) → the delta bases still stored as remembered.
    verified: FxHashMap<(&'v str, &'v str), Vec<BaseCheck>>,
    /// The last checkpoint put in each (thread, ns).
    last_put: FxHashMap<(&'v str, &'v str), CheckpointId>,
    mark: usize,
    failure: Option<Error>,
    /// The first op not encoded yet (or the one that failed).
    next: usize,
}

impl<'v> Encoding<'v> {
    fn new(
        found: &Checked,
        bases: &[(&'v str, &'v str, BaseCheck)],
        parents: &[(&'v str, &'v str, CheckpointId)],
        bundles: Bundles<'v>,
        mark: usize,
    ) -> Encoding<'v> {
        let mut verified: FxHashMap<(&str, &str), Vec<BaseCheck>> = FxHashMap::default();
        for ((t, n, c), &ok) in bases.iter().zip(&found.base_ok) {
            if ok {
                verified.entry((t, n)).or_default().push(c.clone());
            }
        }
        Encoding {
            rows: Rows::default(),
            known: BatchWrites::default(),
            bundles,
            latest: found.latest.clone(),
            inline: parents.iter().copied().zip(found.parent_inline.iter().cloned()).collect(),
            verified,
            last_put: FxHashMap::default(),
            mark,
            failure: None,
            next: 0,
        }
    }

    /// Encodes the ops from `next` on, until every op is encoded, one fails, or the rows held
    /// reach [`FLUSH_BYTES`] (insert them, then run again).
    fn run(
        &mut self,
        saver: &SqliteSaver,
        ops: &'v [Op<'v>],
        staged: &mut Staged,
        guard_of: &FxHashMap<(&str, &str), usize>,
    ) {
        for (i, op) in ops.iter().enumerate().skip(self.next) {
            let result = match op {
                Op::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                    let key = (config.thread_id.as_str(), config.checkpoint_ns.as_str());
                    let found = guard_of.get(&key).map(|&i| &mut self.latest[i]);
                    match found {
                        Some(l) if *only_if_latest && *l != config.checkpoint_id => Err(Error::conflict(config, *l)),
                        found => {
                            let verified = self.verified.get(&key).map_or(&[][..], Vec::as_slice);
                            let parent_inline = config
                                .checkpoint_id
                                .and_then(|p| self.inline.get(&(key.0, key.1, p)))
                                .map_or(&[][..], Vec::as_slice);
                            let ok = self.rows.put(
                                saver,
                                config,
                                checkpoint,
                                metadata,
                                new_versions,
                                verified,
                                staged,
                                &self.known,
                                parent_inline,
                            );
                            ok.map(|own| {
                                if let Some(l) = found {
                                    // As `MAX(checkpoint_id)` will be once this row is in.
                                    *l = (*l).max(Some(checkpoint.id));
                                }
                                self.inline.insert((key.0, key.1, checkpoint.id), own.into_iter().collect());
                                self.last_put.insert(key, checkpoint.id);
                            })
                        }
                    }
                }
                Op::Writes { config, writes, task_id, task_path } => self.rows.writes(
                    &*saver.serde,
                    config,
                    writes,
                    task_id,
                    task_path,
                    &mut self.known,
                    &mut self.bundles,
                ),
            };
            if let Err(e) = result {
                self.failure = Some(e);
                return;
            }
            self.mark = staged.mark();
            self.next = i + 1;
            if self.rows.bytes >= FLUSH_BYTES {
                return;
            }
        }
    }

    /// Whether every op is encoded, or one failed (the ops after it are not written).
    fn finished(&self, ops: &[Op<'_>]) -> bool {
        self.failure.is_some() || self.next >= ops.len()
    }

    /// Inserts the rows left (with `commit`, and commits).
    async fn finish(mut self, tx: &mut WriteTx<'_>, commit: bool) -> Result<Written> {
        self.rows.insert(tx, commit, &mut self.bundles).await?;
        let packs = self
            .last_put
            .into_iter()
            .map(|((t, n), id)| {
                let pack = self.inline.remove(&(t, n, id)).and_then(|packs| packs.into_iter().next());
                ((t.to_owned(), n.to_owned()), (id, pack))
            })
            .collect();
        Ok(Written { mark: self.mark, failure: self.failure, packs })
    }
}

/// The type of a `checkpoint_writes` row holding several small writes of one task (see migration
/// 0003).
const TAG_BUNDLE: &str = "bundle";

/// (thread, namespace, checkpoint, task) of pending writes.
type TaskKey<'v> = (&'v str, &'v str, CheckpointId, &'v str);

/// What decides, in one transaction, whether a task's writes may be bundled and which of its
/// ordinary writes are already stored in a bundle.
#[derive(Default)]
struct Bundles<'v> {
    /// Tasks of the transaction that had ordinary writes stored before it.
    stored: FxHashSet<TaskKey<'v>>,
    /// Tasks whose writes were seen in the transaction.
    seen: FxHashSet<TaskKey<'v>>,
    /// The `idx` held by the bundles of each task: stored before (for checkpoints in `stored`),
    /// or written earlier in the transaction.
    bundled: FxHashMap<TaskKey<'v>, Vec<i64>>,
}

impl<'v> Bundles<'v> {
    fn has_stored_writes(&self, task: TaskKey<'v>) -> bool {
        self.stored.contains(&task)
    }

    fn covered(&self, task: TaskKey<'v>) -> &[i64] {
        self.bundled.get(&task).map_or(&[], Vec::as_slice)
    }
}

/// Strings up to this many bytes are packed into the checkpoint row (see migration 0003).
const INLINE_STRING_BYTES: usize = 64;

/// Whether a channel's value is packed into the checkpoint row rather than stored as a blob row:
/// no value, null, a boolean, a number, a short string.
fn is_inline(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null | Value::Bool(_) | Value::Number(_)) => true,
        Some(Value::String(s)) => s.len() <= INLINE_STRING_BYTES,
        Some(_) => false,
    }
}

/// The small values of a checkpoint row (`None` when it has none): those of `new_versions`,
/// encoded now, and for every other channel the entry at the same version in the first of
/// `parents` that has it (the parent row's `inline_values`; see `Checked::parent_inline`),
/// copied as stored. A version stored in neither place is
/// read from `checkpoint_blobs`, as before migration 0003 (and is SG103 when it is not there).
/// Also returns the channels of `new_versions` packed (they need no blob row); a value whose name
/// or type tag is too long to pack keeps its blob row.
fn pack_inline<'c>(
    serde: &dyn Serde,
    checkpoint: &'c Checkpoint,
    new_versions: &ChannelVersions,
    parents: &[Vec<u8>],
) -> Result<(Option<Vec<u8>>, Vec<&'c str>)> {
    let located = parents
        .iter()
        .map(|p| packed::locate(p, || format!("inline values of the parent of checkpoint {}", checkpoint.id)))
        .collect::<Result<Vec<_>>>()?;
    let mut pack = None;
    let mut packed_now = Vec::new();
    for (channel, &version) in &checkpoint.channel_versions {
        if new_versions.get(channel) == Some(&version) {
            let value = checkpoint.channel_values.get(channel);
            if !is_inline(value) {
                continue;
            }
            let (tag, bytes) = match value {
                Some(value) => serde.dumps(value).map_err(|e| e.at(format!("channel '{channel}'")))?,
                None => (TAG_EMPTY.to_owned(), Vec::new()),
            };
            let version = version_to_i64(version)?;
            if packed::push(pack.get_or_insert_with(packed::start), channel, version, &tag, &bytes).is_ok() {
                packed_now.push(channel.as_str());
            }
        } else {
            // The first pack holding this version of the channel.
            let version = version_to_i64(version)?;
            let found = parents.iter().zip(&located).find_map(|(parent, entries)| {
                let i = entries.binary_search_by(|e| e.name.cmp(channel)).ok()?;
                (entries[i].number == version).then(|| &parent[entries[i].range.clone()])
            });
            if let Some(entry) = found {
                packed::push_raw(pack.get_or_insert_with(packed::start), entry);
            }
        }
    }
    // Nothing packed (a name too long for every value): no pack at all.
    Ok((pack.filter(|p| p.len() > 1), packed_now))
}

/// `rows` in groups small enough for one statement with `columns` values per row.
fn chunks<T>(rows: Vec<T>, columns: usize) -> Vec<Vec<T>> {
    let per = (MAX_PARAMS / columns).max(1);
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(rows.by_ref().take(per).collect());
    }
    out
}

/// Statements collected into one query text with their arguments (bare `?`s, bound in order
/// across the statements), sent to sqlx's connection thread in one round trip.
#[derive(Default)]
struct Batch {
    sql: String,
    args: SqliteArguments,
    params: usize,
}

impl Batch {
    /// Appends `head (?, ..), (?, ..) tail` for `rows` rows of `columns` values.
    fn statement(&mut self, head: &str, rows: usize, columns: usize, tail: &str) {
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(head);
        let row = format!("({})", vec!["?"; columns].join(", "));
        for i in 0..rows {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push_str(&row);
        }
        self.sql.push_str(tail);
        self.params += rows * columns;
    }

    /// Binds the next value.
    fn bind<'t, T: sqlx::Encode<'t, Sqlite> + sqlx::Type<Sqlite>>(&mut self, value: T) -> Result<()> {
        Arguments::add(&mut self.args, value)
            .map_err(|e| Error::Encode { what: "SQLite argument".into(), message: e.to_string() })
    }

    /// Moves what is collected to `batches` when it has grown large (a new query starts).
    fn split_if_full(&mut self, batches: &mut Vec<Batch>) {
        if self.params >= 2 * MAX_PARAMS {
            batches.push(std::mem::take(self));
        }
    }

    /// Sends the query.
    async fn send(self, tx: &mut WriteTx<'_>, commit: bool) -> Result<()> {
        tx.execute(self.sql, self.args, commit).await
    }

    /// Sends the queries in order; with `commit`, `COMMIT` follows the last (also when there is
    /// none).
    async fn send_all(batches: Vec<Batch>, tx: &mut WriteTx<'_>, commit: bool) -> Result<()> {
        let n = batches.len();
        if n == 0 {
            return if commit { tx.commit().await } else { Ok(()) };
        }
        for (i, batch) in batches.into_iter().enumerate() {
            batch.send(tx, commit && i + 1 == n).await?;
        }
        Ok(())
    }
}

/// A `BEGIN IMMEDIATE` transaction driven by hand on one connection (the writer's, or a pooled
/// one), so that `BEGIN` travels with the transaction's first statement and `COMMIT` with its
/// last. Every statement is a round trip to sqlx's connection thread (two thread wake-ups, ~40 µs
/// here), and sqlx's own `Transaction` spends one on `BEGIN` and one on `COMMIT`: a batch took
/// four, now two.
///
/// A connection must never be used again inside a transaction: if one is open when this is
/// dropped (an error path that could not roll back), the connection is closed instead.
struct WriteTx<'w> {
    conn: TxConn<'w>,
    /// The `BEGIN` statement (with its `PRAGMA synchronous`), until it is sent.
    begin: Option<&'static str>,
    /// A `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` has succeeded since.
    open: bool,
    /// A query that carried the `BEGIN` failed because another connection held the write lock
    /// past the busy timeout: nothing of the transaction ran.
    lock_failed: bool,
}

/// The connection of a [`WriteTx`]: the saver's writer connection (opened on first use) or a
/// pooled one.
enum TxConn<'w> {
    Writer(&'w mut Option<SqliteConnection>),
    Pooled(PoolConnection<Sqlite>),
}

impl<'w> WriteTx<'w> {
    /// A transaction (not begun yet) on the saver's writer connection, `writer` (the slot its
    /// write lock guards), or on a pooled connection when it has none.
    async fn new(
        saver: &SqliteSaver,
        writer: &'w mut Option<SqliteConnection>,
        durability: Option<Durability>,
    ) -> Result<WriteTx<'w>> {
        let conn = match &saver.writer_options {
            Some(options) => {
                if writer.is_none() {
                    *writer = Some(SqliteConnection::connect_with(options).await.map_err(db)?);
                }
                TxConn::Writer(writer)
            }
            None => TxConn::Pooled(saver.pool.acquire().await.map_err(db)?),
        };
        Ok(WriteTx { conn, begin: Some(begin_statement(durability)), open: false, lock_failed: false })
    }

    /// `sql` with the pending `BEGIN` in front (see [`failed`](WriteTx::failed)).
    fn text(&mut self, sql: String, commit: bool) -> String {
        let mut text = match self.begin.take() {
            Some(begin) => {
                self.open = true;
                format!("{begin};\n{sql}")
            }
            None => sql,
        };
        if commit {
            text.push_str(";\nCOMMIT");
        }
        text
    }

    /// Runs `sql` (several statements allowed) in the transaction; with `commit`, commits it.
    async fn execute(&mut self, sql: String, args: SqliteArguments, commit: bool) -> Result<()> {
        let carries_begin = self.begin.is_some();
        let text = self.text(sql, commit);
        let done = sqlx::query_with(AssertSqlSafe(text), args).execute(self.conn()).await;
        done.map_err(|e| self.failed(e, carries_begin))?;
        if commit {
            self.open = false;
        }
        Ok(())
    }

    /// The error of a query; notes when it carried the `BEGIN` and found the database locked (a
    /// lock error can only come from the `BEGIN IMMEDIATE`: once it succeeds, the transaction
    /// holds the write lock).
    fn failed(&mut self, e: sqlx::Error, carried_begin: bool) -> Error {
        if carried_begin && is_locked(&e) {
            self.lock_failed = true;
        }
        db(e)
    }

    /// The connection, for a query that returns rows; the pending `BEGIN` is sent first by
    /// [`text`](WriteTx::text), which the caller must use to build the query.
    fn conn(&mut self) -> &mut SqliteConnection {
        match &mut self.conn {
            TxConn::Writer(slot) => slot.as_mut().expect("the writer connection is opened with the transaction"),
            TxConn::Pooled(conn) => conn,
        }
    }

    async fn commit(&mut self) -> Result<()> {
        if self.open {
            sqlx::query("COMMIT").execute(self.conn()).await.map_err(db)?;
            self.open = false;
        }
        Ok(())
    }

    /// Rolls back. A failure here leaves the connection marked to close instead of returning to
    /// the pool (SQLite rolls back what is open when its connection closes).
    async fn rollback(&mut self) {
        if self.open && sqlx::query("ROLLBACK").execute(self.conn()).await.is_ok() {
            self.open = false;
        }
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Closing the connection rolls back what is open.
            match &mut self.conn {
                TxConn::Writer(slot) => drop(slot.take()),
                TxConn::Pooled(conn) => conn.close_on_drop(),
            }
        }
    }
}

/// Whether SQLite answered `SQLITE_BUSY` or `SQLITE_LOCKED` (any extended code of them).
fn is_locked(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code()).and_then(|c| c.parse::<i32>().ok());
    matches!(code.map(|c| c & 0xff), Some(5 | 6))
}

/// `BEGIN IMMEDIATE`, with the connection's `synchronous` set first when the saver chose it:
/// commits of one connection may differ in durability.
fn begin_statement(durability: Option<Durability>) -> &'static str {
    match durability {
        None => "BEGIN IMMEDIATE",
        Some(Durability::Sync) => "PRAGMA synchronous = FULL; BEGIN IMMEDIATE",
        Some(Durability::Normal) => "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
    }
}

type CheckpointRow = (String, String, String, Option<String>, String, String, Option<Vec<u8>>);
/// A type tag and bytes.
type Encoded = (String, Vec<u8>);
/// channel, version, type, blob, whether it is a reference, the referenced write's `idx`, the
/// type and blob of the write row (or of its task's bundle).
type BlobWithRef = (String, i64, String, Vec<u8>, bool, Option<i64>, Option<String>, Option<Vec<u8>>);

/// Fails with a clear SG105 when the database already holds a `checkpoints` table that this
/// saver's migrations did not create — LangGraph's `SqliteSaver` uses that name too (with `writes`)
/// — or another application's sqlx migrations. Without this check the first migration fails on
/// "table checkpoints already exists", or sqlx reports a modified migration, and neither says what
/// to do. The check runs before any migration, so the other tables and their rows are left as they
/// are (opening the file may still have switched it to WAL).
async fn refuse_foreign_tables(pool: &SqlitePool, migrator: &sqlx::migrate::Migrator) -> Result<()> {
    let Some(first) = migrator.iter().next() else { return Ok(()) };
    let (checkpoints, migrations): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'checkpoints'), \
         EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let refuse = |what: &str| {
        Err(Error::Migration {
            backend: BACKEND,
            message: format!(
                "the database already holds {what}; Stategraph's checkpoints need a file of their own \
                 (its tables and rows were left as they are)"
            ),
        })
    };
    if migrations {
        let checksum: Option<Vec<u8>> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = ?1")
            .bind(first.version)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
        match checksum {
            Some(c) if c.as_slice() == &*first.checksum => return Ok(()),
            Some(_) => return refuse("another application's sqlx migrations (its migration 1 is not Stategraph's)"),
            None => {}
        }
    }
    if checkpoints {
        return refuse(
            "a `checkpoints` table that Stategraph's migrations did not create (LangGraph's SqliteSaver \
             uses that name, beside `writes`)",
        );
    }
    Ok(())
}

impl SqliteSaver {
    /// Opens (creating if needed) the database file with the default options and migrates it.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteSaver> {
        SqliteSaver::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating if needed) the database file and migrates it.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteSaver> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Sync => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(options.busy_timeout)
            .pragma("wal_autocheckpoint", options.wal_autocheckpoint.to_string());
        let writer_options = connect.clone();
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            // A file connection does not go stale: skip the ping before each use (a round trip).
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(db)?;
        let mut saver = SqliteSaver::from_pool(pool, options.serde).await?;
        saver.durability = Some(options.durability);
        saver.batch_durability = Some(options.batch_durability);
        saver.writer_options = Some(writer_options);
        Ok(saver)
    }

    /// Opens (or creates) the database at `path` for code without an async runtime (a Tauri
    /// command thread, Python bindings): every call blocks until it is done. Do not use it inside
    /// an async task; there, use [`open`](SqliteSaver::open).
    ///
    /// ```
    /// use stategraph_checkpoint::{CheckpointConfig, ListFilter};
    /// let dir = tempfile::tempdir().unwrap();
    /// let saver = stategraph_checkpoint_sqlite::SqliteSaver::open_blocking(dir.path().join("state.db")).unwrap();
    /// assert!(saver.get_tuple(&CheckpointConfig::thread("t")).unwrap().is_none());
    /// assert!(saver.list(&ListFilter::thread("t")).unwrap().is_empty());
    /// ```
    pub fn open_blocking(path: impl AsRef<Path>) -> Result<stategraph_checkpoint::blocking::BlockingSaver> {
        let path = path.as_ref().to_owned();
        stategraph_checkpoint::blocking::BlockingSaver::open(async move { SqliteSaver::open(path).await })
    }

    /// A private in-memory database (gone when the saver is dropped): one connection that lives as
    /// long as the saver.
    pub async fn open_in_memory() -> Result<SqliteSaver> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await
            .map_err(db)?;
        SqliteSaver::from_pool(pool, Arc::new(MsgpackSerde)).await
    }

    /// Uses an existing pool (configured by the caller) and migrates the database. Every commit
    /// keeps the `synchronous` setting the pool's connections were opened with.
    pub async fn from_pool(pool: SqlitePool, serde: Arc<dyn Serde>) -> Result<SqliteSaver> {
        let migrator = sqlx::migrate!("./migrations");
        refuse_foreign_tables(&pool, &migrator).await?;
        migrator.run(&pool).await.map_err(|e| Error::Migration { backend: BACKEND, message: e.to_string() })?;
        Ok(SqliteSaver {
            pool,
            write_lock: Mutex::new(None),
            writer_options: None,
            serde,
            deltas: DeltaCache::new(),
            last_packs: Default::default(),
            durability: None,
            batch_durability: None,
        })
    }

    /// The connection pool (for inspection, backups, `PRAGMA integrity_check`).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool and the writer's connection, waiting for connections to finish (the WAL is
    /// checkpointed on close).
    pub async fn close(&self) {
        if let Some(conn) = self.write_lock.lock().await.take() {
            // An error closing it leaves nothing behind: SQLite rolls back what is open.
            let _ = conn.close().await;
        }
        self.pool.close().await;
    }

    /// Starts a write: this process's turn, then a `BEGIN IMMEDIATE` transaction (which takes
    /// SQLite's write lock up front, so it cannot fail half-way with SQLITE_BUSY on upgrade).
    /// Dropping the transaction without `commit` rolls back.
    async fn begin_write(&self) -> Result<(MutexGuard<'_, Option<SqliteConnection>>, Transaction<'static, Sqlite>)> {
        let turn = self.write_lock.lock().await;
        let tx = self.begin_immediate(self.durability).await?;
        Ok((turn, tx))
    }

    /// `BEGIN IMMEDIATE` on a pooled connection, with its `synchronous` set first (in the same
    /// round trip) when this saver chose it: commits of one connection may differ in durability.
    async fn begin_immediate(&self, durability: Option<Durability>) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin_with(begin_statement(durability)).await.map_err(db)
    }

    async fn load_tuple(&self, conn: &mut SqliteConnection, row: CheckpointRow) -> Result<CheckpointTuple> {
        let (thread_id, checkpoint_ns, id, parent, header, metadata, inline) = row;
        let id: CheckpointId = id.parse().map_err(|e| Error::corrupt("checkpoint id", e))?;
        let parent = parent
            .map(|p| p.parse::<CheckpointId>())
            .transpose()
            .map_err(|e| Error::corrupt(format!("parent of checkpoint {id}"), e))?;
        let header = CheckpointHeader::from_json(&header, id)?;
        let metadata =
            CheckpointMetadata::from_json(&metadata).map_err(|e| e.at(format!("metadata of checkpoint {id}")))?;

        // The values packed into the row, by channel (only those at the header's version count).
        let mut inline_values: HashMap<&str, packed::Located<'_>> = HashMap::new();
        if let Some(pack) = &inline {
            for entry in packed::entries(pack, || format!("inline values of checkpoint {id}"))? {
                if header.channel_versions.get(entry.name).and_then(|&v| i64::try_from(v).ok()) == Some(entry.number) {
                    inline_values.insert(entry.name, entry);
                }
            }
        }
        let from_blobs: BTreeMap<&String, &u64> = header
            .channel_versions
            .iter()
            .filter(|(channel, _)| !inline_values.contains_key(channel.as_str()))
            .collect();
        let versions = serde_json::to_string(&from_blobs)
            .map_err(|e| Error::Encode { what: "channel versions".into(), message: e.to_string() })?;
        // The blobs the header names and, for deltas, their bases (the base version is in the tag),
        // each with the write row it refers to, if any (`has_ref` tells a reference to a write
        // that is gone from a row that is no reference): the write's own row, or its task's
        // bundle, which holds it when it holds that `idx`.
        let blobs = sqlx::query_as(
            "WITH RECURSIVE chain(channel, version, type, blob, ref_checkpoint_id, ref_task_id, ref_idx, depth) AS (
               SELECT b.channel, b.version, b.type, b.blob, b.ref_checkpoint_id, b.ref_task_id, b.ref_idx, 0
               FROM json_each(?1) AS j
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = ?2 AND b.checkpoint_ns = ?3 AND b.channel = j.key AND b.version = j.value
               UNION
               SELECT b.channel, b.version, b.type, b.blob, b.ref_checkpoint_id, b.ref_task_id, b.ref_idx,
                      chain.depth + 1
               FROM chain
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = ?2 AND b.checkpoint_ns = ?3 AND b.channel = chain.channel
                AND b.version = CAST(substr(chain.type, 8) AS INTEGER)
               WHERE chain.type LIKE 'append:%' AND chain.depth < ?4
             )
             SELECT chain.channel, chain.version, chain.type, chain.blob, chain.ref_checkpoint_id IS NOT NULL,
                    chain.ref_idx, w.type, w.blob
             FROM chain
             LEFT JOIN checkpoint_writes AS w
               ON chain.ref_checkpoint_id IS NOT NULL AND w.thread_id = ?2 AND w.checkpoint_ns = ?3
              AND w.checkpoint_id = chain.ref_checkpoint_id AND w.task_id = chain.ref_task_id
              AND (w.idx = chain.ref_idx AND w.type <> 'bundle' OR w.type = 'bundle')",
        )
        .bind(versions)
        .bind(&thread_id)
        .bind(&checkpoint_ns)
        .bind(MAX_CHAIN as i64);
        // Nothing to read when every value is in the row.
        let blobs: Vec<BlobWithRef> =
            if from_blobs.is_empty() { Vec::new() } else { blobs.fetch_all(&mut *conn).await.map_err(db)? };
        let mut by_channel: HashMap<String, HashMap<u64, Encoded>> = HashMap::new();
        // Channel → version → the referenced write's tag and bytes (`None`: the write is gone).
        let mut referenced: HashMap<String, HashMap<u64, Option<Encoded>>> = HashMap::new();
        for (channel, version, tag, bytes, has_ref, ref_idx, write_tag, write_bytes) in blobs {
            let version =
                u64::try_from(version).map_err(|e| Error::corrupt(format!("blob version of '{channel}'"), e))?;
            if has_ref {
                let write = match (write_tag, write_bytes) {
                    (Some(tag), Some(pack)) if tag == TAG_BUNDLE => {
                        let what = || format!("write bundle referred to by channel '{channel}' version {version}");
                        packed::entries(&pack, what)?
                            .into_iter()
                            .find(|e| Some(e.number) == ref_idx)
                            .map(|e| (e.tag.to_owned(), e.bytes.to_vec()))
                    }
                    (tag, bytes) => tag.zip(bytes),
                };
                // Several rows when the task has a bundle and rows of its own: the one holding
                // the write counts.
                let slot = referenced.entry(channel.clone()).or_default().entry(version).or_default();
                if slot.is_none() {
                    *slot = write;
                }
            }
            by_channel.entry(channel).or_default().insert(version, (tag, bytes));
        }
        let no_rows = HashMap::new();
        let no_refs = HashMap::new();
        let mut values = BTreeMap::new();
        // Channels whose value was found in another row's pack.
        let mut skip: Vec<&String> = Vec::new();
        for (channel, entry) in &inline_values {
            let location = || format!("inline value of channel '{channel}' in checkpoint {id}");
            if let Some(value) = decode_blob(&*self.serde, entry.tag, entry.bytes, location)? {
                values.insert((*channel).to_owned(), value);
            }
        }
        // A version neither in this row nor in a blob row: the row was put when its parent's row
        // was gone, and another row of the namespace may hold the version's small value now (a
        // thread copied back over a deleted one), as the in-memory saver finds a version's blob
        // whichever checkpoint wrote it.
        let mut elsewhere: Vec<(&String, u64)> = from_blobs
            .iter()
            .filter(|(channel, version)| by_channel.get(**channel).is_none_or(|rows| !rows.contains_key(**version)))
            .map(|(channel, version)| (*channel, **version))
            .collect();
        if !elsewhere.is_empty() {
            let packs: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT inline_values FROM checkpoints
                 WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND inline_values IS NOT NULL
                 ORDER BY checkpoint_id DESC",
            )
            .bind(&thread_id)
            .bind(&checkpoint_ns)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            for pack in &packs {
                if elsewhere.is_empty() {
                    break;
                }
                let entries =
                    packed::entries(pack, || format!("inline values of a checkpoint of thread '{thread_id}'"))?;
                let mut i = 0;
                while i < elsewhere.len() {
                    let (channel, version) = elsewhere[i];
                    let found =
                        entries.iter().find(|e| e.name == channel && u64::try_from(e.number).ok() == Some(version));
                    let Some(entry) = found else {
                        i += 1;
                        continue;
                    };
                    let location = || format!("inline value of channel '{channel}' version {version}");
                    if let Some(value) = decode_blob(&*self.serde, entry.tag, entry.bytes, location)? {
                        values.insert(channel.clone(), value);
                    }
                    elsewhere.swap_remove(i);
                    skip.push(channel);
                }
            }
        }
        for (&channel, &&version) in &from_blobs {
            if skip.contains(&channel) {
                continue;
            }
            let rows = by_channel.get(channel).unwrap_or(&no_rows);
            let refs = referenced.get(channel).unwrap_or(&no_refs);
            let missing = |v: u64| Error::MissingBlob {
                thread_id: thread_id.clone(),
                checkpoint_ns: checkpoint_ns.clone(),
                checkpoint_id: id.to_string(),
                channel: channel.clone(),
                version: v,
            };
            let location =
                |v: u64| format!("blob thread='{thread_id}' ns='{checkpoint_ns}' channel '{channel}' version {v}");
            let write_of = |v: u64| match refs.get(&v) {
                Some(Some((tag, bytes))) => Ok((tag.as_str(), bytes.as_slice())),
                // The blob names a write row that is not stored.
                Some(None) => Err(missing(v)),
                None => Err(Error::corrupt(location(v), "a reference without the write it refers to")),
            };
            if let Some(value) = decode_channel_referring(&*self.serde, rows, version, write_of, missing, location)? {
                values.insert(channel.clone(), value);
            }
        }

        let writes: Vec<(String, String, String, Vec<u8>, String, i64)> = sqlx::query_as(
            "SELECT task_id, channel, type, blob, task_path, idx FROM checkpoint_writes
             WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id = ?3
             ORDER BY task_path, task_id, idx",
        )
        .bind(&thread_id)
        .bind(&checkpoint_ns)
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let decode = |task_id: &str, channel: &str, tag: &str, bytes: &[u8]| {
            self.serde
                .loads(tag, bytes)
                .map_err(|e| e.at(format!("write of task '{task_id}' to channel '{channel}' (checkpoint {id})")))
        };
        let mut pending_writes = Vec::with_capacity(writes.len());
        let mut bundled = false;
        for (task_id, channel, tag, bytes, task_path, idx) in writes {
            if tag == TAG_BUNDLE {
                bundled = true;
                let what = || format!("write bundle of task '{task_id}' (checkpoint {id})");
                for e in packed::entries(&bytes, what)? {
                    let value = decode(&task_id, e.name, e.tag, e.bytes)?;
                    pending_writes.push(PendingWrite {
                        task_id: task_id.clone(),
                        channel: e.name.to_owned(),
                        value,
                        task_path: task_path.clone(),
                        idx: e.number,
                    });
                }
            } else {
                let value = decode(&task_id, &channel, &tag, &bytes)?;
                pending_writes.push(PendingWrite { task_id, channel, value, task_path, idx });
            }
        }
        if bundled {
            // In the order of the query: a bundle's writes among the task's other writes.
            pending_writes.sort_by(|a, b| (&a.task_path, &a.task_id, a.idx).cmp(&(&b.task_path, &b.task_id, b.idx)));
        }

        let config = CheckpointConfig { thread_id, checkpoint_ns, checkpoint_id: Some(id) };
        Ok(CheckpointTuple {
            parent_config: parent.map(|p| CheckpointConfig { checkpoint_id: Some(p), ..config.clone() }),
            config,
            checkpoint: header.into_checkpoint(id, values),
            metadata,
            pending_writes,
        })
    }

    async fn get_tuple_impl(&self, config: &CheckpointConfig) -> Result<Option<CheckpointTuple>> {
        // A new thread (what every run on a fresh thread asks first) is one statement, with no
        // transaction around it: one round trip to the connection thread instead of three.
        let exists: Option<i64> = match config.checkpoint_id {
            Some(id) => sqlx::query_scalar(
                "SELECT 1 FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id = ?3",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .bind(id.to_string()),
            None => sqlx::query_scalar("SELECT 1 FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2 LIMIT 1")
                .bind(&config.thread_id)
                .bind(&config.checkpoint_ns),
        }
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        if exists.is_none() {
            return Ok(None);
        }
        // One read transaction: the checkpoint, its blobs and writes come from one snapshot.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row: Option<CheckpointRow> = match config.checkpoint_id {
            Some(id) => sqlx::query_as(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values
                 FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id = ?3",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
            None => sqlx::query_as(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values
                 FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2
                 ORDER BY checkpoint_id DESC LIMIT 1",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
        };
        let tuple = match row {
            Some(row) => Some(self.load_tuple(&mut tx, row).await?),
            None => None,
        };
        tx.commit().await.map_err(db)?;
        Ok(tuple)
    }

    async fn list_impl(&self, filter: &ListFilter) -> Result<Vec<CheckpointTuple>> {
        if filter.limit == Some(0) {
            return Ok(Vec::new());
        }
        // Only fixed fragments go into the text; every value is a bound parameter.
        let mut sql = String::from(
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values
             FROM checkpoints WHERE 1 = 1",
        );
        if filter.thread_id.is_some() {
            sql.push_str(" AND thread_id = ?1");
        }
        if filter.checkpoint_ns.is_some() {
            sql.push_str(" AND checkpoint_ns = ?2");
        }
        if filter.before.is_some() {
            sql.push_str(" AND checkpoint_id < ?3");
        }
        sql.push_str(" ORDER BY checkpoint_id DESC, thread_id, checkpoint_ns");
        // The metadata filter runs in Rust (same rules as PostgreSQL's `@>`), so the limit can only
        // go into SQL when there is none.
        let sql_limit = match (&filter.metadata, filter.limit) {
            (None, Some(limit)) => i64::try_from(limit).unwrap_or(i64::MAX),
            _ => -1,
        };
        sql.push_str(" LIMIT ?4");

        let mut tx = self.pool.begin().await.map_err(db)?;
        let rows: Vec<CheckpointRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(&filter.thread_id)
            .bind(&filter.checkpoint_ns)
            .bind(filter.before.map(|b| b.to_string()))
            .bind(sql_limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= filter.limit.unwrap_or(usize::MAX) {
                break;
            }
            if let Some(wanted) = &filter.metadata {
                let metadata = CheckpointMetadata::from_json(&row.5)?.to_value()?;
                if !metadata_matches(&metadata, wanted) {
                    continue;
                }
            }
            out.push(self.load_tuple(&mut tx, row).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    /// `put`, or with `only_if_latest` `put_next`, in one `BEGIN IMMEDIATE` transaction.
    async fn put_impl(
        &self,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        metadata: &CheckpointMetadata,
        new_versions: &ChannelVersions,
        only_if_latest: bool,
    ) -> Result<CheckpointConfig> {
        let op = Op::Put { config, checkpoint, metadata, new_versions, only_if_latest };
        self.save_ops(&[op], self.durability).await?;
        Ok(CheckpointConfig {
            thread_id: config.thread_id.clone(),
            checkpoint_ns: config.checkpoint_ns.clone(),
            checkpoint_id: Some(checkpoint.id),
        })
    }

    async fn put_writes_impl(
        &self,
        config: &CheckpointConfig,
        writes: &[(String, Value)],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        config.require_checkpoint_id()?;
        self.save_ops(&[Op::Writes { config, writes, task_id, task_path }], self.durability).await
    }

    /// Stores `ops` in order in one `BEGIN IMMEDIATE ... COMMIT`, committed with `durability`. The
    /// op that cannot be stored (a conflict, a value the codec refuses, a database error) and the
    /// ops after it are not written; the ops before it are committed, and its error is returned.
    ///
    /// Every statement is a round trip to sqlx's connection thread, and on a busy machine each
    /// costs more than the statement itself, so the ops are written in four: `BEGIN`, one query
    /// for the `put_next` checks and the delta bases, one multi-statement `INSERT` of every row,
    /// `COMMIT` (not two statements per op and a savepoint around each, as before). Only when the
    /// combined `INSERT` fails are the ops replayed one by one under savepoints, to find the op
    /// that failed and keep the ones before it.
    async fn save_ops(&self, ops: &[Op<'_>], durability: Option<Durability>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut turn = self.write_lock.lock().await;
        let mut tx = WriteTx::new(self, &mut turn, durability).await?;
        let mut staged = Staged::default();
        // `write_ops` commits with its last statement.
        match self.write_ops(&mut tx, ops, &mut staged, true).await {
            Ok(Written { mark, failure, packs }) => {
                self.deltas.commit_prefix(staged, mark);
                let mut last = self.last_packs.lock().expect("packs lock");
                if last.len() + packs.len() > MAX_LAST_PACKS {
                    last.clear();
                }
                last.extend(packs);
                failure.map_or(Ok(()), Err)
            }
            // `BEGIN IMMEDIATE` itself failed (another process kept the write lock past the
            // busy timeout): nothing ran, and replaying op by op would only wait again.
            Err(e) if ops.len() == 1 || tx.lock_failed => {
                tx.rollback().await;
                self.last_packs.lock().expect("packs lock").clear();
                Err(e)
            }
            Err(_) => {
                tx.rollback().await;
                drop(tx);
                self.last_packs.lock().expect("packs lock").clear();
                self.save_ops_one_by_one(&mut turn, ops, durability).await
            }
        }
    }

    /// [`save_ops`](Self::save_ops) one op per savepoint: slower, but a database error leaves the
    /// ops before the failing one in place.
    async fn save_ops_one_by_one(
        &self,
        writer: &mut Option<SqliteConnection>,
        ops: &[Op<'_>],
        durability: Option<Durability>,
    ) -> Result<()> {
        let mut tx = WriteTx::new(self, writer, durability).await?;
        let mut staged = Staged::default();
        let mut committed_mark = 0;
        let mut failure = None;
        for op in ops {
            tx.execute("SAVEPOINT sg_op".into(), SqliteArguments::default(), false).await?;
            let outcome = self.write_ops(&mut tx, std::slice::from_ref(op), &mut staged, false).await;
            let error = match outcome {
                Ok(Written { mark, failure: None, .. }) => {
                    committed_mark = mark;
                    None
                }
                Ok(Written { failure: Some(e), .. }) | Err(e) => Some(e),
            };
            if error.is_some() {
                tx.execute("ROLLBACK TO sg_op".into(), SqliteArguments::default(), false).await?;
            }
            tx.execute("RELEASE sg_op".into(), SqliteArguments::default(), false).await?;
            if let Some(e) = error {
                failure = Some(e);
                break;
            }
        }
        tx.commit().await?;
        self.deltas.commit_prefix(staged, committed_mark);
        failure.map_or(Ok(()), Err)
    }

    /// Writes the rows of `ops` inside the open transaction. Returns the staged-cache mark after the
    /// last op written, and the error of the first op that was not written because of what it is
    /// (a conflict, an encoding error); nothing of that op or the ops after it is written. `Err`
    /// is a database error: the caller rolls back.
    ///
    /// Values are encoded here, under the write lock, because a delta may only be based on a row
    /// this transaction has seen stored as expected (or wrote itself).
    async fn write_ops<'v>(
        &self,
        tx: &mut WriteTx<'_>,
        ops: &'v [Op<'v>],
        staged: &mut Staged,
        commit: bool,
    ) -> Result<Written> {
        // What the database must answer first: the latest checkpoint of each (thread, ns) a
        // `put_next` writes to, and whether each delta base stored before this transaction is
        // still stored as remembered.
        // (Sets beside the lists: a batch of a fan-out of subgraphs holds a thousand ops.)
        let mut guards: Vec<(&str, &str)> = Vec::new();
        let mut guard_of: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        let mut bases: Vec<(&str, &str, BaseCheck)> = Vec::new();
        let mut base_seen: FxHashSet<(&str, &str, BaseCheck)> = Default::default();
        // And whether each checkpoint that gets writes had ordinary writes stored before (its
        // tasks in this batch), and the `inline_values` of each parent not put in this batch.
        let mut written: Vec<(&str, &str, CheckpointId)> = Vec::new();
        let mut tasks_of: FxHashMap<(&str, &str, CheckpointId), Vec<&str>> = FxHashMap::default();
        let mut parents: Vec<(&str, &str, CheckpointId)> = Vec::new();
        let mut put_here: FxHashSet<(&str, &str, CheckpointId)> = Default::default();
        for op in ops {
            match op {
                Op::Put { config, checkpoint, new_versions, only_if_latest, .. } => {
                    let key = (config.thread_id.as_str(), config.checkpoint_ns.as_str());
                    if let Some(parent) = config.checkpoint_id
                        && !put_here.contains(&(key.0, key.1, parent))
                        && put_here.insert((key.0, key.1, parent))
                    {
                        // Not put earlier in the batch (and asked for once).
                        parents.push((key.0, key.1, parent));
                    }
                    put_here.insert((key.0, key.1, checkpoint.id));
                    if *only_if_latest && !guard_of.contains_key(&key) {
                        guard_of.insert(key, guards.len());
                        guards.push(key);
                    }
                    for candidate in self.deltas.candidates(config, checkpoint, new_versions, staged) {
                        if base_seen.insert((key.0, key.1, candidate.clone())) {
                            bases.push((key.0, key.1, candidate));
                        }
                    }
                }
                Op::Writes { config, task_id, .. } => {
                    if let Some(checkpoint) = config.checkpoint_id {
                        let key = (config.thread_id.as_str(), config.checkpoint_ns.as_str(), checkpoint);
                        let tasks = tasks_of.entry(key).or_insert_with(|| {
                            written.push(key);
                            Vec::new()
                        });
                        tasks.push(task_id);
                    }
                }
            }
        }
        drop(base_seen);

        // The answers the check gives when nothing happened behind this saver's back (the usual
        // case): no other writer moved a guarded namespace or a delta base, no task of the batch
        // had writes stored, and each parent row holds the pack this saver wrote last for it.
        // With them the batch is encoded while the check is on its way; the answers are compared
        // when they come, and the batch is encoded again from them if any differs.
        let predicted = self.predict(ops, &guards, bases.len(), written.len(), &parents);
        let first_staged = staged.position();
        let mut ahead = None;
        let found = match predicted {
            Some(predicted) => {
                let (found, enc) = {
                    let mut check = std::pin::pin!(self.check(tx, &guards, &bases, &written, &parents));
                    // Polled once, the query is handed to the connection's thread.
                    let early = futures::poll!(check.as_mut());
                    let mut enc = Encoding::new(&predicted, &bases, &parents, Bundles::default(), staged.mark());
                    enc.run(self, ops, staged, &guard_of);
                    let found = match early {
                        std::task::Poll::Ready(found) => found,
                        std::task::Poll::Pending => check.await,
                    }?;
                    (found, enc)
                };
                if found.same_outcome(&predicted, &written, &tasks_of) {
                    ahead = Some(enc);
                } else {
                    drop(enc);
                    staged.rewind(first_staged);
                }
                found
            }
            None => self.check(tx, &guards, &bases, &written, &parents).await?,
        };
        let mut enc = match ahead {
            Some(enc) => enc,
            None => {
                let mut bundles = Bundles::default();
                for (key, stored) in written.iter().zip(&found.stored_tasks) {
                    if stored.is_empty() {
                        continue;
                    }
                    let (t, n, c) = *key;
                    let mut any = false;
                    for &task in &tasks_of[key] {
                        if stored.iter().any(|s| s == task) {
                            bundles.stored.insert((t, n, c, task));
                            any = true;
                        }
                    }
                    if any {
                        self.load_bundles(tx, (t, n, c), ops, &mut bundles).await?;
                    }
                }
                Encoding::new(&found, &bases, &parents, bundles, staged.mark())
            }
        };
        while !enc.finished(ops) {
            if enc.rows.bytes >= FLUSH_BYTES {
                // Bounded memory: a batch of a long conversation's steps would otherwise hold all
                // its encoded rows at once (and SQLite a copy of each bound blob).
                let mut batches = std::mem::take(&mut enc.rows).into_batches(&mut enc.bundles)?;
                if let Some(last) = batches.pop() {
                    Batch::send_all(batches, tx, false).await?;
                    // Handed to the connection's thread before the next rows are encoded, so that
                    // SQLite stores these while this thread encodes those (a large batch was
                    // encode, wait, encode, wait). An error is returned once the rows are encoded.
                    let mut sending = std::pin::pin!(last.send(tx, false));
                    let early = futures::poll!(sending.as_mut());
                    enc.run(self, ops, staged, &guard_of);
                    match early {
                        std::task::Poll::Ready(sent) => sent,
                        std::task::Poll::Pending => sending.await,
                    }?;
                    continue;
                }
            }
            enc.run(self, ops, staged, &guard_of);
        }
        enc.finish(tx, commit).await
    }

    /// What [`check`](Self::check) answers if no other writer touched what the batch relies on,
    /// or `None` when a parent's pack is not the one this saver wrote last (then the batch waits
    /// for the answers).
    fn predict(
        &self,
        ops: &[Op<'_>],
        guards: &[(&str, &str)],
        bases: usize,
        written: usize,
        parents: &[(&str, &str, CheckpointId)],
    ) -> Option<Checked> {
        let packs = self.last_packs.lock().expect("packs lock");
        let parent_inline = parents
            .iter()
            .map(|&(t, n, c)| match packs.get(&(t.to_owned(), n.to_owned())) {
                Some((id, pack)) if *id == c => Some(pack.iter().cloned().collect::<Vec<_>>()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        drop(packs);
        // A guarded put expects its parent to be the latest checkpoint: the first one per namespace.
        let mut expected: FxHashMap<(&str, &str), Option<CheckpointId>> = FxHashMap::default();
        for op in ops {
            if let Op::Put { config, only_if_latest: true, .. } = op {
                expected
                    .entry((config.thread_id.as_str(), config.checkpoint_ns.as_str()))
                    .or_insert(config.checkpoint_id);
            }
        }
        let latest = guards.iter().map(|key| expected.get(key).copied()).collect::<Option<Vec<_>>>()?;
        // Every delta base still stored as remembered, no task with writes stored.
        Some(Checked { latest, base_ok: vec![true; bases], stored_tasks: vec![Vec::new(); written], parent_inline })
    }

    /// One query ([`CHECK_SQL`]) for the `put_next` checks (the latest id of each thread and
    /// namespace in `guards`), the delta base checks (whether each base row in `bases` still has
    /// the remembered tag and length), the tasks with writes stored on each checkpoint in
    /// `written`, and the `inline_values` of each checkpoint in `parents`.
    async fn check(
        &self,
        tx: &mut WriteTx<'_>,
        guards: &[(&str, &str)],
        bases: &[(&str, &str, BaseCheck)],
        written: &[(&str, &str, CheckpointId)],
        parents: &[(&str, &str, CheckpointId)],
    ) -> Result<Checked> {
        let mut latest = vec![None; guards.len()];
        let mut ok = vec![false; bases.len()];
        let mut stored_tasks = vec![Vec::new(); written.len()];
        let mut parent_inline: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); parents.len()];
        let json = |value: serde_json::Value| value.to_string();
        let ids = |keys: &[(&str, &str, CheckpointId)]| {
            json(keys.iter().map(|(t, n, c)| serde_json::json!([t, n, c.to_string()])).collect())
        };
        let base_keys = bases
            .iter()
            .map(|(t, n, c)| Ok(serde_json::json!([t, n, c.channel, version_to_i64(c.base_version)?])))
            .collect::<Result<Vec<_>>>()?;
        let begin_pending = tx.begin.is_some();
        let sql = tx.text(CHECK_SQL.to_owned(), false);
        let found = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
            .bind(json(guards.iter().map(|(t, n)| serde_json::json!([t, n])).collect()))
            .bind(json(base_keys.into()))
            .bind(ids(written))
            .bind(ids(parents))
            .fetch_one(tx.conn())
            .await;
        let found = found.map_err(|e| tx.failed(e, begin_pending))?;
        let bad = |e: &dyn std::fmt::Display| Error::corrupt("the write check", e.to_string());
        let found: Vec<CheckRow> = serde_json::from_str(&found).map_err(|e| bad(&e))?;
        for (kind, i, text, len, inline) in found {
            let i = usize::try_from(i).unwrap_or(usize::MAX);
            let text = match text {
                Some(serde_json::Value::String(s)) => Some(s),
                // (The task list, when SQLite kept its JSON subtype through the subquery.)
                Some(other) => Some(other.to_string()),
                None => None,
            };
            match kind {
                0 if i < guards.len() => {
                    let (thread_id, ns) = guards[i];
                    latest[i] = text.map(|l| l.parse::<CheckpointId>()).transpose().map_err(|e| {
                        Error::corrupt(format!("latest checkpoint id of thread '{thread_id}' ns '{ns}'"), e)
                    })?;
                }
                1 if i < bases.len() => {
                    let c = &bases[i].2;
                    ok[i] = text.as_deref() == Some(c.type_tag.as_str()) && len == Some(c.len as i64);
                }
                2 if i < written.len() => {
                    let list = text.as_deref().unwrap_or("[]");
                    stored_tasks[i] = serde_json::from_str(list)
                        .map_err(|e| Error::corrupt(format!("tasks with writes on checkpoint {}", written[i].2), e))?;
                }
                3 if i < parents.len() => {
                    if let (Some(id), Some(h)) = (text, inline) {
                        parent_inline[i].push((id, from_hex(&h).ok_or_else(|| bad(&"inline values not in hex"))?));
                    }
                }
                _ => return Err(Error::corrupt("the write check", format!("an unexpected row ({kind}, {i})"))),
            }
        }
        // Newest first (checkpoint ids sort by time); a parent's own row is its only one.
        let parent_inline = parent_inline
            .into_iter()
            .map(|mut packs| {
                packs.sort_by(|a, b| b.0.cmp(&a.0));
                packs.into_iter().map(|(_, pack)| pack).collect()
            })
            .collect();
        Ok(Checked { latest, base_ok: ok, stored_tasks, parent_inline })
    }

    /// Records the `idx` held by the bundles stored for the tasks of `ops` on the checkpoint
    /// `key` (some of which had writes stored before this transaction), so they are not stored
    /// again.
    async fn load_bundles<'v>(
        &self,
        tx: &mut WriteTx<'_>,
        (t, n, c): (&'v str, &'v str, CheckpointId),
        ops: &'v [Op<'v>],
        bundles: &mut Bundles<'v>,
    ) -> Result<()> {
        let stored: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT task_id, blob FROM checkpoint_writes
             WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id = ?3 AND type = ?4",
        )
        .bind(t)
        .bind(n)
        .bind(c.to_string())
        .bind(TAG_BUNDLE)
        .fetch_all(tx.conn())
        .await
        .map_err(db)?;
        for (task_id, pack) in stored {
            let Some(task) = ops.iter().find_map(|op| match op {
                Op::Writes { config, task_id: id, .. }
                    if (config.thread_id.as_str(), config.checkpoint_ns.as_str(), config.checkpoint_id)
                        == (t, n, Some(c))
                        && *id == task_id =>
                {
                    Some(*id)
                }
                _ => None,
            }) else {
                continue;
            };
            let entries = packed::entries(&pack, || format!("write bundle of task '{task_id}' (checkpoint {c})"))?;
            bundles.bundled.entry((t, n, c, task)).or_default().extend(entries.iter().map(|e| e.number));
        }
        Ok(())
    }

    /// The whole batch in one `BEGIN IMMEDIATE ... COMMIT` (one fsync, none with the default
    /// [`SqliteOptions::batch_durability`]).
    async fn save_batch_impl(&self, ops: &[SaveOp]) -> Result<()> {
        let ops: Vec<Op<'_>> = ops.iter().map(Op::of).collect();
        self.save_ops(&ops, self.batch_durability).await
    }

    async fn delete_thread_impl(&self, thread_id: &str) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        for sql in [
            "DELETE FROM checkpoints WHERE thread_id = ?1",
            "DELETE FROM checkpoint_blobs WHERE thread_id = ?1",
            "DELETE FROM checkpoint_writes WHERE thread_id = ?1",
        ] {
            sqlx::query(sql).bind(thread_id).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        self.deltas.forget_thread(thread_id);
        Ok(())
    }

    async fn copy_thread_impl(&self, source: &str, target: &str) -> Result<()> {
        if source == target {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for sql in [
            "INSERT OR REPLACE INTO checkpoints
               (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values)
             SELECT ?2, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, inline_values
             FROM checkpoints WHERE thread_id = ?1",
            // References name write rows of the same thread, copied along.
            "INSERT OR REPLACE INTO checkpoint_blobs
               (thread_id, checkpoint_ns, channel, version, type, blob, ref_checkpoint_id, ref_task_id, ref_idx)
             SELECT ?2, checkpoint_ns, channel, version, type, blob, ref_checkpoint_id, ref_task_id, ref_idx
             FROM checkpoint_blobs WHERE thread_id = ?1",
            "INSERT OR REPLACE INTO checkpoint_writes
               (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
             SELECT ?2, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
             FROM checkpoint_writes WHERE thread_id = ?1",
        ] {
            sqlx::query(sql).bind(source).bind(target).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        // Its rows were replaced: remembered lists of the target may not be stored any more.
        self.deltas.forget_thread(target);
        Ok(())
    }

    async fn prune_impl(&self, thread_ids: &[String], strategy: PruneStrategy) -> Result<()> {
        match strategy {
            PruneStrategy::DeleteAll => {
                for thread_id in thread_ids {
                    self.delete_thread_impl(thread_id).await?;
                }
                Ok(())
            }
            PruneStrategy::KeepLatest => {
                let (_turn, mut tx) = self.begin_write().await?;
                for thread_id in thread_ids {
                    for sql in [
                        // Everything but the newest checkpoint of each namespace.
                        "DELETE FROM checkpoints WHERE thread_id = ?1 AND checkpoint_id <
                           (SELECT MAX(c.checkpoint_id) FROM checkpoints AS c
                            WHERE c.thread_id = checkpoints.thread_id AND c.checkpoint_ns = checkpoints.checkpoint_ns)",
                        // Blobs no remaining checkpoint refers to, directly or as the base of a delta.
                        "WITH RECURSIVE keep(ns, channel, version) AS (
                           SELECT c.checkpoint_ns, j.key, j.value
                           FROM checkpoints AS c, json_each(c.checkpoint, '$.channel_versions') AS j
                           WHERE c.thread_id = ?1
                           UNION
                           SELECT b.checkpoint_ns, b.channel, CAST(substr(b.type, 8) AS INTEGER) FROM keep
                           JOIN checkpoint_blobs AS b ON b.thread_id = ?1 AND b.checkpoint_ns = keep.ns
                            AND b.channel = keep.channel AND b.version = keep.version
                           WHERE b.type LIKE 'append:%'
                         )
                         DELETE FROM checkpoint_blobs WHERE thread_id = ?1 AND NOT EXISTS
                           (SELECT 1 FROM keep WHERE keep.ns = checkpoint_blobs.checkpoint_ns
                            AND keep.channel = checkpoint_blobs.channel AND keep.version = checkpoint_blobs.version)",
                        // Writes of checkpoints that are gone, but for those a remaining blob refers to
                        // (after the blobs, so writes only deleted blobs referred to go too). Such a
                        // write is never shown as pending: its checkpoint is gone.
                        "DELETE FROM checkpoint_writes WHERE thread_id = ?1 AND NOT EXISTS
                           (SELECT 1 FROM checkpoints AS c WHERE c.thread_id = checkpoint_writes.thread_id
                            AND c.checkpoint_ns = checkpoint_writes.checkpoint_ns
                            AND c.checkpoint_id = checkpoint_writes.checkpoint_id)
                         AND (checkpoint_ns, checkpoint_id, task_id, idx) NOT IN
                           (SELECT checkpoint_ns, ref_checkpoint_id, ref_task_id, ref_idx FROM checkpoint_blobs
                            WHERE thread_id = ?1 AND ref_checkpoint_id IS NOT NULL)
                         AND NOT (type = 'bundle' AND (checkpoint_ns, checkpoint_id, task_id) IN
                           (SELECT checkpoint_ns, ref_checkpoint_id, ref_task_id FROM checkpoint_blobs
                            WHERE thread_id = ?1 AND ref_checkpoint_id IS NOT NULL))",
                    ] {
                        sqlx::query(sql).bind(thread_id).execute(&mut *tx).await.map_err(db)?;
                    }
                }
                tx.commit().await.map_err(db)?;
                for thread_id in thread_ids {
                    self.deltas.forget_thread(thread_id);
                }
                Ok(())
            }
            other => Err(Error::InvalidInput { message: format!("prune strategy {other:?} is not supported") }),
        }
    }
}

impl Checkpointer for SqliteSaver {
    fn get_tuple<'a>(&'a self, config: &'a CheckpointConfig) -> BoxFuture<'a, Result<Option<CheckpointTuple>>> {
        Box::pin(self.get_tuple_impl(config))
    }

    fn list<'a>(&'a self, filter: &'a ListFilter) -> BoxFuture<'a, Result<Vec<CheckpointTuple>>> {
        Box::pin(self.list_impl(filter))
    }

    fn put<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>> {
        Box::pin(self.put_impl(config, checkpoint, metadata, new_versions, false))
    }

    fn put_next<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        checkpoint: &'a Checkpoint,
        metadata: &'a CheckpointMetadata,
        new_versions: &'a ChannelVersions,
    ) -> BoxFuture<'a, Result<CheckpointConfig>> {
        Box::pin(self.put_impl(config, checkpoint, metadata, new_versions, true))
    }

    fn put_writes<'a>(
        &'a self,
        config: &'a CheckpointConfig,
        writes: &'a [(String, Value)],
        task_id: &'a str,
        task_path: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.put_writes_impl(config, writes, task_id, task_path))
    }

    /// One `BEGIN IMMEDIATE ... COMMIT` for the whole batch: one fsync instead of one per save.
    fn save_batch<'a>(&'a self, ops: &'a [SaveOp]) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.save_batch_impl(ops))
    }

    fn delete_thread<'a>(&'a self, thread_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.delete_thread_impl(thread_id))
    }

    fn copy_thread<'a>(&'a self, source: &'a str, target: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.copy_thread_impl(source, target))
    }

    fn prune<'a>(&'a self, thread_ids: &'a [String], strategy: PruneStrategy) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.prune_impl(thread_ids, strategy))
    }
}
