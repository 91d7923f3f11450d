//! The server's own records — threads and runs — in SQL tables beside the checkpoints
//! (`sg_server_threads`, `sg_server_runs`). Structured fields are stored as JSON text.

use serde_json::{Value as Json, json};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

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

/// Thread and run tables.
#[derive(Clone)]
pub(crate) struct Store {
    pool: SqlitePool,
}

fn parse(text: Option<String>) -> Json {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Json::Null)
}

fn thread_from_row(r: &SqliteRow) -> Result<Thread, sqlx::Error> {
    Ok(Thread {
        thread_id: r.try_get("thread_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        state_updated_at: r.try_get("state_updated_at")?,
        metadata: parse(r.try_get("metadata")?),
        status: r.try_get("status")?,
        config: parse(r.try_get("config")?),
        values: parse(r.try_get("state_values")?),
        error: r.try_get::<Option<String>, _>("error")?.map(|t| parse(Some(t))),
        interrupts: r.try_get::<Option<String>, _>("interrupts")?.map(|t| parse(Some(t))),
    })
}

fn run_from_row(r: &SqliteRow) -> Result<Run, sqlx::Error> {
    Ok(Run {
        run_id: r.try_get("run_id")?,
        thread_id: r.try_get("thread_id")?,
        assistant_id: r.try_get("assistant_id")?,
        metadata: parse(r.try_get("metadata")?),
        status: r.try_get("status")?,
        kwargs: parse(r.try_get("kwargs")?),
        multitask_strategy: r.try_get("multitask_strategy")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Creates the tables if needed and marks runs a previous process left unfinished as
    /// `error` (their task died with that process; the thread's checkpoints are intact and a new
    /// run with `input: null` continues from the last saved step).
    pub(crate) async fn open(pool: SqlitePool) -> Result<Store, ServerError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS sg_server_threads (
                thread_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, state_updated_at TEXT NOT NULL, metadata TEXT NOT NULL,
                status TEXT NOT NULL, config TEXT NOT NULL, state_values TEXT, error TEXT, interrupts TEXT)",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS sg_server_runs (
                run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, thread_id TEXT NOT NULL,
                assistant_id TEXT NOT NULL, metadata TEXT NOT NULL, status TEXT NOT NULL,
                kwargs TEXT NOT NULL, multitask_strategy TEXT NOT NULL, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query("CREATE INDEX IF NOT EXISTS sg_server_runs_thread ON sg_server_runs (thread_id, seq)")
            .execute(&pool)
            .await?;
        let now = crate::time::now();
        sqlx::query(
            "UPDATE sg_server_runs SET status = 'error', updated_at = ? WHERE status IN ('pending', 'running')",
        )
        .bind(&now)
        .execute(&pool)
        .await?;
        sqlx::query("UPDATE sg_server_threads SET status = 'idle', updated_at = ? WHERE status = 'busy'")
            .bind(&now)
            .execute(&pool)
            .await?;
        Ok(Store { pool })
    }

    /// Inserts a thread; `false` when the id exists.
    pub(crate) async fn insert_thread(&self, t: &Thread) -> Result<bool, ServerError> {
        let done = sqlx::query(
            "INSERT INTO sg_server_threads (thread_id, seq, created_at, updated_at, state_updated_at, metadata,
                status, config, state_values, error, interrupts)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_threads), ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (thread_id) DO NOTHING",
        )
        .bind(&t.thread_id)
        .bind(&t.created_at)
        .bind(&t.updated_at)
        .bind(&t.state_updated_at)
        .bind(t.metadata.to_string())
        .bind(&t.status)
        .bind(t.config.to_string())
        .bind(t.values.to_string())
        .bind(t.error.as_ref().map(|e| e.to_string()))
        .bind(t.interrupts.as_ref().map(|e| e.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes every field of an existing thread.
    pub(crate) async fn update_thread(&self, t: &Thread) -> Result<(), ServerError> {
        sqlx::query(
            "UPDATE sg_server_threads SET updated_at = ?, state_updated_at = ?, metadata = ?, status = ?,
                config = ?, state_values = ?, error = ?, interrupts = ? WHERE thread_id = ?",
        )
        .bind(&t.updated_at)
        .bind(&t.state_updated_at)
        .bind(t.metadata.to_string())
        .bind(&t.status)
        .bind(t.config.to_string())
        .bind(t.values.to_string())
        .bind(t.error.as_ref().map(|e| e.to_string()))
        .bind(t.interrupts.as_ref().map(|e| e.to_string()))
        .bind(&t.thread_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One thread.
    pub(crate) async fn get_thread(&self, thread_id: &str) -> Result<Option<Thread>, ServerError> {
        let row = sqlx::query("SELECT * FROM sg_server_threads WHERE thread_id = ?")
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| thread_from_row(&r)).transpose()?)
    }

    /// Every thread, newest first (search filters in memory).
    pub(crate) async fn list_threads(&self) -> Result<Vec<Thread>, ServerError> {
        let rows = sqlx::query("SELECT * FROM sg_server_threads ORDER BY seq DESC").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(thread_from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes a thread and its runs.
    pub(crate) async fn delete_thread(&self, thread_id: &str) -> Result<bool, ServerError> {
        sqlx::query("DELETE FROM sg_server_runs WHERE thread_id = ?").bind(thread_id).execute(&self.pool).await?;
        let done = sqlx::query("DELETE FROM sg_server_threads WHERE thread_id = ?")
            .bind(thread_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts a run.
    pub(crate) async fn insert_run(&self, r: &Run) -> Result<(), ServerError> {
        sqlx::query(
            "INSERT INTO sg_server_runs (run_id, seq, thread_id, assistant_id, metadata, status, kwargs,
                multitask_strategy, created_at, updated_at)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sg_server_runs), ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a run's status.
    pub(crate) async fn set_run_status(&self, run_id: &str, status: &str) -> Result<(), ServerError> {
        sqlx::query("UPDATE sg_server_runs SET status = ?, updated_at = ? WHERE run_id = ?")
            .bind(status)
            .bind(crate::time::now())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One run of a thread.
    pub(crate) async fn get_run(&self, thread_id: &str, run_id: &str) -> Result<Option<Run>, ServerError> {
        let row = sqlx::query("SELECT * FROM sg_server_runs WHERE run_id = ? AND thread_id = ?")
            .bind(run_id)
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| run_from_row(&r)).transpose()?)
    }

    /// A thread's runs, newest first.
    pub(crate) async fn list_runs(&self, thread_id: &str) -> Result<Vec<Run>, ServerError> {
        let rows = sqlx::query("SELECT * FROM sg_server_runs WHERE thread_id = ? ORDER BY seq DESC")
            .bind(thread_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(run_from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes a run.
    pub(crate) async fn delete_run(&self, run_id: &str) -> Result<(), ServerError> {
        sqlx::query("DELETE FROM sg_server_runs WHERE run_id = ?").bind(run_id).execute(&self.pool).await?;
        Ok(())
    }
}
