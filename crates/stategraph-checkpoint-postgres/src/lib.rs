//! # stategraph-checkpoint-postgres
//!
//! The production checkpointer: PostgreSQL through a `sqlx` pool, versioned migrations embedded
//! in the binary, metadata as JSONB with list filters evaluated by the server (`metadata @> $1`,
//! GIN-indexed). Any number of processes may write different threads at once: every write is one
//! transaction of idempotent upserts keyed by thread.
//!
//! [`Checkpointer::put_next`] serialises writers of one (thread, namespace) with a transaction
//! advisory lock and compares the latest id under it, so of two runners (in any processes)
//! continuing one thread exactly one wins; the other gets `SG107`.
//!
//! ```
//! use stategraph_checkpoint::{Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer};
//! use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let url = std::env::var("DATABASE_URL").unwrap_or("postgres://postgres:postgres@127.0.0.1:5432/test".into());
//! # let schema = format!("sg_doc_{}", std::process::id());
//! let saver = match PostgresSaver::connect_with(&url, PostgresOptions::default().schema(&schema)).await {
//!     Ok(saver) => saver,
//! #   Err(e) if std::env::var_os("CI").is_none() => {
//! #       let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("*** SKIPPED doc example: {e}\n").as_bytes());
//! #       return Ok(());
//! #   }
//!     Err(e) => panic!("no PostgreSQL at {url}: {e}"),
//! };
//! let mut cp = Checkpoint::empty();
//! cp.channel_values.insert("answer".into(), 42.into());
//! cp.channel_versions.insert("answer".into(), 1);
//! let meta = CheckpointMetadata::new(CheckpointSource::Input, -1);
//! saver.put(&CheckpointConfig::thread("t1"), &cp, &meta, &cp.channel_versions).await?;
//! let tuple = saver.get_tuple(&CheckpointConfig::thread("t1")).await?.expect("stored");
//! assert_eq!(tuple.checkpoint, cp);
//! # sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(saver.pool()).await.unwrap();
//! # Ok::<(), stategraph_checkpoint::Error>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, QueryBuilder};
use stategraph_checkpoint::storage::{
    BaseCheck, CheckpointHeader, DeltaCache, MAX_CHAIN, Staged, WriteRow, decode_channel, encode_writes, version_to_i64,
};
use stategraph_checkpoint::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointId, CheckpointMetadata, CheckpointTuple, Checkpointer,
    Error, ListFilter, MsgpackSerde, PendingWrite, PruneStrategy, Result, SaveOp, Serde,
};
use stategraph_value::Value;

const BACKEND: &str = "postgres";

fn db(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// Options of [`PostgresSaver::connect_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Keep the tables in this schema (created if missing; set as each connection's
    /// `search_path`). `None`: the server's default search path (usually `public`).
    pub schema: Option<String>,
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection before failing (SG104).
    pub acquire_timeout: Duration,
    /// The value codec.
    pub serde: Arc<dyn Serde>,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            schema: None,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            serde: Arc::new(MsgpackSerde),
        }
    }
}

impl PostgresOptions {
    /// Sets the schema (letters, digits and `_`, not starting with a digit).
    pub fn schema(mut self, schema: impl Into<String>) -> PostgresOptions {
        self.schema = Some(schema.into());
        self
    }
    /// Sets the pool size (at least 1).
    pub fn max_connections(mut self, n: u32) -> PostgresOptions {
        self.max_connections = n.max(1);
        self
    }
    /// Sets how long to wait for a connection.
    pub fn acquire_timeout(mut self, timeout: Duration) -> PostgresOptions {
        self.acquire_timeout = timeout;
        self
    }
    /// Sets the codec (e.g. a host codec for foreign values).
    pub fn serde(mut self, serde: Arc<dyn Serde>) -> PostgresOptions {
        self.serde = serde;
        self
    }
}

