//! # stategraph-checkpoint-sqlite
//!
//! The embedded default checkpointer: one SQLite file (via `sqlx`), in WAL mode so readers never
//! wait for the writer, with a busy timeout and `BEGIN IMMEDIATE` write transactions so writers
//! from several processes queue instead of failing, and versioned migrations embedded in the
//! binary. Every commit is fsynced by default ([`Durability::Sync`], `synchronous=FULL`).
//!
//! [`Checkpointer::put_next`] checks that its parent is still the thread's latest checkpoint
//! inside the `BEGIN IMMEDIATE` transaction, so of two runners continuing one thread exactly one
//! wins, even when they are separate processes on the same file; the other gets `SG107`.
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
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Transaction};
use stategraph_checkpoint::storage::{
    BaseCheck, CheckpointHeader, DeltaCache, MAX_CHAIN, Staged, WriteRow, decode_channel, encode_writes, version_to_i64,
};
use stategraph_checkpoint::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointId, CheckpointMetadata, CheckpointTuple, Checkpointer,
    Error, ListFilter, MsgpackSerde, PendingWrite, PruneStrategy, Result, SaveOp, Serde, metadata_matches,
};
use stategraph_value::Value;
use tokio::sync::{Mutex, MutexGuard};

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
    /// Durability of commits.
    pub durability: Durability,
    /// How long a writer waits for another process's write lock before failing (SG104).
    pub busy_timeout: Duration,
    /// Connections in the pool (readers run in parallel; writers take turns).
    pub max_connections: u32,
    /// The value codec.
    pub serde: Arc<dyn Serde>,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            durability: Durability::Sync,
            busy_timeout: Duration::from_secs(30),
            max_connections: 4,
            serde: Arc::new(MsgpackSerde),
        }
    }
}

impl SqliteOptions {
    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> SqliteOptions {
        self.durability = durability;
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
    /// `BEGIN IMMEDIATE` still orders them against other processes.
    write_lock: Mutex<()>,
    serde: Arc<dyn Serde>,
    /// The lists stored last, so a growing list is stored as deltas (see `storage::DeltaCache`).
    deltas: DeltaCache,
}

type CheckpointRow = (String, String, String, Option<String>, String, String);

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
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(connect)
            .await
            .map_err(db)?;
        SqliteSaver::from_pool(pool, options.serde).await
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

