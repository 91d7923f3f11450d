//! Blobs stored as references to the pending write of the same batch that holds their bytes.

use stategraph_checkpoint::storage::{CheckpointHeader, TAG_REF};
use stategraph_checkpoint::testkit::written_steps;
use stategraph_checkpoint::{
    Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer, Error, ListFilter, MsgpackSerde,
    PruneStrategy, Serde,
};
use stategraph_checkpoint_sqlite::SqliteSaver;
use stategraph_value::Value;

/// channel, version, type, length(blob), ref_checkpoint_id, ref_task_id, ref_idx.
type StoredBlob = (String, i64, String, i64, Option<String>, Option<String>, Option<i64>);

async fn blobs(saver: &SqliteSaver, thread: &str) -> Vec<StoredBlob> {
    sqlx::query_as(
        "SELECT channel, version, type, length(blob), ref_checkpoint_id, ref_task_id, ref_idx
         FROM checkpoint_blobs WHERE thread_id = ?1 ORDER BY channel, version",
    )
    .bind(thread)
    .fetch_all(saver.pool())
    .await
    .unwrap()
}

async fn save_steps(saver: &SqliteSaver, thread: &str, steps: usize, per_batch: usize) -> Vec<Checkpoint> {
    let (batches, made) = written_steps(thread, "", steps, per_batch);
    for batch in &batches {
        saver.save_batch(batch).await.unwrap();
    }
    made
}

async fn scalar(saver: &SqliteSaver, sql: &'static str, thread: &str) -> i64 {
    sqlx::query_scalar(sql).bind(thread).fetch_one(saver.pool()).await.unwrap()
}

#[tokio::test]
async fn written_values_are_stored_as_references_to_their_write_rows() {
    let saver = SqliteSaver::open_in_memory().await.unwrap();
    let made = save_steps(&saver, "t", 9, 3).await;
    let rows = blobs(&saver, "t").await;
    for (channel, version, tag, len, ref_checkpoint, ref_task, ref_idx) in &rows {
        let at = format!("{channel} v{version}: {tag} ({len} bytes)");
        // Step 0 (the input) has no writes before it; every later step's values were written.
        let written = *version > 1;
        match channel.as_str() {
            // A last-value channel: the blob is the write.
            "answer" if written => {
                assert_eq!((tag.as_str(), *len), (TAG_REF, 8), "{at}");
                let parent = made[*version as usize - 2].id.to_string();
                assert_eq!(ref_checkpoint.as_deref(), Some(parent.as_str()), "{at}");
                assert_eq!(ref_task.as_deref(), Some(format!("task-{}", version - 1).as_str()), "{at}");
                assert_eq!(*ref_idx, Some(0), "{at}");
            }
            // A growing list: a delta whose new items are the write (header, inner tag, fingerprint).
            "messages" if written => {
                assert!(tag.starts_with("append:"), "{at}");
                assert_eq!(*len, 18 + 3 + 8, "{at}");
                assert_eq!(*ref_idx, Some(1), "{at}");
                assert!(ref_checkpoint.is_some() && ref_task.is_some(), "{at}");
            }
            // Small values and values nobody wrote are stored as before.
            _ => {
                assert_ne!(tag, TAG_REF, "{at}");
                assert!(ref_checkpoint.is_none() && ref_task.is_none() && ref_idx.is_none(), "{at}");
            }
        }
    }
    assert_eq!(rows.iter().filter(|r| r.4.is_some()).count(), 2 * 8);
    // The writes referred to sit in their tasks' bundles (migration 0003): answer, messages and n
    // of each of the 9 tasks in one row, the error write in a row of its own.
    let rows = |sql| scalar(&saver, sql, "t");
    assert_eq!(rows("SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = ?1 AND type = 'bundle'").await, 9);
    assert_eq!(rows("SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = ?1").await, 18);
    for (i, cp) in made.iter().enumerate() {
        let t = saver.get_tuple(&CheckpointConfig::thread("t").with_id(cp.id)).await.unwrap().unwrap();
        assert_eq!(t.checkpoint, *cp, "checkpoint {i}");
        assert_eq!(t.pending_writes.len(), 4, "its own writes, as before");
    }

    // Prune keeps the write rows the kept blobs name, and shows none of them as pending.
    saver.prune(&["t".to_owned()], PruneStrategy::KeepLatest).await.unwrap();
    let t = saver.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap();
    assert_eq!(t.checkpoint, made[8]);
    assert!(t.pending_writes.iter().all(|p| p.task_id == "task-9"), "{:?}", t.pending_writes);
    let orphans = scalar(
        &saver,
        "SELECT COUNT(*) FROM checkpoint_writes AS w WHERE thread_id = ?1 AND NOT EXISTS
           (SELECT 1 FROM checkpoints AS c WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
            AND c.checkpoint_id = w.checkpoint_id)
         AND NOT EXISTS (SELECT 1 FROM checkpoint_blobs AS b WHERE b.thread_id = w.thread_id
            AND b.checkpoint_ns = w.checkpoint_ns AND b.ref_checkpoint_id = w.checkpoint_id
            AND b.ref_task_id = w.task_id AND (b.ref_idx = w.idx OR w.type = 'bundle'))",
        "t",
    )
    .await;
    assert_eq!(orphans, 0, "no write row of a pruned checkpoint is kept unless a blob names it");
    let kept = scalar(&saver, "SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = ?1", "t").await;
    assert!(kept > 4, "the referenced writes of pruned checkpoints are kept ({kept} rows)");
}

