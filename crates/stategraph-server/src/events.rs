//! The `events` stream mode: LangChain's `astream_events` v2 dicts, as LangGraph's server sends
//! them for a graph run — `on_chain_start` for the graph, then per task `on_chain_start`,
//! `on_chain_stream` (the task's update) and `on_chain_end`, and `on_chain_end` for the graph.
//!
//! Built from the engine's `debug` events (`task` and `task_result` carry the step, the task's
//! input and its writes), so it needs no callback machinery in the engine. Only the root graph's
//! tasks are reported, and tasks that fail or pause get a start but no end (LangChain reports
//! those as the run's error or interrupt instead).

use serde_json::{Map, Value as Json, json};

/// Turns one run's debug events into `events` dicts.
pub(crate) struct EventFrames {
    graph: String,
    run_id: String,
    metadata: Map<String, Json>,
    /// Task id -> (name, input, node metadata, tags) for tasks started and not ended.
    open: Vec<(String, String, Json, Json, Json)>,
}

impl EventFrames {
    /// `metadata`: what every event carries (graph, assistant, run and thread ids, user metadata).
    pub(crate) fn new(graph: &str, run_id: &str, metadata: Map<String, Json>) -> EventFrames {
        EventFrames { graph: graph.to_owned(), run_id: run_id.to_owned(), metadata, open: Vec::new() }
    }

    /// The graph's `on_chain_start`.
    pub(crate) fn start(&self, input: &Json) -> Json {
        json!({"event": "on_chain_start", "data": {"input": input}, "name": self.graph, "tags": [],
               "run_id": self.run_id, "metadata": self.metadata, "parent_ids": []})
    }

    /// The graph's `on_chain_end` with the run's output.
    pub(crate) fn end(&self, output: &Json) -> Json {
        json!({"event": "on_chain_end", "data": {"output": output}, "run_id": self.run_id, "name": self.graph,
               "tags": [], "metadata": self.metadata, "parent_ids": []})
    }

    /// The events for one debug event of the root graph (none for checkpoints).
    pub(crate) fn on_debug(&mut self, debug: &Json) -> Vec<Json> {
        let payload = &debug["payload"];
        let (Some(id), Some(name)) = (payload["id"].as_str(), payload["name"].as_str()) else { return Vec::new() };
        match debug["type"].as_str() {
            Some("task") => {
                let step = debug["step"].clone();
                let mut meta = self.metadata.clone();
                meta.insert("langgraph_step".into(), step.clone());
                meta.insert("langgraph_node".into(), json!(name));
                meta.insert("langgraph_triggers".into(), payload["triggers"].clone());
                meta.insert("langgraph_path".into(), json!(["__pregel_pull", name]));
                meta.insert("langgraph_checkpoint_ns".into(), json!(format!("{name}:{id}")));
                let meta = Json::Object(meta);
                let tags = json!([format!("graph:step:{step}")]);
                let input = payload["input"].clone();
                let event = json!({"event": "on_chain_start", "data": {"input": input}, "name": name, "tags": tags,
                                   "run_id": id, "metadata": meta, "parent_ids": [self.run_id]});
                self.open.push((id.to_owned(), name.to_owned(), input, meta, tags));
                vec![event]
            }
            Some("task_result") => {
                let Some(i) = self.open.iter().position(|(open, ..)| open == id) else { return Vec::new() };
                let (id, name, input, meta, tags) = self.open.swap_remove(i);
                let failed = !payload["error"].is_null();
                let paused = payload["interrupts"].as_array().is_some_and(|i| !i.is_empty());
                if failed || paused {
                    return Vec::new();
                }
                let output = result_object(&payload["result"]);
                vec![
                    json!({"event": "on_chain_stream", "run_id": id, "name": name, "tags": tags, "metadata": meta,
                           "data": {"chunk": output}, "parent_ids": [self.run_id]}),
                    json!({"event": "on_chain_end", "data": {"output": output, "input": input}, "run_id": id,
                           "name": name, "tags": tags, "metadata": meta, "parent_ids": [self.run_id]}),
                ]
            }
            _ => Vec::new(),
        }
    }
}

/// A task's writes as an object (the engine gives an object; older shapes are `[[key, value]]`).
fn result_object(result: &Json) -> Json {
    match result {
        Json::Array(pairs) => Json::Object(
            pairs.iter().filter_map(|p| Some((p.get(0)?.as_str()?.to_owned(), p.get(1)?.clone()))).collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_task_gives_start_stream_and_end_and_a_failed_one_only_start() {
        let mut f = super::EventFrames::new("g", "run-1", serde_json::Map::new());
        let start = json!({"type": "task", "step": 1, "payload": {"id": "t1", "name": "a", "input": {"x": 1}, "triggers": ["branch:to:a"]}});
        let ev = f.on_debug(&start);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["event"], "on_chain_start");
        assert_eq!(ev[0]["tags"], json!(["graph:step:1"]));
        assert_eq!(ev[0]["metadata"]["langgraph_checkpoint_ns"], "a:t1");
        assert_eq!(ev[0]["parent_ids"], json!(["run-1"]));
        let end = json!({"type": "task_result", "step": 1, "payload": {"id": "t1", "name": "a", "error": null, "result": {"x": 2}, "interrupts": []}});
        let ev = f.on_debug(&end);
        assert_eq!(
            ev.iter().map(|e| e["event"].as_str().unwrap()).collect::<Vec<_>>(),
            ["on_chain_stream", "on_chain_end"]
        );
        assert_eq!(ev[0]["data"]["chunk"], json!({"x": 2}));
        assert_eq!(ev[1]["data"], json!({"output": {"x": 2}, "input": {"x": 1}}));
        f.on_debug(
            &json!({"type": "task", "step": 2, "payload": {"id": "t2", "name": "b", "input": {}, "triggers": []}}),
        );
        let failed = json!({"type": "task_result", "step": 2, "payload": {"id": "t2", "name": "b", "error": {"message": "x"}, "result": {}, "interrupts": []}});
        assert!(f.on_debug(&failed).is_empty());
        assert!(f.on_debug(&json!({"type": "checkpoint", "step": 2, "payload": {}})).is_empty());
    }
}
