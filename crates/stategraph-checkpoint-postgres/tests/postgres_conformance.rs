//! The conformance suite against a real PostgreSQL server.
//!
//! Connects to `$DATABASE_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/test`). Each
//! test works in a schema of its own (created, set as the pool's `search_path`, dropped at the end),
//! so parallel runs never collide. When the server is unreachable the tests FAIL if `CI` is set and
//! print a loud SKIPPED banner otherwise; they never pass silently.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use stategraph_checkpoint::testkit::{self, BlobKey, Corruption};
use stategraph_checkpoint::{CheckpointConfig, Checkpointer, ListFilter};
use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};

fn url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/test".to_owned())
}

/// An admin connection, or `None` (after the loud banner) when the server is unreachable outside CI.
async fn admin(test: &str) -> Option<PgConnection> {
    let url = url();
    let options: PgConnectOptions = url.parse().expect("DATABASE_URL parses");
    let attempt = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&options)).await;
    let error = match attempt {
        Ok(Ok(conn)) => return Some(conn),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out after 10 s".to_owned(),
    };
    let message = format!("PostgreSQL is not reachable at {url}: {error}");
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set: the PostgreSQL tests must run; start the server, see .ci/run)");
    }
    // Written to the process's stderr directly: the test harness captures `eprintln!` of
    // passing tests, and a skip must never look like a pass.
    let banner = format!(
        "\n{line}\n*** SKIPPED {test}: {message}\n*** (set CI=1 to make this a failure)\n{line}\n",
        line = "*".repeat(78)
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
    None
}

