//! Migration 0003: small values in the checkpoint row, a task's small writes in one bundle row.
//! Each case also runs on the in-memory saver, whose answers are the reference.

use stategraph_checkpoint::{
    Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, CheckpointTuple, Checkpointer, InMemorySaver,
    SaveOp,
};
use stategraph_checkpoint_sqlite::SqliteSaver;
use stategraph_value::Value;

fn meta(step: i64) -> CheckpointMetadata {
    CheckpointMetadata::new(if step < 0 { CheckpointSource::Input } else { CheckpointSource::Loop }, step)
}

/// Sets `channel` to `value` (or clears it) at the next version; returns the new version.
fn set(cp: &mut Checkpoint, channel: &str, value: Option<Value>) -> (String, u64) {
    let version = cp.channel_versions.get(channel).map_or(1, |v| v + 1);
    cp.channel_versions.insert(channel.to_owned(), version);
    match value {
        Some(v) => cp.channel_values.insert(channel.to_owned(), v),
        None => cp.channel_values.remove(channel),
    };
    (channel.to_owned(), version)
}

async fn both(ops: &[SaveOp]) -> (SqliteSaver, InMemorySaver) {
    let sqlite = SqliteSaver::open_in_memory().await.unwrap();
    let memory = InMemorySaver::new();
    for op in ops {
        sqlite.save_batch(std::slice::from_ref(op)).await.unwrap();
        memory.save_batch(std::slice::from_ref(op)).await.unwrap();
    }
    (sqlite, memory)
}

async fn tuple(saver: &dyn Checkpointer, config: &CheckpointConfig) -> CheckpointTuple {
    saver.get_tuple(config).await.unwrap().expect("stored")
}

async fn count(saver: &SqliteSaver, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(saver.pool()).await.unwrap()
}

fn put(parent: &CheckpointConfig, cp: &Checkpoint, step: i64, new: &[(String, u64)]) -> SaveOp {
    SaveOp::Put {
        config: parent.clone(),
        checkpoint: Box::new(cp.clone()),
        metadata: meta(step),
        new_versions: new.iter().cloned().collect(),
        only_if_latest: false,
    }
}

fn writes(at: &CheckpointConfig, task: &str, writes: &[(&str, Value)]) -> SaveOp {
    SaveOp::PutWrites {
        config: at.clone(),
        writes: writes.iter().map(|(c, v)| ((*c).to_owned(), v.clone())).collect(),
        task_id: task.to_owned(),
        task_path: format!("~path, {task}"),
    }
}

#[tokio::test]
async fn small_values_live_in_the_checkpoint_row_and_carry_over_to_the_next() {
    let root = CheckpointConfig::thread("t");
    let big = Value::from("a long value that does not fit in the checkpoint row ".repeat(3));
    let mut c1 = Checkpoint::empty();
    let new1 = vec![
        set(&mut c1, "count", Some(Value::from(1))),
        set(&mut c1, "route", Some(Value::from("left"))),
        set(&mut c1, "flag", Some(Value::from(true))),
        set(&mut c1, "nothing", Some(Value::Null)),
        set(&mut c1, "ratio", Some(Value::from(-0.0))),
        set(&mut c1, "big", Some(big.clone())),
        set(&mut c1, "list", Some(Value::from(vec![Value::from(1)]))),
        set(&mut c1, "cleared", None),
    ];
    let k1 = root.clone().with_id(c1.id);
    // The next checkpoint changes one small value; the others stay at their versions.
    let mut c2 = c1.next();
    let new2 = vec![set(&mut c2, "count", Some(Value::from(2)))];
    let k2 = root.clone().with_id(c2.id);
    // A fork from c1, stored later: it carries c1's values, not c2's.
    let mut c3 = c1.next();
    let new3 = vec![set(&mut c3, "route", Some(Value::from("right")))];
    let k3 = root.clone().with_id(c3.id);
    let ops = [put(&root, &c1, -1, &new1), put(&k1, &c2, 0, &new2), put(&k1, &c3, 1, &new3)];
    let (sqlite, memory) = both(&ops).await;

    for (key, cp) in [(&k1, &c1), (&k2, &c2), (&k3, &c3)] {
        let got = tuple(&sqlite, key).await;
        assert_eq!(got.checkpoint, *cp);
        assert_eq!(got, tuple(&memory, key).await);
    }
    // Only the large value and the list have blob rows; every checkpoint row holds the others.
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoint_blobs").await, 2);
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoints WHERE inline_values IS NOT NULL").await, 3);

    // In one batch too (the parent's row is not stored yet when the child is encoded).
    let sqlite = SqliteSaver::open_in_memory().await.unwrap();
    sqlite.save_batch(&ops).await.unwrap();
    for (key, cp) in [(&k1, &c1), (&k2, &c2), (&k3, &c3)] {
        assert_eq!(tuple(&sqlite, key).await.checkpoint, *cp);
    }
}

