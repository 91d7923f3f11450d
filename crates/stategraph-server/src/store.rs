//! The server's own records — threads, runs and assistants — in SQL tables beside the
//! checkpoints (`sg_server_threads`, `sg_server_runs`, `sg_server_assistants`,
//! `sg_server_assistant_versions`), on SQLite or PostgreSQL with the same statements
//! (`$n` placeholders, text columns). Structured fields are stored as JSON text.

use serde_json::{Value as Json, json};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::ServerError;

/// A thread's record (`GET /threads/{id}`).
#[derive(Debug, Clone)]
pub(crate) struct Thread {
    pub(crate) thread_id: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) state_updated_at: String,
    pub(crate) metadata: Json,
    /// `idle`, `busy`, `interrupted` or `error`.
    pub(crate) status: String,
    pub(crate) config: Json,
    pub(crate) values: Json,
    /// `None` until a run finished: the fresh-thread shape omits `error` and `interrupts`.
    pub(crate) error: Option<Json>,
    pub(crate) interrupts: Option<Json>,
}

impl Thread {
    /// A new idle thread.
    pub(crate) fn new(thread_id: String, metadata: Json) -> Thread {
        let now = crate::time::now();
        Thread {
            thread_id,
            created_at: now.clone(),
            updated_at: now.clone(),
            state_updated_at: now,
            metadata,
            status: "idle".into(),
            config: json!({}),
            values: Json::Null,
            error: None,
            interrupts: None,
        }
    }

    /// The API shape.
    pub(crate) fn to_json(&self) -> Json {
        let mut j = json!({
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "state_updated_at": self.state_updated_at,
            "metadata": self.metadata,
            "status": self.status,
            "config": self.config,
            "values": self.values,
        });
        if let Some(interrupts) = &self.interrupts {
            j["error"] = self.error.clone().unwrap_or(Json::Null);
            j["interrupts"] = interrupts.clone();
        }
        j
    }
}

/// A run's record (`GET /threads/{t}/runs/{r}`).
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    pub(crate) assistant_id: String,
    pub(crate) metadata: Json,
    /// `pending`, `running`, `success`, `error`, `timeout` or `interrupted`.
    pub(crate) status: String,
    pub(crate) kwargs: Json,
    pub(crate) multitask_strategy: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl Run {
    /// The API shape.
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "metadata": self.metadata,
            "status": self.status,
            "kwargs": self.kwargs,
            "multitask_strategy": self.multitask_strategy,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "langsmith_session_name": null,
        })
    }
}

/// An assistant created through the API (system assistants are not stored: they are derived
/// from the served graphs).
#[derive(Debug, Clone)]
pub(crate) struct Assistant {
    pub(crate) assistant_id: String,
    pub(crate) graph_id: String,
    pub(crate) config: Json,
    pub(crate) context: Json,
    pub(crate) metadata: Json,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) version: i64,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl Assistant {
    /// The API shape.
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "name": self.name,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "description": self.description,
        })
    }
}

/// The database behind the store.
#[derive(Clone)]
pub(crate) enum Db {
    /// One SQLite database (one process).
    Sqlite(SqlitePool),
    /// PostgreSQL (any number of processes).
    Postgres(PgPool),
}

/// Runs one statement on either backend; the rows affected.
macro_rules! execute {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            Db::Sqlite(p) => sqlx::query($sql)$(.bind($arg))*.execute(p).await?.rows_affected(),
            Db::Postgres(p) => sqlx::query($sql)$(.bind($arg))*.execute(p).await?.rows_affected(),
        }
    };
}

/// Runs one query on either backend, mapping every row with `$map`.
macro_rules! fetch_all {
    ($db:expr, $map:path, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            Db::Sqlite(p) => sqlx::query($sql)$(.bind($arg))*.fetch_all(p).await?.iter().map($map).collect::<Result<Vec<_>, _>>()?,
            Db::Postgres(p) => sqlx::query($sql)$(.bind($arg))*.fetch_all(p).await?.iter().map($map).collect::<Result<Vec<_>, _>>()?,
        }
    };
}

/// Thread, run and assistant tables.
#[derive(Clone)]
pub(crate) struct Store {
    db: Db,
}

fn parse(text: Option<String>) -> Json {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Json::Null)
}

fn text<R: Row>(r: &R, col: &str) -> Result<String, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
{
    r.try_get(col)
}

