// The official JS client (@langchain/langgraph-sdk, unchanged) against a Stategraph server that
// serves the probe graphs (simple, approval, loop, nested) at STATEGRAPH_SERVER_URL.
// scripts/ci/server.sh starts one (the probe_server example) and runs `npm test` here. By hand:
//
//   cargo run -p stategraph-server --example probe_server -- --port 2024 &
//   STATEGRAPH_SERVER_URL=http://127.0.0.1:2024 npm test
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";

const apiUrl = process.env.STATEGRAPH_SERVER_URL ?? "http://127.0.0.1:2024";
const client = new Client({ apiUrl, apiKey: null });
const SIMPLE_ASSISTANT = "5e0f6b46-d00f-5af4-87dc-ea2105ff526d";

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function rejects409(promise) {
  await assert.rejects(promise, (e) => e.status === 409 || /409/.test(String(e)));
}

test("assistants: search finds the system assistant with LangGraph's id", async () => {
  const found = await client.assistants.search({ graphId: "simple" });
  assert.deepEqual(found.map((a) => a.assistant_id), [SIMPLE_ASSISTANT]);
  assert.equal((await client.assistants.get(SIMPLE_ASSISTANT)).graph_id, "simple");
});

test("create a thread and stream values + updates", async () => {
  const thread = await client.threads.create({ metadata: { suite: "js-sdk" } });
  assert.equal(thread.status, "idle");
  const parts = await collect(
    client.runs.stream(thread.thread_id, "simple", { input: { value: 1 }, streamMode: ["values", "updates"] }),
  );
  assert.equal(parts[0].event, "metadata");
  const values = parts.filter((p) => p.event === "values").map((p) => p.data);
  const updates = parts.filter((p) => p.event === "updates").map((p) => p.data);
  assert.deepEqual(values[0], { value: 1, log: [] });
  assert.deepEqual(values.at(-1), { value: 25, log: ["a", "b", "c"] });
  assert.deepEqual(updates, [
    { step_a: { value: 2, log: ["a"] } },
    { step_b: { value: 20, log: ["b"] } },
    { step_c: { value: 25, log: ["c"] } },
  ]);
  const runs = await client.runs.list(thread.thread_id);
  assert.equal(runs[0].status, "success");
});

test("interrupt, then resume with a command", async () => {
  const { thread_id: tid } = await client.threads.create();
  const parts = await collect(client.runs.stream(tid, "approval", { input: { request: "deploy" }, streamMode: ["updates"] }));
  const interrupts = parts.filter((p) => p.event === "updates" && "__interrupt__" in p.data).map((p) => p.data.__interrupt__);
  assert.deepEqual(interrupts[0][0].value, { question: "approve?", request: "deploy" });
  const state = await client.threads.getState(tid);
  assert.deepEqual(state.next, ["ask_human"]);
  assert.equal((await client.threads.get(tid)).status, "interrupted");
  const out = await client.runs.wait(tid, "approval", { command: { resume: "yes" } });
  assert.equal(out.decision, "approved");
  assert.deepEqual(out.log, ["proposed:deploy", "answer:yes", "finish"]);
  assert.equal((await client.threads.get(tid)).status, "idle");
});

test("history, state at a checkpoint, and a fork by checkpoint id", async () => {
  const { thread_id: tid } = await client.threads.create();
  await client.runs.wait(tid, "simple", { input: { value: 1 } });
  const history = await client.threads.getHistory(tid);
  assert.deepEqual(history.map((h) => h.next), [[], ["step_c"], ["step_b"], ["step_a"], ["__start__"]]);
  const beforeB = history[2].checkpoint_id;
  const at = await client.threads.getState(tid, beforeB);
  assert.deepEqual(at.values, { value: 2, log: ["a"] });
  const fork = await client.threads.updateState(tid, { values: { value: 100 }, asNode: "step_a", checkpointId: beforeB });
  const out = await client.runs.wait(tid, "simple", { input: null, checkpointId: fork.checkpoint_id });
  assert.deepEqual(out, { value: 1005, log: ["a", "b", "c"] });
});

test("runs.wait stateless, multitask reject is a 409, join", async () => {
  assert.equal((await client.runs.wait(null, "simple", { input: { value: 2 } })).value, 35);
  const { thread_id: tid } = await client.threads.create();
  const run = await client.runs.create(tid, "loop", { input: { limit: 2, sleep: 0.5 } });
  await rejects409(client.runs.create(tid, "loop", { input: { limit: 1 }, multitaskStrategy: "reject" }));
  const out = await client.runs.join(tid, run.run_id);
  assert.deepEqual(out.trace, [1, 2]);
  assert.equal((await client.runs.get(tid, run.run_id)).status, "success");
});

test("cancel a running run", async () => {
  const { thread_id: tid } = await client.threads.create();
  const run = await client.runs.create(tid, "loop", { input: { limit: 5, sleep: 1 } });
  for (let i = 0; i < 100 && (await client.runs.get(tid, run.run_id)).status !== "running"; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await client.runs.cancel(tid, run.run_id, true);
  assert.equal((await client.runs.get(tid, run.run_id)).status, "interrupted");
});

test("copy and delete a thread", async () => {
  const { thread_id: tid } = await client.threads.create();
  await client.runs.wait(tid, "simple", { input: { value: 1 } });
  const copy = await client.threads.copy(tid);
  assert.equal((await client.threads.getState(copy.thread_id)).values.value, 25);
  await client.threads.delete(tid);
  await assert.rejects(client.threads.get(tid), (e) => e.status === 404 || /404/.test(String(e)));
});