#[tokio::test]
async fn a_version_stored_nowhere_is_still_a_missing_blob() {
    // The parent is gone (its thread was deleted): its small values are not carried over.
    let root = CheckpointConfig::thread("t");
    let mut c1 = Checkpoint::empty();
    let new1 = vec![set(&mut c1, "count", Some(Value::from(1)))];
    let k1 = root.clone().with_id(c1.id);
    let c2 = c1.next();
    let sqlite = SqliteSaver::open_in_memory().await.unwrap();
    sqlite.save_batch(&[put(&root, &c1, -1, &new1)]).await.unwrap();
    sqlite.delete_thread("t").await.unwrap();
    sqlite.save_batch(&[put(&k1, &c2, 0, &[])]).await.unwrap();
    let err = sqlite.get_tuple(&root).await.unwrap_err();
    assert_eq!(err.code(), "SG103", "{err}");
}

#[tokio::test]
async fn a_tasks_small_writes_share_one_row_and_read_back_in_order() {
    let root = CheckpointConfig::thread("t");
    let mut c1 = Checkpoint::empty();
    let new1 = vec![set(&mut c1, "count", Some(Value::from(0)))];
    let k1 = root.clone().with_id(c1.id);
    let big = Value::from("x".repeat(100));
    let ops = [
        put(&root, &c1, -1, &new1),
        writes(
            &k1,
            "b",
            &[
                ("count", Value::from(1)),
                ("__error__", Value::from("boom")),
                ("route", Value::from("left")),
                ("big", big.clone()),
                ("branch:to:next", Value::Null),
            ],
        ),
        writes(&k1, "a", &[("count", Value::from(2)), ("route", Value::from("right"))]),
        // One small write: a row of its own.
        writes(&k1, "c", &[("count", Value::from(3))]),
        // Task b again: its stored writes stay, the special write is replaced, idx 5 is new.
        writes(
            &k1,
            "b",
            &[
                ("count", Value::from(10)),
                ("__error__", Value::from("boom again")),
                ("route", Value::from("other")),
                ("big", Value::from("y")),
                ("branch:to:next", Value::from(1)),
                ("extra", Value::from(5)),
            ],
        ),
    ];
    let (sqlite, memory) = both(&ops).await;
    let got = tuple(&sqlite, &k1).await;
    assert_eq!(got, tuple(&memory, &k1).await);
    let b: Vec<(i64, &str)> =
        got.pending_writes.iter().filter(|w| w.task_id == "b").map(|w| (w.idx, w.channel.as_str())).collect();
    assert_eq!(b, [(-1, "__error__"), (0, "count"), (2, "route"), (3, "big"), (4, "branch:to:next"), (5, "extra")]);
    // b: bundle (count, route, big, branch) + error + extra; a: bundle; c: one row.
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoint_writes").await, 5);
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoint_writes WHERE type = 'bundle'").await, 2);

    // The same saves as one batch store the same.
    let batched = SqliteSaver::open_in_memory().await.unwrap();
    batched.save_batch(&ops).await.unwrap();
    assert_eq!(tuple(&batched, &k1).await.pending_writes, got.pending_writes);
    // And a copied thread reads the same.
    sqlite.copy_thread("t", "u").await.unwrap();
    let copy = tuple(&sqlite, &CheckpointConfig::thread("u").with_id(c1.id)).await;
    assert_eq!(copy.pending_writes, got.pending_writes);
}

#[tokio::test]
async fn damaged_packs_are_typed_errors() {
    let root = CheckpointConfig::thread("t");
    let mut c1 = Checkpoint::empty();
    let new1 = vec![set(&mut c1, "count", Some(Value::from(1)))];
    let k1 = root.clone().with_id(c1.id);
    let ops = [put(&root, &c1, -1, &new1), writes(&k1, "a", &[("x", Value::from(1)), ("y", Value::from(2))])];
    for damage in [
        "UPDATE checkpoints SET inline_values = x'01020061'",
        "UPDATE checkpoints SET inline_values = x'07'",
        "UPDATE checkpoint_writes SET blob = x'0101'",
        "UPDATE checkpoint_writes SET blob = x'01010078000000000000000007ff'",
    ] {
        let sqlite = SqliteSaver::open_in_memory().await.unwrap();
        sqlite.save_batch(&ops).await.unwrap();
        sqlx::query(damage).execute(sqlite.pool()).await.unwrap();
        let err = sqlite.get_tuple(&root).await.unwrap_err();
        assert_eq!(err.code(), "SG102", "{damage}: {err}");
        assert!(err.is_data_error());
    }
}