    /// Uses an existing pool (configured by the caller) and migrates the database.
    pub async fn from_pool(pool: SqlitePool, serde: Arc<dyn Serde>) -> Result<SqliteSaver> {
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| Error::Migration { backend: BACKEND, message: e.to_string() })?;
        Ok(SqliteSaver { pool, write_lock: Mutex::new(()), serde, deltas: DeltaCache::new() })
    }

    /// The connection pool (for inspection, backups, `PRAGMA integrity_check`).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish (the WAL is checkpointed on close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write: this process's turn, then a `BEGIN IMMEDIATE` transaction (which takes
    /// SQLite's write lock up front, so it cannot fail half-way with SQLITE_BUSY on upgrade).
    /// Dropping the transaction without `commit` rolls back.
    async fn begin_write(&self) -> Result<(MutexGuard<'_, ()>, Transaction<'static, Sqlite>)> {
        let turn = self.write_lock.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        Ok((turn, tx))
    }

    async fn load_tuple(&self, conn: &mut SqliteConnection, row: CheckpointRow) -> Result<CheckpointTuple> {
        let (thread_id, checkpoint_ns, id, parent, header, metadata) = row;
        let id: CheckpointId = id.parse().map_err(|e| Error::corrupt("checkpoint id", e))?;
        let parent = parent
            .map(|p| p.parse::<CheckpointId>())
            .transpose()
            .map_err(|e| Error::corrupt(format!("parent of checkpoint {id}"), e))?;
        let header = CheckpointHeader::from_json(&header, id)?;
        let metadata =
            CheckpointMetadata::from_json(&metadata).map_err(|e| e.at(format!("metadata of checkpoint {id}")))?;

        let versions = serde_json::to_string(&header.channel_versions)
            .map_err(|e| Error::Encode { what: "channel versions".into(), message: e.to_string() })?;
        // The blobs the header names and, for deltas, their bases (the base version is in the tag).
        let blobs: Vec<(String, i64, String, Vec<u8>)> = sqlx::query_as(
            "WITH RECURSIVE chain(channel, version, type, blob, depth) AS (
               SELECT b.channel, b.version, b.type, b.blob, 0 FROM json_each(?1) AS j
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = ?2 AND b.checkpoint_ns = ?3 AND b.channel = j.key AND b.version = j.value
               UNION
               SELECT b.channel, b.version, b.type, b.blob, chain.depth + 1 FROM chain
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = ?2 AND b.checkpoint_ns = ?3 AND b.channel = chain.channel
                AND b.version = CAST(substr(chain.type, 8) AS INTEGER)
               WHERE chain.type LIKE 'append:%' AND chain.depth < ?4
             )
             SELECT channel, version, type, blob FROM chain",
        )
        .bind(versions)
        .bind(&thread_id)
        .bind(&checkpoint_ns)
        .bind(MAX_CHAIN as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let mut by_channel: HashMap<String, HashMap<u64, (String, Vec<u8>)>> = HashMap::new();
        for (channel, version, tag, bytes) in blobs {
            let version =
                u64::try_from(version).map_err(|e| Error::corrupt(format!("blob version of '{channel}'"), e))?;
            by_channel.entry(channel).or_default().insert(version, (tag, bytes));
        }
        let no_rows = HashMap::new();
        let mut values = BTreeMap::new();
        for (channel, &version) in &header.channel_versions {
            let rows = by_channel.get(channel).unwrap_or(&no_rows);
            let missing = |v: u64| Error::MissingBlob {
                thread_id: thread_id.clone(),
                checkpoint_ns: checkpoint_ns.clone(),
                checkpoint_id: id.to_string(),
                channel: channel.clone(),
                version: v,
            };
            let location =
                |v: u64| format!("blob thread='{thread_id}' ns='{checkpoint_ns}' channel '{channel}' version {v}");
            if let Some(value) = decode_channel(&*self.serde, rows, version, missing, location)? {
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
        let pending_writes = writes
            .into_iter()
            .map(|(task_id, channel, tag, bytes, task_path, idx)| {
                let value = self
                    .serde
                    .loads(&tag, &bytes)
                    .map_err(|e| e.at(format!("write of task '{task_id}' to channel '{channel}' (checkpoint {id})")))?;
                Ok(PendingWrite { task_id, channel, value, task_path, idx })
            })
            .collect::<Result<Vec<_>>>()?;

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
        // One read transaction: the checkpoint, its blobs and writes come from one snapshot.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row: Option<CheckpointRow> = match config.checkpoint_id {
            Some(id) => sqlx::query_as(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata
                 FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id = ?3",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
            None => sqlx::query_as(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata
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
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata
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
        let header = CheckpointHeader::of(checkpoint).to_json()?;
        let metadata = metadata.to_json()?;
        let mut staged = Staged::default();
        let (_turn, mut tx) = self.begin_write().await?;
        self.put_in_tx(&mut tx, config, checkpoint, &header, &metadata, new_versions, only_if_latest, &mut staged)
            .await?;
        tx.commit().await.map_err(db)?;
        self.deltas.commit(staged);
        Ok(CheckpointConfig {
            thread_id: config.thread_id.clone(),
            checkpoint_ns: config.checkpoint_ns.clone(),
            checkpoint_id: Some(checkpoint.id),
        })
    }

    /// The statements of one put. The `put_next` check runs inside the `BEGIN IMMEDIATE`
    /// transaction, which holds SQLite's write lock from its start, so no other connection (of
    /// this or another process) can add a checkpoint between the check and the insert; it sees the
    /// earlier puts of the same transaction (a batch). Values are encoded here, under the lock,
    /// because a delta may only be based on a row this transaction has seen stored as expected.
    #[allow(clippy::too_many_arguments)]
    async fn put_in_tx(
        &self,
        tx: &mut SqliteConnection,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        header: &str,
        metadata: &str,
        new_versions: &ChannelVersions,
        only_if_latest: bool,
        staged: &mut Staged,
    ) -> Result<()> {
        let (thread_id, ns) = (&config.thread_id, &config.checkpoint_ns);
        if only_if_latest {
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ?2",
            )
            .bind(thread_id)
            .bind(ns)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let latest = latest
                .map(|l| l.parse::<CheckpointId>())
                .transpose()
                .map_err(|e| Error::corrupt(format!("latest checkpoint id of thread '{thread_id}'"), e))?;
            if latest != config.checkpoint_id {
                // Nothing of this put was written.
                return Err(Error::conflict(config, latest));
            }
        }
        let mut verified: Vec<BaseCheck> = Vec::new();
        for candidate in self.deltas.candidates(config, checkpoint, new_versions, staged) {
            let found: Option<(String, i64)> = sqlx::query_as(
                "SELECT type, length(blob) FROM checkpoint_blobs
                 WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND channel = ?3 AND version = ?4",
            )
            .bind(thread_id)
            .bind(ns)
            .bind(&candidate.channel)
            .bind(version_to_i64(candidate.base_version)?)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            if found.is_some_and(|(tag, len)| tag == candidate.type_tag && len == candidate.len as i64) {
                verified.push(candidate);
            }
        }
        let blobs = self.deltas.encode_blobs(&*self.serde, config, checkpoint, new_versions, &verified, staged)?;
        if !blobs.is_empty() {
            // One multi-row statement: one round trip to sqlx's worker for all blobs.
            let mut sql = String::from(
                "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) VALUES ",
            );
            // Numbered parameters only: sqlx numbers bare `?`s from 1 whatever precedes them.
            for i in 0..blobs.len() {
                let p = 3 + 4 * i;
                let sep = if i == 0 { "" } else { ", " };
                sql.push_str(&format!("{sep}(?1, ?2, ?{}, ?{}, ?{}, ?{})", p, p + 1, p + 2, p + 3));
            }
            sql.push_str(
                " ON CONFLICT (thread_id, checkpoint_ns, channel, version)
                 DO UPDATE SET type = excluded.type, blob = excluded.blob",
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(thread_id).bind(ns);
            for b in &blobs {
                q = q.bind(&b.channel).bind(version_to_i64(b.version)?).bind(&b.type_tag).bind(&b.bytes);
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
             DO UPDATE SET parent_checkpoint_id = excluded.parent_checkpoint_id,
                           checkpoint = excluded.checkpoint, metadata = excluded.metadata",
        )
        .bind(thread_id)
        .bind(ns)
        .bind(checkpoint.id.to_string())
        .bind(config.checkpoint_id.map(|p| p.to_string()))
        .bind(header)
        .bind(metadata)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn put_writes_impl(
        &self,
        config: &CheckpointConfig,
        writes: &[(String, Value)],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let id = config.require_checkpoint_id()?;
        let rows = encode_writes(&*self.serde, writes)?;
        let (_turn, mut tx) = self.begin_write().await?;
        Self::put_writes_in_tx(&mut tx, config, id, &rows, task_id, task_path).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn put_writes_in_tx(
        tx: &mut SqliteConnection,
        config: &CheckpointConfig,
        id: CheckpointId,
        rows: &[WriteRow],
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let id = id.to_string();
        for row in rows {
            let sql = if row.upsert {
                "INSERT INTO checkpoint_writes
                   (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
                 DO UPDATE SET channel = excluded.channel, type = excluded.type, blob = excluded.blob,
                               task_path = excluded.task_path"
            } else {
                "INSERT INTO checkpoint_writes
                   (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO NOTHING"
            };
            sqlx::query(sql)
                .bind(&config.thread_id)
                .bind(&config.checkpoint_ns)
                .bind(&id)
                .bind(task_id)
                .bind(row.idx)
                .bind(&row.channel)
                .bind(&row.type_tag)
                .bind(&row.bytes)
                .bind(task_path)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// One operation of a batch, inside the batch's transaction.
    async fn save_op(&self, tx: &mut SqliteConnection, op: &SaveOp, staged: &mut Staged) -> Result<()> {
        match op {
            SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                let header = CheckpointHeader::of(checkpoint).to_json()?;
                let metadata = metadata.to_json()?;
                self.put_in_tx(tx, config, checkpoint, &header, &metadata, new_versions, *only_if_latest, staged).await
            }
            SaveOp::PutWrites { config, writes, task_id, task_path } => {
                let id = config.require_checkpoint_id()?;
                let rows = encode_writes(&*self.serde, writes)?;
                Self::put_writes_in_tx(tx, config, id, &rows, task_id, task_path).await
            }
        }
    }

    /// The whole batch in one `BEGIN IMMEDIATE ... COMMIT` (one fsync). Each operation runs under a
    /// savepoint, so when one fails, what it wrote is undone and the operations before it are
    /// committed; the error is returned.
    async fn save_batch_impl(&self, ops: &[SaveOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut staged = Staged::default();
        let mut failure = None;
        let mut committed_mark = 0;
        let (_turn, mut tx) = self.begin_write().await?;
        for op in ops {
            sqlx::query("SAVEPOINT sg_op").execute(&mut *tx).await.map_err(db)?;
            match self.save_op(&mut tx, op, &mut staged).await {
                Ok(()) => {
                    sqlx::query("RELEASE sg_op").execute(&mut *tx).await.map_err(db)?;
                    committed_mark = staged.mark();
                }
                Err(e) => {
                    sqlx::query("ROLLBACK TO sg_op").execute(&mut *tx).await.map_err(db)?;
                    sqlx::query("RELEASE sg_op").execute(&mut *tx).await.map_err(db)?;
                    failure = Some(e);
                    break;
                }
            }
        }
        tx.commit().await.map_err(db)?;
        self.deltas.commit_prefix(staged, committed_mark);
        failure.map_or(Ok(()), Err)
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
               (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
             SELECT ?2, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata
             FROM checkpoints WHERE thread_id = ?1",
            "INSERT OR REPLACE INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
             SELECT ?2, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = ?1",
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
                        // Writes of checkpoints that are gone.
                        "DELETE FROM checkpoint_writes WHERE thread_id = ?1 AND NOT EXISTS
                           (SELECT 1 FROM checkpoints AS c WHERE c.thread_id = checkpoint_writes.thread_id
                            AND c.checkpoint_ns = checkpoint_writes.checkpoint_ns
                            AND c.checkpoint_id = checkpoint_writes.checkpoint_id)",
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