/// A [`Checkpointer`] on PostgreSQL. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct PostgresSaver {
    pool: PgPool,
    serde: Arc<dyn Serde>,
    /// The lists stored last, so a growing list is stored as deltas (see `storage::DeltaCache`).
    deltas: DeltaCache,
}

type CheckpointRow = (String, String, String, Option<String>, String, String);

const UPSERT_WRITE: &str = "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob, task_path = EXCLUDED.task_path";

const SELECT_CHECKPOINT: &str = "SELECT thread_id, checkpoint_ns, checkpoint_id::text, parent_checkpoint_id::text, \
                                 checkpoint::text, metadata::text FROM checkpoints";

fn quote_schema(schema: &str) -> Result<String> {
    let valid = schema.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && schema.len() <= 63;
    if !valid {
        return Err(Error::InvalidInput { message: format!("invalid schema name '{schema}'") });
    }
    Ok(format!("\"{schema}\""))
}

/// Fails with a clear SG105 when the schema the pool works in already holds tables of the same
/// names that this saver's migrations did not create: LangGraph's `PostgresSaver` names its tables
/// `checkpoints`, `checkpoint_blobs` and `checkpoint_writes` too, and another application using
/// sqlx keeps its own `_sqlx_migrations` there. Without this check the first migration fails on
/// "relation already exists", or sqlx reports a modified migration, and neither says what to do.
/// Nothing is written before the check, so the other tables are left as they are.
async fn refuse_foreign_tables(pool: &PgPool, migrator: &sqlx::migrate::Migrator) -> Result<()> {
    let Some(first) = migrator.iter().next() else { return Ok(()) };
    // The schema new tables go to (the first of the search path that exists), and what it holds.
    let (schema, checkpoints, migrations): (Option<String>, bool, bool) = sqlx::query_as(
        "SELECT current_schema()::text, \
         EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'checkpoints'), \
         EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    // No schema to create tables in: the migration says so itself.
    let Some(schema) = schema else { return Ok(()) };
    let refuse = |what: String| {
        Err(Error::Migration {
            backend: BACKEND,
            message: format!(
                "schema \"{schema}\" already holds {what}; Stategraph's tables need a schema of their own: \
                 set `PostgresOptions::schema` (e.g. \"stategraph\"; it is created if missing), or give the \
                 connection another search path (`?options=-csearch_path%3Dstategraph` in the URL, with \
                 that schema created first). Nothing was changed in \"{schema}\"."
            ),
        })
    };
    if migrations {
        // Unqualified, as sqlx's migrator names it: the current schema is the first one of the
        // search path that exists, so this is the table found above.
        let checksum: Option<Vec<u8>> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
            .bind(first.version)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
        match checksum {
            Some(c) if c.as_slice() == &*first.checksum => return Ok(()),
            Some(_) => {
                return refuse(format!(
                    "another application's sqlx migrations (its migration {} is not Stategraph's)",
                    first.version
                ));
            }
            None => {}
        }
    }
    if checkpoints {
        return refuse(
            "a `checkpoints` table that Stategraph's migrations did not create (LangGraph's PostgresSaver \
             uses the same table names)"
                .to_owned(),
        );
    }
    Ok(())
}

impl PostgresSaver {
    /// Connects with default options and migrates the database.
    pub async fn connect(url: &str) -> Result<PostgresSaver> {
        PostgresSaver::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects (creating the schema if one is set) and migrates the database.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresSaver> {
        let mut connect: PgConnectOptions = url.parse().map_err(db)?;
        if let Some(schema) = &options.schema {
            let quoted = quote_schema(schema)?;
            let mut conn = PgConnection::connect_with(&connect).await.map_err(db)?;
            // `CREATE SCHEMA IF NOT EXISTS` races when processes start together (both see no
            // schema, one fails on the catalog's unique index), so creators take turns.
            let mut tx = conn.begin().await.map_err(db)?;
            tx.execute("SELECT pg_advisory_xact_lock(5347201178236331)").await.map_err(db)?;
            tx.execute(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            conn.close().await.map_err(db)?;
            connect = connect.options([("search_path", quoted)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(db)?;
        PostgresSaver::from_pool(pool, options.serde).await
    }

    /// Uses an existing pool (its connections' `search_path` decides the schema) and migrates
    /// the database. Migrations take an advisory lock, so many processes may start at once.
    pub async fn from_pool(pool: PgPool, serde: Arc<dyn Serde>) -> Result<PostgresSaver> {
        let migrator = sqlx::migrate!("./migrations");
        refuse_foreign_tables(&pool, &migrator).await?;
        migrator.run(&pool).await.map_err(|e| Error::Migration { backend: BACKEND, message: e.to_string() })?;
        Ok(PostgresSaver { pool, serde, deltas: DeltaCache::new() })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn load_tuple(&self, conn: &mut PgConnection, row: CheckpointRow) -> Result<CheckpointTuple> {
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
               SELECT b.channel, b.version, b.type, b.blob, 0 FROM jsonb_each_text($1::jsonb) AS j
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = $2 AND b.checkpoint_ns = $3 AND b.channel = j.key AND b.version = j.value::bigint
               UNION ALL
               SELECT b.channel, b.version, b.type, b.blob, chain.depth + 1 FROM chain
               JOIN checkpoint_blobs AS b
                 ON b.thread_id = $2 AND b.checkpoint_ns = $3 AND b.channel = chain.channel
                AND b.version = substr(chain.type, 8)::bigint
               WHERE chain.type ~ '^append:[0-9]{1,18}$' AND chain.depth < $4
             )
             SELECT channel, version, type, blob FROM chain",
        )
        .bind(versions)
        .bind(&thread_id)
        .bind(&checkpoint_ns)
        .bind(MAX_CHAIN as i32)
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
             WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3::uuid
             ORDER BY task_path COLLATE \"C\", task_id COLLATE \"C\", idx",
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

    /// A read-only transaction with one snapshot for the checkpoints and their blobs and writes.
    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db)
    }

    async fn get_tuple_impl(&self, config: &CheckpointConfig) -> Result<Option<CheckpointTuple>> {
        let mut tx = self.begin_read().await?;
        let mut q = QueryBuilder::new(SELECT_CHECKPOINT);
        q.push(" WHERE thread_id = ").push_bind(&config.thread_id);
        q.push(" AND checkpoint_ns = ").push_bind(&config.checkpoint_ns);
        match config.checkpoint_id {
            Some(id) => {
                q.push(" AND checkpoint_id = ").push_bind(id.to_string()).push("::uuid");
            }
            None => {
                q.push(" ORDER BY checkpoint_id DESC LIMIT 1");
            }
        }
        let row: Option<CheckpointRow> = q.build_query_as().fetch_optional(&mut *tx).await.map_err(db)?;
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
        let mut q = QueryBuilder::new(SELECT_CHECKPOINT);
        q.push(" WHERE TRUE");
        if let Some(thread_id) = &filter.thread_id {
            q.push(" AND thread_id = ").push_bind(thread_id);
        }
        if let Some(ns) = &filter.checkpoint_ns {
            q.push(" AND checkpoint_ns = ").push_bind(ns);
        }
        if let Some(before) = filter.before {
            q.push(" AND checkpoint_id < ").push_bind(before.to_string()).push("::uuid");
        }
        if let Some(metadata) = &filter.metadata {
            // JSONB containment: the same rules `metadata_matches` implements for the other backends.
            let json = serde_json::to_string(metadata)
                .map_err(|e| Error::Encode { what: "metadata filter".into(), message: e.to_string() })?;
            q.push(" AND metadata @> ").push_bind(json).push("::jsonb");
        }
        // Byte order for the tie-breakers, like the other backends (not the database's collation).
        q.push(" ORDER BY checkpoint_id DESC, thread_id COLLATE \"C\", checkpoint_ns COLLATE \"C\"");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let mut tx = self.begin_read().await?;
        let rows: Vec<CheckpointRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.load_tuple(&mut tx, row).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    /// `put`, or with `only_if_latest` `put_next`, in one transaction.
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
        let mut tx = self.pool.begin().await.map_err(db)?;
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

    /// The statements of one put. With `only_if_latest` the transaction first takes an advisory
    /// lock on (thread, ns), held until it ends, and reads the latest id under it. Under READ
    /// COMMITTED that read sees every checkpoint committed by an earlier holder of the lock (and
    /// the earlier puts of the same transaction), so of racing callers from the same parent
    /// exactly one finds its parent still latest. A plain `put` takes no lock: callers who want
    /// the guarantee use `put_next` for every step.
    #[allow(clippy::too_many_arguments)]
    async fn put_in_tx(
        &self,
        tx: &mut PgConnection,
        config: &CheckpointConfig,
        checkpoint: &Checkpoint,
        header: &str,
        metadata: &str,
        new_versions: &ChannelVersions,
        only_if_latest: bool,
        staged: &mut Staged,
    ) -> Result<()> {
        if only_if_latest {
            // The lock key is a hash: two (thread, ns) pairs that collide only take turns.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 7346))")
                .bind(&config.thread_id)
                .bind(&config.checkpoint_ns)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT checkpoint_id::text FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2
                 ORDER BY checkpoint_id DESC LIMIT 1",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let latest = latest
                .map(|l| l.parse::<CheckpointId>())
                .transpose()
                .map_err(|e| Error::corrupt(format!("latest checkpoint id of thread '{}'", config.thread_id), e))?;
            if latest != config.checkpoint_id {
                // Nothing of this put was written.
                return Err(Error::conflict(config, latest));
            }
        }
        // A delta is written only on a base row still stored as remembered; `FOR SHARE` keeps it
        // so until this transaction ends.
        let mut verified: Vec<BaseCheck> = Vec::new();
        for candidate in self.deltas.candidates(config, checkpoint, new_versions, staged) {
            let found: Option<(String, i64)> = sqlx::query_as(
                "SELECT type, octet_length(blob)::bigint FROM checkpoint_blobs
                 WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4 FOR SHARE",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
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
        let mut channels = Vec::with_capacity(blobs.len());
        let mut versions = Vec::with_capacity(blobs.len());
        let mut tags = Vec::with_capacity(blobs.len());
        let mut bytes = Vec::with_capacity(blobs.len());
        for b in blobs {
            channels.push(b.channel);
            versions.push(version_to_i64(b.version)?);
            tags.push(b.type_tag);
            bytes.push(b.bytes);
        }
        if !channels.is_empty() {
            sqlx::query(
                "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
                 SELECT $1, $2, u.channel, u.version, u.type, u.blob
                 FROM UNNEST($3::text[], $4::bigint[], $5::text[], $6::bytea[]) AS u(channel, version, type, blob)
                 ON CONFLICT (thread_id, checkpoint_ns, channel, version)
                 DO UPDATE SET type = EXCLUDED.type, blob = EXCLUDED.blob",
            )
            .bind(&config.thread_id)
            .bind(&config.checkpoint_ns)
            .bind(&channels)
            .bind(&versions)
            .bind(&tags)
            .bind(&bytes)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
             VALUES ($1, $2, $3::uuid, $4::uuid, $5::jsonb, $6::jsonb)
             ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
             DO UPDATE SET parent_checkpoint_id = EXCLUDED.parent_checkpoint_id,
                           checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata",
        )
        .bind(&config.thread_id)
        .bind(&config.checkpoint_ns)
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        Self::put_writes_in_tx(&mut tx, config, id, rows, task_id, task_path).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn put_writes_in_tx(
        tx: &mut PgConnection,
        config: &CheckpointConfig,
        id: CheckpointId,
        rows: Vec<WriteRow>,
        task_id: &str,
        task_path: &str,
    ) -> Result<()> {
        let id = id.to_string();
        // One statement per kind. Within one call a key may repeat only for special channels:
        // the last upsert wins, as it would row by row (a statement may not update a row twice).
        let mut upserts: BTreeMap<i64, _> = BTreeMap::new();
        let mut inserts = Vec::new();
        for row in rows {
            if row.upsert {
                upserts.insert(row.idx, row);
            } else {
                inserts.push(row);
            }
        }
        for (rows, conflict) in [(upserts.into_values().collect::<Vec<_>>(), UPSERT_WRITE), (inserts, "DO NOTHING")] {
            if rows.is_empty() {
                continue;
            }
            let idx: Vec<i64> = rows.iter().map(|r| r.idx).collect();
            let channels: Vec<&str> = rows.iter().map(|r| r.channel.as_str()).collect();
            let tags: Vec<&str> = rows.iter().map(|r| r.type_tag.as_str()).collect();
            let bytes: Vec<&[u8]> = rows.iter().map(|r| r.bytes.as_slice()).collect();
            let mut q = QueryBuilder::new(
                "INSERT INTO checkpoint_writes
                   (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
                 SELECT $1, $2, $3::uuid, $4, u.idx, u.channel, u.type, u.blob, $5
                 FROM UNNEST($6::bigint[], $7::text[], $8::text[], $9::bytea[]) AS u(idx, channel, type, blob)
                 ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ",
            );
            q.push(conflict);
            q.build()
                .bind(&config.thread_id)
                .bind(&config.checkpoint_ns)
                .bind(&id)
                .bind(task_id)
                .bind(task_path)
                .bind(idx)
                .bind(channels)
                .bind(tags)
                .bind(bytes)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// One operation of a batch, inside the batch's transaction.
    async fn save_op(&self, tx: &mut PgConnection, op: &SaveOp, staged: &mut Staged) -> Result<()> {
        match op {
            SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest } => {
                let header = CheckpointHeader::of(checkpoint).to_json()?;
                let metadata = metadata.to_json()?;
                self.put_in_tx(tx, config, checkpoint, &header, &metadata, new_versions, *only_if_latest, staged).await
            }
            SaveOp::PutWrites { config, writes, task_id, task_path } => {
                let id = config.require_checkpoint_id()?;
                let rows = encode_writes(&*self.serde, writes)?;
                Self::put_writes_in_tx(tx, config, id, rows, task_id, task_path).await
            }
        }
    }

    /// The whole batch in one transaction (one WAL flush). Each operation runs under a savepoint,
    /// so when one fails, what it wrote is undone and the operations before it are committed; the
    /// error is returned. Advisory locks of `put_next`s are held until the commit.
    async fn save_batch_impl(&self, ops: &[SaveOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut staged = Staged::default();
        let mut failure = None;
        let mut committed_mark = 0;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for op in ops {
            tx.execute("SAVEPOINT sg_op").await.map_err(db)?;
            match self.save_op(&mut tx, op, &mut staged).await {
                Ok(()) => {
                    tx.execute("RELEASE SAVEPOINT sg_op").await.map_err(db)?;
                    committed_mark = staged.mark();
                }
                Err(e) => {
                    tx.execute("ROLLBACK TO SAVEPOINT sg_op").await.map_err(db)?;
                    tx.execute("RELEASE SAVEPOINT sg_op").await.map_err(db)?;
                    failure = Some(e);
                    break;
                }
            }
        }
        tx.commit().await.map_err(db)?;
        self.deltas.commit_prefix(staged, committed_mark);
        failure.map_or(Ok(()), Err)
    }

    async fn delete_threads(&self, thread_ids: &[String]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for sql in [
            "DELETE FROM checkpoints WHERE thread_id = ANY($1)",
            "DELETE FROM checkpoint_blobs WHERE thread_id = ANY($1)",
            "DELETE FROM checkpoint_writes WHERE thread_id = ANY($1)",
        ] {
            sqlx::query(sql).bind(thread_ids).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        for thread_id in thread_ids {
            self.deltas.forget_thread(thread_id);
        }
        Ok(())
    }

    async fn copy_thread_impl(&self, source: &str, target: &str) -> Result<()> {
        if source == target {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        for sql in [
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
             SELECT $2, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata
             FROM checkpoints WHERE thread_id = $1
             ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
             DO UPDATE SET parent_checkpoint_id = EXCLUDED.parent_checkpoint_id,
                           checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata",
            "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
             SELECT $2, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = $1
             ON CONFLICT (thread_id, checkpoint_ns, channel, version)
             DO UPDATE SET type = EXCLUDED.type, blob = EXCLUDED.blob",
            "INSERT INTO checkpoint_writes
               (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
             SELECT $2, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
             FROM checkpoint_writes WHERE thread_id = $1
             ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
             DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob,
                           task_path = EXCLUDED.task_path",
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
            PruneStrategy::DeleteAll => self.delete_threads(thread_ids).await,
            PruneStrategy::KeepLatest => {
                let mut tx = self.pool.begin().await.map_err(db)?;
                for sql in [
                    // Everything but the newest checkpoint of each namespace.
                    "DELETE FROM checkpoints AS c WHERE c.thread_id = ANY($1) AND c.checkpoint_id <>
                       (SELECT l.checkpoint_id FROM checkpoints AS l
                        WHERE l.thread_id = c.thread_id AND l.checkpoint_ns = c.checkpoint_ns
                        ORDER BY l.checkpoint_id DESC LIMIT 1)",
                    // Writes of checkpoints that are gone.
                    "DELETE FROM checkpoint_writes AS w WHERE w.thread_id = ANY($1) AND NOT EXISTS
                       (SELECT 1 FROM checkpoints AS c WHERE c.thread_id = w.thread_id
                        AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)",
                    // Blobs no remaining checkpoint refers to, directly or as the base of a delta.
                    "WITH RECURSIVE keep(thread_id, ns, channel, version) AS (
                       SELECT c.thread_id, c.checkpoint_ns, j.key, j.value::bigint
                       FROM checkpoints AS c, jsonb_each_text(c.checkpoint -> 'channel_versions') AS j
                       WHERE c.thread_id = ANY($1)
                       UNION
                       SELECT b.thread_id, b.checkpoint_ns, b.channel, substr(b.type, 8)::bigint FROM keep
                       JOIN checkpoint_blobs AS b ON b.thread_id = keep.thread_id AND b.checkpoint_ns = keep.ns
                        AND b.channel = keep.channel AND b.version = keep.version
                       WHERE b.type ~ '^append:[0-9]{1,18}$'
                     )
                     DELETE FROM checkpoint_blobs AS b WHERE b.thread_id = ANY($1) AND NOT EXISTS
                       (SELECT 1 FROM keep WHERE keep.thread_id = b.thread_id AND keep.ns = b.checkpoint_ns
                        AND keep.channel = b.channel AND keep.version = b.version)",
                ] {
                    sqlx::query(sql).bind(thread_ids).execute(&mut *tx).await.map_err(db)?;
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

impl Checkpointer for PostgresSaver {
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

    /// One transaction for the whole batch: one WAL flush instead of one per save.
    fn save_batch<'a>(&'a self, ops: &'a [SaveOp]) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.save_batch_impl(ops))
    }

    fn delete_thread<'a>(&'a self, thread_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.delete_threads(&[thread_id.to_owned()]).await })
    }

    fn copy_thread<'a>(&'a self, source: &'a str, target: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.copy_thread_impl(source, target))
    }

    fn prune<'a>(&'a self, thread_ids: &'a [String], strategy: PruneStrategy) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.prune_impl(thread_ids, strategy))
    }
}