#[tokio::test]
async fn a_thread_begun_before_migration_0003_goes_on_after_it() {
    // A file as builds with migrations 0001 and 0002 left it: every value in a blob row.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(old.join("0001_checkpoints.sql"), include_str!("../migrations/0001_checkpoints.sql")).unwrap();
    std::fs::write(old.join("0002_blob_refs.sql"), include_str!("../migrations/0002_blob_refs.sql")).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
    let root = CheckpointConfig::thread("t");
    let mut c1 = Checkpoint::empty();
    set(&mut c1, "count", Some(Value::from(1)));
    set(&mut c1, "route", Some(Value::from("left")));
    set(&mut c1, "cleared", None);
    let header = stategraph_checkpoint::storage::CheckpointHeader::of(&c1).to_json().unwrap();
    sqlx::query("INSERT INTO checkpoints VALUES ('t', '', ?1, NULL, ?2, ?3)")
        .bind(c1.id.to_string())
        .bind(header)
        .bind(meta(-1).to_json().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    for (channel, value) in [("count", Some(Value::from(1))), ("route", Some(Value::from("left"))), ("cleared", None)] {
        let (tag, bytes) = match value {
            Some(v) => stategraph_checkpoint::Serde::dumps(&stategraph_checkpoint::MsgpackSerde, &v).unwrap(),
            None => ("empty".to_owned(), Vec::new()),
        };
        sqlx::query("INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) VALUES ('t', '', ?1, 1, ?2, ?3)")
            .bind(channel)
            .bind(tag)
            .bind(bytes)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    // This build migrates the file and continues the thread: the values the child does not
    // change come from the parent's blob rows (its row has no packed values).
    let saver = SqliteSaver::open(&path).await.unwrap();
    let k1 = root.clone().with_id(c1.id);
    assert_eq!(tuple(&saver, &k1).await.checkpoint, c1);
    let mut c2 = c1.next();
    let new2 = vec![set(&mut c2, "count", Some(Value::from(2)))];
    let mut c3 = c2.next();
    let new3 = vec![set(&mut c3, "route", Some(Value::from("right")))];
    let k2 = root.clone().with_id(c2.id);
    saver.save_batch(&[put(&k1, &c2, 0, &new2)]).await.unwrap();
    saver.save_batch(&[put(&k2, &c3, 1, &new3)]).await.unwrap();
    assert_eq!(tuple(&saver, &k2).await.checkpoint, c2);
    assert_eq!(tuple(&saver, &root).await.checkpoint, c3);
    assert_eq!(tuple(&saver, &k1).await.checkpoint, c1);
    saver.close().await;
}

#[tokio::test]
async fn a_name_too_long_to_pack_keeps_its_own_row() {
    let long = "c".repeat(70_000);
    let root = CheckpointConfig::thread("t");
    let mut c1 = Checkpoint::empty();
    let new1 = vec![set(&mut c1, &long, Some(Value::from(1))), set(&mut c1, "short", Some(Value::from(2)))];
    let k1 = root.clone().with_id(c1.id);
    let mut c2 = c1.next();
    let new2 = vec![set(&mut c2, "short", Some(Value::from(3)))];
    let ops = [
        put(&root, &c1, -1, &new1),
        writes(&k1, "a", &[(long.as_str(), Value::from(1)), ("short", Value::from(3)), ("x", Value::from(4))]),
        put(&k1, &c2, 0, &new2),
    ];
    let (sqlite, memory) = both(&ops).await;
    for key in [&k1, &root] {
        assert_eq!(tuple(&sqlite, key).await, tuple(&memory, key).await);
    }
    assert_eq!(tuple(&sqlite, &root).await.checkpoint, c2);
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoint_blobs").await, 1, "the long name's value");
    assert_eq!(count(&sqlite, "SELECT COUNT(*) FROM checkpoint_writes").await, 2, "a bundle and the long name's write");
}

/// A batch is encoded while the write check is on its way, from what this saver expects the
/// check to answer (its last packs, no other writer). Another saver on the same file makes each
/// expectation wrong in turn: the batch must then be encoded from the real answers.
#[tokio::test]
async fn a_batch_encoded_before_the_check_answers_is_redone_when_another_writer_moved_things() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqliteSaver::open(&path).await.unwrap();
    let b = SqliteSaver::open(&path).await.unwrap();
    let root = CheckpointConfig::thread("t");
    let guarded = |op: SaveOp| match op {
        SaveOp::Put { config, checkpoint, metadata, new_versions, .. } => {
            SaveOp::Put { config, checkpoint, metadata, new_versions, only_if_latest: true }
        }
        op => op,
    };

    // The parent's row changed behind `a`: `b` stored the same checkpoint again, its small value
    // at a new version. `a`'s child carries the value the row holds now, not the one it wrote.
    let mut c1 = Checkpoint::empty();
    let new1 = vec![set(&mut c1, "count", Some(Value::from(1)))];
    let k1 = root.clone().with_id(c1.id);
    a.save_batch(&[put(&root, &c1, -1, &new1)]).await.unwrap();
    let mut c1b = c1.clone();
    let new1b = vec![set(&mut c1b, "count", Some(Value::from(7)))];
    b.save_batch(&[put(&root, &c1b, -1, &new1b)]).await.unwrap();
    let mut c2 = c1b.next();
    let new2 = vec![set(&mut c2, "route", Some(Value::from("left")))];
    let k2 = root.clone().with_id(c2.id);
    a.save_batch(&[put(&k1, &c2, 0, &new2)]).await.unwrap();
    let got = tuple(&a, &k2).await;
    assert_eq!(got.checkpoint.channel_values.get("count"), Some(&Value::from(7)));
    assert_eq!(got.checkpoint, c2);

    // The namespace moved on: `b` added a checkpoint after c2, so `a`'s guarded put of another
    // child of c2 is a conflict, and nothing of its batch is stored.
    let mut c3 = c2.next();
    let new3 = vec![set(&mut c3, "count", Some(Value::from(8)))];
    b.save_batch(&[guarded(put(&k2, &c3, 1, &new3))]).await.unwrap();
    let mut other = c2.next();
    let new_other = vec![set(&mut other, "count", Some(Value::from(9)))];
    let k_other = root.clone().with_id(other.id);
    let ops = [guarded(put(&k2, &other, 1, &new_other)), writes(&k_other, "x", &[("count", Value::from(1))])];
    let err = a.save_batch(&ops).await.unwrap_err();
    assert_eq!(err.code(), "SG107", "{err}");
    assert!(a.get_tuple(&k_other).await.unwrap().is_none());

    // Writes stored behind `a`'s back: `b` stored task y's writes on c3 first; `a`'s writes for y
    // keep `b`'s (the first row of a key stays), its new key is added.
    let k3 = root.clone().with_id(c3.id);
    b.save_batch(&[writes(&k3, "y", &[("count", Value::from(1)), ("route", Value::from("b"))])]).await.unwrap();
    a.save_batch(&[writes(
        &k3,
        "y",
        &[("count", Value::from(2)), ("route", Value::from("a")), ("extra", Value::Null)],
    )])
    .await
    .unwrap();
    let got = tuple(&a, &k3).await;
    let y: Vec<(&str, &Value)> = got.pending_writes.iter().map(|w| (w.channel.as_str(), &w.value)).collect();
    assert_eq!(y, [("count", &Value::from(1)), ("route", &Value::from("b")), ("extra", &Value::Null)]);

    // Writes of other tasks stored on the checkpoint, by `b` and by `a` itself, as the parent of a
    // fan-out gets its tasks' writes over many batches: they change nothing for `a`'s next tasks,
    // and a task that wrote before keeps its first rows.
    let two = |task: &str, n: i64| writes(&k3, task, &[("count", Value::from(n)), ("route", Value::from(task))]);
    a.save_batch(&[two("z", 3)]).await.unwrap();
    b.save_batch(&[two("w", 4)]).await.unwrap();
    a.save_batch(&[
        two("v", 5),
        writes(&k3, "z", &[("count", Value::from(6)), ("route", Value::from("z2")), ("extra", Value::from(7))]),
    ])
    .await
    .unwrap();
    let got = tuple(&a, &k3).await;
    let mut by_task: std::collections::BTreeMap<String, Vec<(i64, String, Value)>> = Default::default();
    for w in &got.pending_writes {
        by_task.entry(w.task_id.clone()).or_default().push((w.idx, w.channel.clone(), w.value.clone()));
    }
    let pair =
        |n: i64, task: &str| vec![(0, "count".to_owned(), Value::from(n)), (1, "route".to_owned(), Value::from(task))];
    assert_eq!(by_task["v"], pair(5, "v"));
    assert_eq!(by_task["w"], pair(4, "w"));
    let mut z = pair(3, "z");
    z.push((2, "extra".to_owned(), Value::from(7)));
    assert_eq!(by_task["z"], z);
    assert_eq!(by_task["y"].len(), 3);
    a.close().await;
    b.close().await;
}

/// Found by the property test: a put whose parent row is gone (pruned, or never stored) still
/// finds the small values of the versions it keeps in the rows that remain, as the in-memory saver
/// finds a version's blob whichever checkpoint wrote it.
#[tokio::test]
async fn a_put_on_a_pruned_parent_finds_its_small_values_in_the_rows_kept() {
    let root = CheckpointConfig::thread("t");
    let mut c0 = Checkpoint::empty();
    let new0 = vec![set(&mut c0, "count", Some(Value::from(3))), set(&mut c0, "cleared", None)];
    let k0 = root.clone().with_id(c0.id);
    let c1 = c0.next();
    let c2 = c0.next();
    let k2 = root.clone().with_id(c2.id);
    let sqlite = SqliteSaver::open_in_memory().await.unwrap();
    let memory = InMemorySaver::new();
    for saver in [&sqlite as &dyn Checkpointer, &memory] {
        saver.save_batch(&[put(&root, &c0, -1, &new0)]).await.unwrap();
        saver.save_batch(&[put(&k0, &c1, 0, &[])]).await.unwrap();
        saver.prune(&["t".to_owned()], stategraph_checkpoint::PruneStrategy::KeepLatest).await.unwrap();
        saver.save_batch(&[put(&k0, &c2, 1, &[])]).await.unwrap();
    }
    let got = tuple(&sqlite, &k2).await;
    assert_eq!(got, tuple(&memory, &k2).await);
    assert_eq!(got.checkpoint.channel_values.get("count"), Some(&Value::from(3)));

    // A parent never stored, and a version only an older row holds (the latest moved on).
    let root = CheckpointConfig::thread("u");
    let mut c0 = Checkpoint::empty();
    let new0 = vec![set(&mut c0, "count", Some(Value::from(3))), set(&mut c0, "route", Some(Value::from("a")))];
    let k0 = root.clone().with_id(c0.id);
    let mut c1 = c0.next();
    let new1 = vec![set(&mut c1, "count", Some(Value::from(4)))];
    let c2 = c0.next();
    let unknown = root.clone().with_id(Checkpoint::empty().id);
    let k2 = root.clone().with_id(c2.id);
    for saver in [&sqlite as &dyn Checkpointer, &memory] {
        saver.save_batch(&[put(&root, &c0, -1, &new0)]).await.unwrap();
        saver.save_batch(&[put(&k0, &c1, 0, &new1)]).await.unwrap();
        saver.save_batch(&[put(&unknown, &c2, 1, &[])]).await.unwrap();
    }
    let got = tuple(&sqlite, &k2).await;
    assert_eq!(got, tuple(&memory, &k2).await);
    assert_eq!(got.checkpoint.channel_values.get("count"), Some(&Value::from(3)));
    assert_eq!(got.checkpoint.channel_values.get("route"), Some(&Value::from("a")));

    // The parent's thread deleted, the child put anyway (its value found nowhere), then a copy
    // brings the parent's row back: the child reads the value from it, as from a blob.
    let root = CheckpointConfig::thread("v");
    let mut c0 = Checkpoint::empty();
    let new0 = vec![set(&mut c0, "count", Some(Value::from(5)))];
    let k0 = root.clone().with_id(c0.id);
    let c1 = c0.next();
    let k1 = root.clone().with_id(c1.id);
    for saver in [&sqlite as &dyn Checkpointer, &memory] {
        saver.save_batch(&[put(&root, &c0, -1, &new0)]).await.unwrap();
        saver.copy_thread("v", "w").await.unwrap();
        saver.delete_thread("v").await.unwrap();
        saver.save_batch(&[put(&k0, &c1, 0, &[])]).await.unwrap();
        saver.copy_thread("w", "v").await.unwrap();
    }
    let got = tuple(&sqlite, &k1).await;
    assert_eq!(got, tuple(&memory, &k1).await);
    assert_eq!(got.checkpoint.channel_values.get("count"), Some(&Value::from(5)));
}