fn opt_text<R: Row>(r: &R, col: &str) -> Result<Option<String>, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
{
    r.try_get(col)
}

fn thread_from_row<R: Row>(r: &R) -> Result<Thread, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
{
    Ok(Thread {
        thread_id: text(r, "thread_id")?,
        created_at: text(r, "created_at")?,
        updated_at: text(r, "updated_at")?,
        state_updated_at: text(r, "state_updated_at")?,
        metadata: parse(opt_text(r, "metadata")?),
        status: text(r, "status")?,
        config: parse(opt_text(r, "config")?),
        values: parse(opt_text(r, "state_values")?),
        error: opt_text(r, "error")?.map(|t| parse(Some(t))),
        interrupts: opt_text(r, "interrupts")?.map(|t| parse(Some(t))),
    })
}

fn run_from_row<R: Row>(r: &R) -> Result<Run, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
{
    Ok(Run {
        run_id: text(r, "run_id")?,
        thread_id: text(r, "thread_id")?,
        assistant_id: text(r, "assistant_id")?,
        metadata: parse(opt_text(r, "metadata")?),
        status: text(r, "status")?,
        kwargs: parse(opt_text(r, "kwargs")?),
        multitask_strategy: text(r, "multitask_strategy")?,
        created_at: text(r, "created_at")?,
        updated_at: text(r, "updated_at")?,
    })
}

fn assistant_from_row<R: Row>(r: &R) -> Result<Assistant, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
    for<'a> i64: Decode<'a, R::Database> + Type<R::Database>,
{
    Ok(Assistant {
        assistant_id: text(r, "assistant_id")?,
        graph_id: text(r, "graph_id")?,
        config: parse(opt_text(r, "config")?),
        context: parse(opt_text(r, "context")?),
        metadata: parse(opt_text(r, "metadata")?),
        name: text(r, "name")?,
        description: opt_text(r, "description")?,
        version: r.try_get("version")?,
        created_at: text(r, "created_at")?,
        updated_at: text(r, "updated_at")?,
    })
}

fn run_id_from_row<R: Row>(r: &R) -> Result<String, sqlx::Error>
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
{
    text(r, "run_id")
}

const TABLES: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS sg_server_threads (
        thread_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, state_updated_at TEXT NOT NULL, metadata TEXT NOT NULL,
        status TEXT NOT NULL, config TEXT NOT NULL, state_values TEXT, error TEXT, interrupts TEXT)",
    "CREATE TABLE IF NOT EXISTS sg_server_runs (
        run_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, thread_id TEXT NOT NULL,
        assistant_id TEXT NOT NULL, metadata TEXT NOT NULL, status TEXT NOT NULL,
        kwargs TEXT NOT NULL, multitask_strategy TEXT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sg_server_runs_thread ON sg_server_runs (thread_id, seq)",
    "CREATE TABLE IF NOT EXISTS sg_server_assistants (
        assistant_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, graph_id TEXT NOT NULL, config TEXT NOT NULL,
        context TEXT NOT NULL, metadata TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
        version BIGINT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sg_server_assistant_versions (
        assistant_id TEXT NOT NULL, version BIGINT NOT NULL, graph_id TEXT NOT NULL, config TEXT NOT NULL,
        context TEXT NOT NULL, metadata TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (assistant_id, version))",
    "CREATE INDEX IF NOT EXISTS sg_server_runs_active ON sg_server_runs (thread_id, status)",
];

/// The advisory-lock key of a thread (PostgreSQL): runs on one thread take it for their whole
/// execution, so they are serialised across every server process sharing the database.
pub(crate) fn thread_lock_key(thread_id: &str) -> i64 {
    let bytes = uuid::Uuid::parse_str(thread_id).map(|u| *u.as_bytes()).unwrap_or_else(|_| {
        let mut b = [0u8; 16];
        for (i, c) in thread_id.bytes().enumerate() {
            b[i % 16] ^= c.rotate_left((i / 16) as u32);
        }
        b
    });
    let (hi, lo) = bytes.split_at(8);
    let hi = i64::from_be_bytes(hi.try_into().unwrap_or([0; 8]));
    let lo = i64::from_be_bytes(lo.try_into().unwrap_or([0; 8]));
    hi ^ lo
}

