//! Batches larger than what the saver sends at once (256 KiB of encoded rows): the rows go to
//! SQLite in several parts, each sent while the next is encoded. Every case also runs on the
//! in-memory saver, whose answers are the reference.

use stategraph_checkpoint::{
    Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer, Error, InMemorySaver, ListFilter,
    SaveOp,
};
use stategraph_checkpoint_sqlite::SqliteSaver;
use stategraph_value::Value;

/// A string of `kib` KiB, different for each `seed`.
fn text(seed: usize, kib: usize) -> Value {
    Value::from(format!("{seed:06} ").repeat(kib * 1024 / 7))
}

/// A run of `steps` steps on `thread`, saved as one batch: each step puts a checkpoint with a new
/// ~`kib` KiB value in `doc`, a growing `log` list, and the writes of one task.
fn run(thread: &str, steps: usize, kib: usize) -> (Vec<SaveOp>, Vec<CheckpointConfig>) {
    let mut ops = Vec::new();
    let mut configs = Vec::new();
    let mut parent = CheckpointConfig::thread(thread);
    let mut cp = Checkpoint::empty();
    let mut log = Vec::new();
    for step in 0..steps {
        if step > 0 {
            cp = cp.next();
        }
        log.push(Value::from(format!("step {step}")));
        let mut new_versions = stategraph_checkpoint::ChannelVersions::new();
        for (channel, value) in [("doc", text(step, kib)), ("log", Value::from(log.clone()))] {
            let version = cp.channel_versions.get(channel).map_or(1, |v| v + 1);
            cp.channel_versions.insert(channel.to_owned(), version);
            cp.channel_values.insert(channel.to_owned(), value);
            new_versions.insert(channel.to_owned(), version);
        }
        let source = if step == 0 { CheckpointSource::Input } else { CheckpointSource::Loop };
        ops.push(SaveOp::Put {
            config: parent.clone(),
            checkpoint: Box::new(cp.clone()),
            metadata: CheckpointMetadata::new(source, step as i64 - 1),
            new_versions,
            only_if_latest: step > 0,
        });
        let at = CheckpointConfig::thread(thread).with_id(cp.id);
        ops.push(SaveOp::PutWrites {
            config: at.clone(),
            writes: vec![("doc".to_owned(), text(1000 + step, kib)), ("note".to_owned(), Value::from(step as i64))],
            task_id: format!("task-{step}"),
            task_path: format!("~path, {step}"),
        });
        configs.push(at.clone());
        parent = at;
    }
    (ops, configs)
}

async fn file_saver(dir: &tempfile::TempDir) -> SqliteSaver {
    SqliteSaver::open(dir.path().join("state.db")).await.unwrap()
}

/// Every checkpoint of `configs` and the thread's history read the same from both savers.
async fn same(sqlite: &SqliteSaver, memory: &InMemorySaver, thread: &str, configs: &[CheckpointConfig]) {
    for config in configs {
        let a = sqlite.get_tuple(config).await.unwrap();
        let b = memory.get_tuple(config).await.unwrap();
        assert_eq!(a, b, "checkpoint {config:?}");
    }
    let a = sqlite.list(&ListFilter::thread(thread)).await.unwrap();
    let b = memory.list(&ListFilter::thread(thread)).await.unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_batch_of_many_megabytes_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = file_saver(&dir).await;
    let memory = InMemorySaver::new();
    // 24 steps × (96 KiB value + 96 KiB write) ≈ 4.6 MB of rows: several parts.
    let (ops, configs) = run("t", 24, 96);
    sqlite.save_batch(&ops).await.unwrap();
    memory.save_batch(&ops).await.unwrap();
    same(&sqlite, &memory, "t", &configs).await;
    let latest = sqlite.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap();
    assert_eq!(latest.config, configs[23]);
    assert_eq!(latest.checkpoint.channel_values["doc"], text(23, 96));
    assert_eq!(latest.pending_writes.len(), 2);
    // And after reopening the file (nothing was only in a cache).
    sqlite.close().await;
    let reopened = file_saver(&dir).await;
    same(&reopened, &memory, "t", &configs).await;
}

#[tokio::test]
async fn a_conflict_after_parts_were_sent_keeps_the_ops_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = file_saver(&dir).await;
    let memory = InMemorySaver::new();
    let (mut ops, configs) = run("t", 20, 96);
    // A `put_next` on a stale parent after ~3.8 MB of rows: a conflict, then more ops that must
    // not be stored.
    let mut stale = Checkpoint::empty();
    stale.channel_values.insert("doc".into(), Value::from("stale"));
    stale.channel_versions.insert("doc".into(), 99);
    ops.push(SaveOp::Put {
        config: configs[3].clone(),
        checkpoint: Box::new(stale.clone()),
        metadata: CheckpointMetadata::new(CheckpointSource::Loop, 99),
        new_versions: [("doc".to_owned(), 99)].into_iter().collect(),
        only_if_latest: true,
    });
    let (after, after_configs) = run("u", 6, 96);
    ops.extend(after);
    for saver in [&sqlite as &dyn Checkpointer, &memory] {
        let err = saver.save_batch(&ops).await.unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err}");
    }
    same(&sqlite, &memory, "t", &configs).await;
    let stale_config = CheckpointConfig::thread("t").with_id(stale.id);
    assert!(sqlite.get_tuple(&stale_config).await.unwrap().is_none());
    assert!(sqlite.get_tuple(&after_configs[0]).await.unwrap().is_none());
    assert!(sqlite.list(&ListFilter::thread("u")).await.unwrap().is_empty());
    // The saver goes on: the ops after the conflict, saved again, are stored.
    let (again, again_configs) = run("u", 6, 96);
    sqlite.save_batch(&again).await.unwrap();
    memory.save_batch(&again).await.unwrap();
    same(&sqlite, &memory, "u", &again_configs).await;
}
