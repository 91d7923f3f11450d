//! The conformance suite and SQLite specifics: a temp file and `sqlite::memory:`.

use std::sync::Arc;

use stategraph_checkpoint::testkit::{self, BlobKey, Corruption};
use stategraph_checkpoint::{
    Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer, ListFilter,
};
use stategraph_checkpoint_sqlite::{Durability, SqliteOptions, SqliteSaver};

async fn corrupt(saver: &SqliteSaver, key: BlobKey, corruption: Corruption) {
    let query = match corruption {
        Corruption::Bytes(bytes) => sqlx::query(
            "UPDATE checkpoint_blobs SET blob = ?5 WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND channel = ?3 AND version = ?4",
        )
        .bind(key.thread_id)
        .bind(key.checkpoint_ns)
        .bind(key.channel)
        .bind(key.version as i64)
        .bind(bytes),
        Corruption::TypeTag(tag) => sqlx::query(
            "UPDATE checkpoint_blobs SET type = ?5 WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND channel = ?3 AND version = ?4",
        )
        .bind(key.thread_id)
        .bind(key.checkpoint_ns)
        .bind(key.channel)
        .bind(key.version as i64)
        .bind(tag),
    };
    let done = query.execute(saver.pool()).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "the blob to corrupt exists");
}

async fn integrity_ok(saver: &SqliteSaver) {
    let (result,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(saver.pool()).await.unwrap();
    assert_eq!(result, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let saver = Arc::new(SqliteSaver::open(dir.path().join("cp.db")).await.unwrap());
    testkit::run_all(&*saver).await;
    testkit::corrupted_blob_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
    testkit::corrupted_list_base_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
    testkit::concurrent_writers_spawned(saver.clone()).await;
    integrity_ok(&saver).await;
    saver.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_passes_the_conformance_suite() {
    let saver = Arc::new(SqliteSaver::open_in_memory().await.unwrap());
    testkit::run_all(&*saver).await;
    testkit::corrupted_blob_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
    testkit::corrupted_list_base_is_typed_error(&*saver, |k, c| corrupt(&saver, k, c)).await;
    testkit::concurrent_writers_spawned(saver.clone()).await;
    integrity_ok(&saver).await;
}

#[tokio::test]
async fn sqlite_memory_databases_are_private() {
    let a = SqliteSaver::open_in_memory().await.unwrap();
    let b = SqliteSaver::open_in_memory().await.unwrap();
    let cp = Checkpoint::empty();
    let meta = CheckpointMetadata::new(CheckpointSource::Input, -1);
    a.put(&CheckpointConfig::thread("t"), &cp, &meta, &Default::default()).await.unwrap();
    assert!(a.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().is_some());
    assert!(b.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_committed_checkpoints_are_seen_by_another_connection_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = SqliteSaver::open(&path).await.unwrap();
    let second = SqliteSaver::open(&path).await.unwrap(); // its own pool: like another process
    let meta = CheckpointMetadata::new(CheckpointSource::Input, -1);

    let mut cp = Checkpoint::empty();
    cp.channel_values.insert("k".into(), "from first".into());
    cp.channel_versions.insert("k".into(), 1);
    first.put(&CheckpointConfig::thread("t1"), &cp, &meta, &cp.channel_versions).await.unwrap();
    let seen = second.get_tuple(&CheckpointConfig::thread("t1")).await.unwrap().expect("visible to the other pool");
    assert_eq!(seen.checkpoint, cp);

    let mut cp2 = Checkpoint::empty();
    cp2.channel_values.insert("k".into(), "from second".into());
    cp2.channel_versions.insert("k".into(), 1);
    second.put(&CheckpointConfig::thread("t2"), &cp2, &meta, &cp2.channel_versions).await.unwrap();
    assert_eq!(first.get_tuple(&CheckpointConfig::thread("t2")).await.unwrap().unwrap().checkpoint, cp2);

    first.close().await;
    second.close().await;
    let reopened = SqliteSaver::open(&path).await.unwrap();
    assert_eq!(reopened.list(&ListFilter::default()).await.unwrap().len(), 2);
    assert_eq!(reopened.get_tuple(&CheckpointConfig::thread("t1")).await.unwrap().unwrap().checkpoint, cp);
    integrity_ok(&reopened).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_pools_write_the_same_file_concurrently() {
    // Two savers on one file contend for SQLite's write lock (BEGIN IMMEDIATE + busy timeout), as
    // two processes would; every write lands.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contended.db");
    let a: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open(&path).await.unwrap());
    let b: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open(&path).await.unwrap());
    tokio::join!(testkit::concurrent_writers_spawned(a), testkit::concurrent_writers_spawned(b));
    let check = SqliteSaver::open(&path).await.unwrap();
    assert_eq!(check.list(&ListFilter::default()).await.unwrap().len(), 2 * 16 * 12);
    integrity_ok(&check).await;
}

#[tokio::test]
async fn sqlite_pragmas_follow_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let full = SqliteSaver::open(dir.path().join("full.db")).await.unwrap();
    let normal =
        SqliteSaver::open_with(dir.path().join("normal.db"), SqliteOptions::default().durability(Durability::Normal))
            .await
            .unwrap();
    let pragma = |saver: &SqliteSaver, sql: &'static str| {
        let pool = saver.pool().clone();
        async move { sqlx::query_scalar::<_, String>(sql).fetch_one(&pool).await.unwrap() }
    };
    let sync = |saver: &SqliteSaver| {
        let pool = saver.pool().clone();
        async move { sqlx::query_scalar::<_, i64>("PRAGMA synchronous").fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(pragma(&full, "PRAGMA journal_mode").await, "wal");
    assert_eq!(pragma(&normal, "PRAGMA journal_mode").await, "wal");
    assert_eq!(sync(&full).await, 2, "FULL");
    assert_eq!(sync(&normal).await, 1, "NORMAL");
    let busy = sqlx::query_scalar::<_, i64>("PRAGMA busy_timeout").fetch_one(full.pool()).await.unwrap();
    assert_eq!(busy, 30_000);
}

#[tokio::test]
async fn sqlite_migrations_are_versioned_and_rerunnable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    SqliteSaver::open(&path).await.unwrap().close().await;
    let saver = SqliteSaver::open(&path).await.unwrap(); // runs the migrator again: a no-op
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(saver.pool())
        .await
        .unwrap();
    assert_eq!(versions, [1, 2, 3]);
}

/// A new SQLite file at `path` with `sql` run in it (as another program would leave it).
async fn file_with(path: &std::path::Path, sql: &'static str) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new().connect_with(options).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool
}

#[tokio::test]
async fn sqlite_refuses_a_file_holding_someone_elses_tables() {
    let dir = tempfile::tempdir().unwrap();
    // A file written by LangGraph's SqliteSaver (its tables, as it creates them), with a checkpoint.
    let path = dir.path().join("langgraph.db");
    let pool = file_with(
        &path,
        "CREATE TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
             checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB, metadata BLOB,
             PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
         CREATE TABLE writes (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
             checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, task_path TEXT NOT NULL DEFAULT '', idx INTEGER NOT NULL,
             channel TEXT NOT NULL, type TEXT, value BLOB,
             PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx));
         INSERT INTO checkpoints (thread_id, checkpoint_id, checkpoint) VALUES ('t', '1', x'00')",
    )
    .await;
    let err = SqliteSaver::open(&path).await.unwrap_err();
    assert_eq!(err.code(), "SG105", "{err}");
    let text = err.to_string();
    assert!(text.contains("a `checkpoints` table that Stategraph's migrations did not create"), "{text}");
    assert!(text.contains("LangGraph's SqliteSaver") && text.contains("a file of their own"), "{text}");
    // Their rows are untouched and none of our tables was created.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM checkpoints").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);
    let ours: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE name = '_sqlx_migrations'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(ours, 0);
    pool.close().await;

    // Another sqlx application's migrations.
    let path = dir.path().join("other-app.db");
    let pool = file_with(
        &path,
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
         INSERT INTO _sqlx_migrations VALUES (1, 'users', CURRENT_TIMESTAMP, 1, x'00', 1)",
    )
    .await;
    pool.close().await;
    let err = SqliteSaver::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("another application's sqlx migrations"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_put_next_race_has_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let saver: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open(dir.path().join("race.db")).await.unwrap());
    testkit::put_next_race(&[saver], 1000).await;
    let memory: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open_in_memory().await.unwrap());
    testkit::put_next_race(&[memory], 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_put_next_race_between_two_pools_on_one_file_has_one_winner() {
    // Two savers, two pools, two in-process write mutexes: only SQLite's own write lock
    // (BEGIN IMMEDIATE) stands between them, as between two processes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race2.db");
    let a: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open(&path).await.unwrap());
    let b: Arc<dyn Checkpointer> = Arc::new(SqliteSaver::open(&path).await.unwrap());
    testkit::put_next_race(&[a, b], 1000).await;
    integrity_ok(&SqliteSaver::open(&path).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_matches_the_memory_saver_under_random_operations() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::default().durability(Durability::Normal); // fsyncs are not under test here
    let saver = SqliteSaver::open_with(dir.path().join("model.db"), options).await.unwrap();
    testkit::compare_with_memory(&saver, 128).await;
    integrity_ok(&saver).await;
}

#[tokio::test]
async fn sqlite_a_batch_blocked_by_another_writer_fails_once_and_leaves_no_transaction_open() {
    // The batch's `BEGIN IMMEDIATE` travels with its first statement; when another connection
    // holds the write lock past the busy timeout, the batch must fail at once (not be replayed op
    // by op, waiting again), and the connection it used must not go back to the pool inside a
    // transaction: the next batches succeed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let saver = SqliteSaver::open_with(
        &path,
        SqliteOptions::default().busy_timeout(std::time::Duration::from_millis(600)).max_connections(1),
    )
    .await
    .unwrap();
    let other = SqliteSaver::open(&path).await.unwrap();
    let mut holder = other.pool().acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();

    let batch = |thread: &str| {
        let mut cp = Checkpoint::empty();
        cp.channel_values.insert("n".into(), 1.into());
        cp.channel_versions.insert("n".into(), 1);
        let put = stategraph_checkpoint::SaveOp::Put {
            config: CheckpointConfig::thread(thread),
            metadata: CheckpointMetadata::new(CheckpointSource::Input, -1),
            new_versions: cp.channel_versions.clone(),
            checkpoint: Box::new(cp.clone()),
            only_if_latest: true,
        };
        let writes = stategraph_checkpoint::SaveOp::PutWrites {
            config: CheckpointConfig { checkpoint_id: Some(cp.id), ..CheckpointConfig::thread(thread) },
            writes: vec![("n".into(), 2.into())],
            task_id: "task".into(),
            task_path: String::new(),
        };
        vec![put, writes]
    };
    let started = std::time::Instant::now();
    let err = saver.save_batch(&batch("blocked")).await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("lock"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_millis(1_100), "waited twice: {:?}", started.elapsed());

    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    for thread in ["after-1", "after-2"] {
        saver.save_batch(&batch(thread)).await.unwrap();
        let tuple = saver.get_tuple(&CheckpointConfig::thread(thread)).await.unwrap().unwrap();
        assert_eq!(tuple.pending_writes.len(), 1, "{thread}");
    }
    assert!(saver.get_tuple(&CheckpointConfig::thread("blocked")).await.unwrap().is_none());
    integrity_ok(&saver).await;
}