impl Store {
    /// Creates the tables if needed and marks runs a previous process left unfinished as
    /// `error` (their task died with that process; the thread's checkpoints are intact and a new
    /// run with `input: null` continues from the last saved step).
    ///
    /// On PostgreSQL other processes may be running: a `running` run is only marked when no
    /// process holds its thread's lock, and `pending` runs are left alone (another process may
    /// have queued them).
    pub(crate) async fn open(db: Db) -> Result<Store, ServerError> {
        let now = crate::time::now();
        match &db {
            Db::Sqlite(pool) => {
                for ddl in TABLES {
                    sqlx::query(ddl).execute(pool).await?;
                }
                sqlx::query(
                    "UPDATE sg_server_runs SET status = 'error', updated_at = $1 WHERE status IN ('pending', 'running')",
                )
                .bind(&now)
                .execute(pool)
                .await?;
                sqlx::query("UPDATE sg_server_threads SET status = 'idle', updated_at = $1 WHERE status = 'busy'")
                    .bind(&now)
                    .execute(pool)
                    .await?;
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                // Processes starting together take turns creating the tables.
                sqlx::query("SELECT pg_advisory_lock(7311245590127731)").execute(&mut *conn).await?;
                let mut created = Ok(());
                for ddl in TABLES {
                    if let Err(e) = sqlx::query(ddl).execute(&mut *conn).await {
                        created = Err(e);
                        break;
                    }
                }
                sqlx::query("SELECT pg_advisory_unlock(7311245590127731)").execute(&mut *conn).await?;
                created?;
                let running: Vec<(String, String)> =
                    sqlx::query_as("SELECT run_id, thread_id FROM sg_server_runs WHERE status = 'running'")
                        .fetch_all(&mut *conn)
                        .await?;
                for (run_id, thread_id) in running {
                    let key = thread_lock_key(&thread_id);
                    let (free,): (bool,) =
                        sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?;
                    if free {
                        sqlx::query("UPDATE sg_server_runs SET status = 'error', updated_at = $1 WHERE run_id = $2")
                            .bind(&now)
                            .bind(&run_id)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await?;
                    }
                }
            }
        }
        Ok(Store { db })
    }