#[tokio::test]
async fn a_write_committed_in_an_earlier_transaction_is_not_referred_to() {
    let saver = SqliteSaver::open_in_memory().await.unwrap();
    let (batches, made) = written_steps("t", "", 4, 100);
    // Each op alone: the writes commit before the checkpoint that holds their values.
    for op in &batches[0] {
        saver.save_batch(std::slice::from_ref(op)).await.unwrap();
    }
    assert!(blobs(&saver, "t").await.iter().all(|r| r.4.is_none() && r.2 != TAG_REF));
    for cp in &made {
        let t = saver.get_tuple(&CheckpointConfig::thread("t").with_id(cp.id)).await.unwrap().unwrap();
        assert_eq!(t.checkpoint, *cp);
    }
}

#[tokio::test]
async fn references_survive_copy_thread() {
    let saver = SqliteSaver::open_in_memory().await.unwrap();
    let made = save_steps(&saver, "src", 5, 5).await;
    saver.copy_thread("src", "dst").await.unwrap();
    saver.delete_thread("src").await.unwrap();
    assert_eq!(blobs(&saver, "dst").await.iter().filter(|r| r.4.is_some()).count(), 2 * 4);
    let listed = saver.list(&ListFilter::thread("dst")).await.unwrap();
    let newest_first: Vec<Checkpoint> = made.iter().rev().cloned().collect();
    assert_eq!(listed.into_iter().map(|t| t.checkpoint).collect::<Vec<_>>(), newest_first);
}

/// Damages the newest reference of `channel` in thread `t`'s storage with `sql` (its parameters:
/// the thread, the referenced checkpoint, task and idx), then reads the latest checkpoint.
async fn read_after(saver: &SqliteSaver, channel: &str, sql: &str) -> Error {
    let (checkpoint, task, idx): (String, String, i64) = sqlx::query_as(
        "SELECT ref_checkpoint_id, ref_task_id, ref_idx FROM checkpoint_blobs
         WHERE thread_id = 't' AND channel = ?1 AND ref_checkpoint_id IS NOT NULL ORDER BY version DESC LIMIT 1",
    )
    .bind(channel)
    .fetch_one(saver.pool())
    .await
    .unwrap();
    let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind("t")
        .bind(checkpoint)
        .bind(task)
        .bind(idx)
        .execute(saver.pool())
        .await
        .unwrap();
    assert!(done.rows_affected() >= 1, "{sql}");
    saver.get_tuple(&CheckpointConfig::thread("t")).await.expect_err("a damaged reference must fail")
}

/// The row holding the write: its own, or its task's bundle (migration 0003).
const WRITE: &str = "thread_id = ?1 AND checkpoint_id = ?2 AND task_id = ?3 AND (idx = ?4 OR type = 'bundle')";
const BLOB: &str = "thread_id = ?1 AND ref_checkpoint_id = ?2 AND ref_task_id = ?3 AND ref_idx = ?4";