/// Runs `body` with savers on a fresh schema, dropping the schema afterwards even if `body` panics.
async fn with_schema<F, Fut>(test: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(mut admin) = admin(test).await else { return };
    let schema = format!("sg_test_{}", uuid::Uuid::now_v7().simple());
    let outcome = AssertUnwindSafe(body(schema.clone())).catch_unwind().await;
    admin
        .execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
        .await
        .expect("drop test schema");
    admin.close().await.ok();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn saver(schema: &str) -> PostgresSaver {
    PostgresSaver::connect_with(&url(), PostgresOptions::default().schema(schema).max_connections(8))
        .await
        .expect("connect and migrate")
}

async fn corrupt(saver: &PostgresSaver, key: BlobKey, corruption: Corruption) {
    let query = match corruption {
        Corruption::Bytes(bytes) => sqlx::query(
            "UPDATE checkpoint_blobs SET blob = $5 WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4",
        )
        .bind(key.thread_id)
        .bind(key.checkpoint_ns)
        .bind(key.channel)
        .bind(key.version as i64)
        .bind(bytes),
        Corruption::TypeTag(tag) => sqlx::query(
            "UPDATE checkpoint_blobs SET type = $5 WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4",
        )
        .bind(key.thread_id)
        .bind(key.checkpoint_ns)
        .bind(key.channel)
        .bind(key.version as i64)
        .bind(tag),
    };
    assert_eq!(query.execute(saver.pool()).await.unwrap().rows_affected(), 1, "the blob to corrupt exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_conformance_suite() {
    with_schema("postgres_passes_the_conformance_suite", |schema| async move {
        let saver = Arc::new(saver(&schema).await);
        testkit::run_all(&*saver).await;
        testkit::corrupted_blob_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
        testkit::corrupted_list_base_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
        testkit::concurrent_writers_spawned(saver.clone()).await;
        saver.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_many_pools_write_different_threads_at_once() {
    // Three savers with their own pools stand for three worker processes.
    with_schema("postgres_many_pools_write_different_threads_at_once", |schema| async move {
        let (a, b, c) = tokio::join!(saver(&schema), saver(&schema), saver(&schema)); // concurrent migrations too
        let savers: Vec<Arc<dyn Checkpointer>> = vec![Arc::new(a), Arc::new(b), Arc::new(c)];
        futures::future::join_all(savers.iter().map(|s| testkit::concurrent_writers_spawned(s.clone()))).await;
        let all = savers[0].list(&ListFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3 * 16 * 12);
    })
    .await;
}

#[tokio::test]
async fn postgres_metadata_filter_runs_in_sql() {
    with_schema("postgres_metadata_filter_runs_in_sql", |schema| async move {
        let saver = saver(&schema).await;
        testkit::list_metadata_filter(&saver).await;
        // The GIN index on metadata exists and the migration is recorded once.
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'checkpoints' ORDER BY 1",
        )
        .fetch_all(saver.pool())
        .await
        .unwrap();
        assert!(indexes.contains(&"checkpoints_metadata".to_owned()), "{indexes:?}");
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(saver.pool()).await.unwrap();
        assert_eq!(versions, [1]);
        // Nothing leaked into the default schema's tables.
        assert!(saver.get_tuple(&CheckpointConfig::thread("nobody")).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn postgres_schema_names_are_validated() {
    let err = PostgresSaver::connect_with(&url(), PostgresOptions::default().schema("x\"; DROP TABLE t; --"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "SG106");
}

#[tokio::test]
async fn postgres_refuses_a_schema_holding_someone_elses_tables() {
    with_schema("postgres_refuses_a_schema_holding_someone_elses_tables", |schema| async move {
        let mut admin = PgConnection::connect(&url()).await.unwrap();
        // LangGraph's PostgresSaver's tables (its first migrations), with a checkpoint in them.
        admin.execute(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\""))).await.unwrap();
        admin.execute(AssertSqlSafe(format!("SET search_path TO \"{schema}\""))).await.unwrap();
        admin
            .execute(
                "CREATE TABLE checkpoint_migrations (v INTEGER PRIMARY KEY);
                 CREATE TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
                     checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint JSONB NOT NULL,
                     metadata JSONB NOT NULL DEFAULT '{}', PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
                 INSERT INTO checkpoints (thread_id, checkpoint_id, checkpoint) VALUES ('t', '1', '{}')",
            )
            .await
            .unwrap();
        let err = PostgresSaver::connect_with(&url(), PostgresOptions::default().schema(&schema)).await.unwrap_err();
        assert_eq!(err.code(), "SG105", "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("schema \"{schema}\" already holds a `checkpoints` table")), "{text}");
        assert!(text.contains("LangGraph") && text.contains("PostgresOptions::schema"), "{text}");
        // Their data is untouched and none of our tables was created.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM checkpoints").fetch_one(&mut admin).await.unwrap();
        assert_eq!(n, 1);
        let ours: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&mut admin).await.unwrap();
        assert_eq!(ours, None);

        // Another sqlx application's migrations in the schema.
        admin.execute("DROP TABLE checkpoints").await.unwrap();
        admin
            .execute(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                     installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
                     checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
                 INSERT INTO _sqlx_migrations VALUES (1, 'users', now(), true, '\\x00', 1)",
            )
            .await
            .unwrap();
        let err = PostgresSaver::connect_with(&url(), PostgresOptions::default().schema(&schema)).await.unwrap_err();
        assert!(err.to_string().contains("another application's sqlx migrations"), "{err}");

        // In a schema of its own, the saver opens (and opens again: its own migrations are known).
        let own = format!("{schema}_own");
        let saver = PostgresSaver::connect_with(&url(), PostgresOptions::default().schema(&own)).await.unwrap();
        testkit::put_and_get_latest(&saver).await;
        saver.close().await;
        let again = PostgresSaver::connect_with(&url(), PostgresOptions::default().schema(&own)).await.unwrap();
        again.close().await;
        admin.execute(AssertSqlSafe(format!("DROP SCHEMA \"{own}\" CASCADE"))).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn postgres_pool_from_the_caller() {
    with_schema("postgres_pool_from_the_caller", |schema| async move {
        // A pool built by the caller, pointed at the schema with `search_path`.
        let mut admin = PgConnection::connect(&url()).await.unwrap();
        admin.execute(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\""))).await.unwrap();
        let options: PgConnectOptions = url().parse::<PgConnectOptions>().unwrap().options([("search_path", &schema)]);
        let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.unwrap();
        let saver = PostgresSaver::from_pool(pool, Arc::new(stategraph_checkpoint::MsgpackSerde)).await.unwrap();
        testkit::put_and_get_latest(&saver).await;
        testkit::prune_keep_latest(&saver).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_put_next_race_has_one_winner() {
    // 1,000 callers queue on the pool (8 connections per saver) and on the advisory lock; two
    // savers with their own pools stand for two processes.
    with_schema("postgres_put_next_race_has_one_winner", |schema| async move {
        let (a, b) = tokio::join!(saver(&schema), saver(&schema));
        let one: Arc<dyn Checkpointer> = Arc::new(a);
        testkit::put_next_race(std::slice::from_ref(&one), 1000).await;
        testkit::put_next_race(&[one, Arc::new(b)], 1000).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_matches_the_memory_saver_under_random_operations() {
    with_schema("postgres_matches_the_memory_saver_under_random_operations", |schema| async move {
        let saver = saver(&schema).await;
        testkit::compare_with_memory(&saver, 64).await;
    })
    .await;
}