    /// The database.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Inserts a thread; `false` when the id exists.
    pub(crate) async fn insert_thread(&self, t: &Thread) -> Result<bool, ServerError> {
        let n = execute!(
            &self.db,
            "INSERT INTO sg_server_threads (thread_id, seq, created_at, updated_at, state_updated_at, metadata,
                status, config, state_values, error, interrupts)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_threads), $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (thread_id) DO NOTHING",
            &t.thread_id,
            &t.created_at,
            &t.updated_at,
            &t.state_updated_at,
            t.metadata.to_string(),
            &t.status,
            t.config.to_string(),
            t.values.to_string(),
            t.error.as_ref().map(|e| e.to_string()),
            t.interrupts.as_ref().map(|e| e.to_string()),
        );
        Ok(n == 1)
    }

    /// Writes every field of an existing thread.
    pub(crate) async fn update_thread(&self, t: &Thread) -> Result<(), ServerError> {
        execute!(
            &self.db,
            "UPDATE sg_server_threads SET updated_at = $1, state_updated_at = $2, metadata = $3, status = $4,
                config = $5, state_values = $6, error = $7, interrupts = $8 WHERE thread_id = $9",
            &t.updated_at,
            &t.state_updated_at,
            t.metadata.to_string(),
            &t.status,
            t.config.to_string(),
            t.values.to_string(),
            t.error.as_ref().map(|e| e.to_string()),
            t.interrupts.as_ref().map(|e| e.to_string()),
            &t.thread_id,
        );
        Ok(())
    }

    /// One thread.
    pub(crate) async fn get_thread(&self, thread_id: &str) -> Result<Option<Thread>, ServerError> {
        let rows =
            fetch_all!(&self.db, thread_from_row, "SELECT * FROM sg_server_threads WHERE thread_id = $1", thread_id);
        Ok(rows.into_iter().next())
    }

    /// Every thread, newest first (search filters in memory).
    pub(crate) async fn list_threads(&self) -> Result<Vec<Thread>, ServerError> {
        Ok(fetch_all!(&self.db, thread_from_row, "SELECT * FROM sg_server_threads ORDER BY seq DESC"))
    }

    /// Deletes a thread and its runs.
    pub(crate) async fn delete_thread(&self, thread_id: &str) -> Result<bool, ServerError> {
        execute!(&self.db, "DELETE FROM sg_server_runs WHERE thread_id = $1", thread_id);
        let n = execute!(&self.db, "DELETE FROM sg_server_threads WHERE thread_id = $1", thread_id);
        Ok(n == 1)
    }

    /// Inserts a run.
    pub(crate) async fn insert_run(&self, r: &Run) -> Result<(), ServerError> {
        execute!(
            &self.db,
            "INSERT INTO sg_server_runs (run_id, seq, thread_id, assistant_id, metadata, status, kwargs,
                multitask_strategy, created_at, updated_at)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_runs), $2, $3, $4, $5, $6, $7, $8, $9)",
            &r.run_id,
            &r.thread_id,
            &r.assistant_id,
            r.metadata.to_string(),
            &r.status,
            r.kwargs.to_string(),
            &r.multitask_strategy,
            &r.created_at,
            &r.updated_at,
        );
        Ok(())
    }

    /// Admits a run on a thread: with `reject`, fails with the ids of the thread's pending and
    /// running runs when there are any; otherwise inserts the run and returns those ids (for the
    /// `interrupt` and `rollback` strategies to cancel). On PostgreSQL the check and the insert
    /// hold a transaction-scoped lock on the thread, so two processes cannot both admit a
    /// `reject` run on an idle thread.
    pub(crate) async fn admit_run(
        &self,
        r: &Run,
        reject: bool,
    ) -> Result<Result<Vec<String>, Vec<String>>, ServerError> {
        const ACTIVE: &str =
            "SELECT run_id FROM sg_server_runs WHERE thread_id = $1 AND status IN ('pending', 'running') ORDER BY seq";
        match &self.db {
            Db::Sqlite(_) => {
                // One process: the caller's admission mutex serialises this.
                let active = fetch_all!(&self.db, run_id_from_row, ACTIVE, &r.thread_id);
                if reject && !active.is_empty() {
                    return Ok(Err(active));
                }
                self.insert_run(r).await?;
                Ok(Ok(active))
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                    .bind(0x5347_i32)
                    .bind(thread_lock_key(&r.thread_id) as i32)
                    .execute(&mut *tx)
                    .await?;
                let active: Vec<String> = sqlx::query(ACTIVE)
                    .bind(&r.thread_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(run_id_from_row)
                    .collect::<Result<_, _>>()?;
                if reject && !active.is_empty() {
                    tx.rollback().await?;
                    return Ok(Err(active));
                }
                sqlx::query(
                    "INSERT INTO sg_server_runs (run_id, seq, thread_id, assistant_id, metadata, status, kwargs,
                        multitask_strategy, created_at, updated_at)
                     VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_runs), $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&r.run_id)
                .bind(&r.thread_id)
                .bind(&r.assistant_id)
                .bind(r.metadata.to_string())
                .bind(&r.status)
                .bind(r.kwargs.to_string())
                .bind(&r.multitask_strategy)
                .bind(&r.created_at)
                .bind(&r.updated_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Ok(active))
            }
        }
    }

    /// The ids of a thread's pending and running runs, oldest first.
    pub(crate) async fn active_runs(&self, thread_id: &str) -> Result<Vec<String>, ServerError> {
        Ok(fetch_all!(
            &self.db,
            run_id_from_row,
            "SELECT run_id FROM sg_server_runs WHERE thread_id = $1 AND status IN ('pending', 'running') ORDER BY seq",
            thread_id,
        ))
    }

    /// Sets a run's status.
    pub(crate) async fn set_run_status(&self, run_id: &str, status: &str) -> Result<(), ServerError> {
        execute!(
            &self.db,
            "UPDATE sg_server_runs SET status = $1, updated_at = $2 WHERE run_id = $3",
            status,
            crate::time::now(),
            run_id,
        );
        Ok(())
    }

    /// One run of a thread.
    pub(crate) async fn get_run(&self, thread_id: &str, run_id: &str) -> Result<Option<Run>, ServerError> {
        let rows = fetch_all!(
            &self.db,
            run_from_row,
            "SELECT * FROM sg_server_runs WHERE run_id = $1 AND thread_id = $2",
            run_id,
            thread_id,
        );
        Ok(rows.into_iter().next())
    }

    /// A thread's runs, newest first.
    pub(crate) async fn list_runs(&self, thread_id: &str) -> Result<Vec<Run>, ServerError> {
        Ok(fetch_all!(
            &self.db,
            run_from_row,
            "SELECT * FROM sg_server_runs WHERE thread_id = $1 ORDER BY seq DESC",
            thread_id,
        ))
    }

    /// Deletes a run.
    pub(crate) async fn delete_run(&self, run_id: &str) -> Result<(), ServerError> {
        execute!(&self.db, "DELETE FROM sg_server_runs WHERE run_id = $1", run_id);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Assistants

    /// Inserts an assistant at version 1; `false` when the id exists.
    pub(crate) async fn insert_assistant(&self, a: &Assistant) -> Result<bool, ServerError> {
        let n = execute!(
            &self.db,
            "INSERT INTO sg_server_assistants (assistant_id, seq, graph_id, config, context, metadata, name,
                description, version, created_at, updated_at)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_assistants), $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (assistant_id) DO NOTHING",
            &a.assistant_id,
            &a.graph_id,
            a.config.to_string(),
            a.context.to_string(),
            a.metadata.to_string(),
            &a.name,
            &a.description,
            a.version,
            &a.created_at,
            &a.updated_at,
        );
        if n == 1 {
            self.insert_version(a).await?;
        }
        Ok(n == 1)
    }

    async fn insert_version(&self, a: &Assistant) -> Result<(), ServerError> {
        execute!(
            &self.db,
            "INSERT INTO sg_server_assistant_versions (assistant_id, version, graph_id, config, context, metadata,
                name, description, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &a.assistant_id,
            a.version,
            &a.graph_id,
            a.config.to_string(),
            a.context.to_string(),
            a.metadata.to_string(),
            &a.name,
            &a.description,
            &a.created_at,
            &a.updated_at,
        );
        Ok(())
    }

    /// Makes `a` (with a version number no version has yet) the assistant's new current version.
    pub(crate) async fn add_version(&self, a: &Assistant) -> Result<(), ServerError> {
        self.insert_version(a).await?;
        self.set_current(a).await
    }

    /// Writes `a` as the assistant's current fields.
    pub(crate) async fn set_current(&self, a: &Assistant) -> Result<(), ServerError> {
        execute!(
            &self.db,
            "UPDATE sg_server_assistants SET graph_id = $1, config = $2, context = $3, metadata = $4, name = $5,
                description = $6, version = $7, updated_at = $8 WHERE assistant_id = $9",
            &a.graph_id,
            a.config.to_string(),
            a.context.to_string(),
            a.metadata.to_string(),
            &a.name,
            &a.description,
            a.version,
            &a.updated_at,
            &a.assistant_id,
        );
        Ok(())
    }

    /// One stored assistant (its current version).
    pub(crate) async fn get_assistant(&self, assistant_id: &str) -> Result<Option<Assistant>, ServerError> {
        let rows = fetch_all!(
            &self.db,
            assistant_from_row,
            "SELECT * FROM sg_server_assistants WHERE assistant_id = $1",
            assistant_id,
        );
        Ok(rows.into_iter().next())
    }

    /// Every stored assistant, newest first.
    pub(crate) async fn list_assistants(&self) -> Result<Vec<Assistant>, ServerError> {
        Ok(fetch_all!(&self.db, assistant_from_row, "SELECT * FROM sg_server_assistants ORDER BY seq DESC"))
    }

    /// An assistant's versions, newest first.
    pub(crate) async fn assistant_versions(&self, assistant_id: &str) -> Result<Vec<Assistant>, ServerError> {
        Ok(fetch_all!(
            &self.db,
            assistant_from_row,
            "SELECT * FROM sg_server_assistant_versions WHERE assistant_id = $1 ORDER BY version DESC",
            assistant_id,
        ))
    }

    /// Deletes an assistant and its versions; `false` when it did not exist.
    pub(crate) async fn delete_assistant(&self, assistant_id: &str) -> Result<bool, ServerError> {
        execute!(&self.db, "DELETE FROM sg_server_assistant_versions WHERE assistant_id = $1", assistant_id);
        let n = execute!(&self.db, "DELETE FROM sg_server_assistants WHERE assistant_id = $1", assistant_id);
        Ok(n == 1)
    }
}