#[tokio::test]
async fn missing_or_changed_write_rows_are_typed_errors() {
    for channel in ["answer", "messages"] {
        let cases = [
            (format!("DELETE FROM checkpoint_writes WHERE {WRITE}"), "SG103"),
            (format!("UPDATE checkpoint_writes SET blob = x'92c0c0' WHERE {WRITE}"), "SG102"),
            (format!("UPDATE checkpoint_blobs SET ref_checkpoint_id = NULL WHERE {BLOB}"), "SG102"),
            // The write's row gets a type no codec knows (SG101). When the row is the task's
            // bundle, it is no bundle any more: the write is not found (SG103), or, when the
            // row's own key is the write's, it is read as the write and its bytes differ (SG102).
            (format!("UPDATE checkpoint_writes SET type = 'pickle' WHERE {WRITE}"), "SG101|SG102|SG103"),
        ];
        for (sql, codes) in cases {
            let saver = SqliteSaver::open_in_memory().await.unwrap();
            let made = save_steps(&saver, "t", 4, 4).await;
            let err = read_after(&saver, channel, &sql).await;
            assert!(codes.split('|').any(|c| c == err.code()), "{channel}: {sql}: {err}");
            assert!(err.is_data_error());
            if let Error::MissingBlob { thread_id, checkpoint_id, channel: c, .. } = &err {
                // The task's bundle held both written values: either may be named.
                assert_eq!(thread_id, "t");
                assert!(["answer", "messages"].contains(&c.as_str()), "{c}");
                assert_eq!(checkpoint_id, &made[3].id.to_string());
            }
            // The checkpoints before the damaged one still read.
            let first = saver.get_tuple(&CheckpointConfig::thread("t").with_id(made[0].id)).await.unwrap().unwrap();
            assert_eq!(first.checkpoint, made[0]);
        }
    }
    // A build without references refuses the tag (SG101) instead of reading it as a value.
    assert_eq!(MsgpackSerde.loads(TAG_REF, &[0; 8]).unwrap_err().code(), "SG101");
}

#[tokio::test]
async fn a_file_written_by_the_first_schema_still_reads_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // The first schema only, as a build before migration 0002 left it.
    let old_migrations = dir.path().join("migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    std::fs::write(old_migrations.join("0001_checkpoints.sql"), include_str!("../migrations/0001_checkpoints.sql"))
        .unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path()).await.unwrap().run(&pool).await.unwrap();

    // Rows as that build inserted them.
    let mut cp = Checkpoint::empty();
    let answer = Value::from("an answer from before references ".repeat(4));
    cp.channel_values.insert("answer".into(), answer.clone());
    cp.channel_versions.insert("answer".into(), 1);
    let meta = CheckpointMetadata::new(CheckpointSource::Input, -1);
    let (tag, bytes) = MsgpackSerde.dumps(&answer).unwrap();
    sqlx::query("INSERT INTO checkpoints VALUES ('t', '', ?1, NULL, ?2, ?3)")
        .bind(cp.id.to_string())
        .bind(CheckpointHeader::of(&cp).to_json().unwrap())
        .bind(meta.to_json().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO checkpoint_blobs VALUES ('t', '', 'answer', 1, ?1, ?2)")
        .bind(&tag)
        .bind(&bytes)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO checkpoint_writes VALUES ('t', '', ?1, 'task', 0, 'answer', ?2, ?3, '')")
        .bind(cp.id.to_string())
        .bind(&tag)
        .bind(&bytes)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let saver = SqliteSaver::open(&path).await.unwrap();
    let t = saver.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap();
    assert_eq!(t.checkpoint, cp);
    assert_eq!(t.pending_writes.len(), 1);
    assert_eq!(t.pending_writes[0].value, answer);
    // New rows on the migrated file use references; old and new rows read together.
    let made = save_steps(&saver, "t2", 4, 4).await;
    assert!(blobs(&saver, "t2").await.iter().any(|r| r.2 == TAG_REF));
    let t = saver.get_tuple(&CheckpointConfig::thread("t2")).await.unwrap().unwrap();
    assert_eq!(t.checkpoint, made[3]);
    assert_eq!(saver.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap().checkpoint, cp);
    saver.close().await;
}
