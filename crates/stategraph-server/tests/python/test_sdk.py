"""The official Python client (`langgraph-sdk`, unchanged) against a Stategraph server.

The server must serve the probe graphs (`simple`, `approval`, `loop`, `nested`) at
``STATEGRAPH_SERVER_URL``; ``cargo nextest run -p stategraph-server --test server_python_sdk``
starts one and runs this file. By hand::

    cargo run -p stategraph-server --example probe_server -- --port 2024 &
    STATEGRAPH_SERVER_URL=http://127.0.0.1:2024 ~/.cache/sg-venv/bin/python -m unittest -v test_sdk.py
"""

import os
import unittest

from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import ConflictError, NotFoundError

URL = os.environ.get("STATEGRAPH_SERVER_URL", "http://127.0.0.1:2024")
SIMPLE_ASSISTANT = "5e0f6b46-d00f-5af4-87dc-ea2105ff526d"


class SdkTest(unittest.TestCase):
    def setUp(self):
        self.client = get_sync_client(url=URL, api_key=None)

    def test_assistants_search_finds_the_system_assistant(self):
        found = self.client.assistants.search(graph_id="simple")
        self.assertEqual([a["assistant_id"] for a in found], [SIMPLE_ASSISTANT])
        self.assertEqual(found[0]["metadata"], {"created_by": "system"})
        self.assertEqual(self.client.assistants.get(SIMPLE_ASSISTANT)["graph_id"], "simple")
        graph = self.client.assistants.get_graph(SIMPLE_ASSISTANT)
        self.assertIn({"source": "__start__", "target": "step_a"}, graph["edges"])

    def test_thread_create_and_stream_values_and_updates(self):
        thread = self.client.threads.create(metadata={"suite": "sdk"})
        self.assertEqual(thread["status"], "idle")
        parts = list(
            self.client.runs.stream(
                thread["thread_id"], "simple", input={"value": 1}, stream_mode=["values", "updates"]
            )
        )
        self.assertEqual(parts[0].event, "metadata")
        values = [p.data for p in parts if p.event == "values"]
        updates = [p.data for p in parts if p.event == "updates"]
        self.assertEqual(values[0], {"value": 1, "log": []})
        self.assertEqual(values[-1], {"value": 25, "log": ["a", "b", "c"]})
        self.assertEqual(updates, [
            {"step_a": {"value": 2, "log": ["a"]}},
            {"step_b": {"value": 20, "log": ["b"]}},
            {"step_c": {"value": 25, "log": ["c"]}},
        ])
        runs = self.client.runs.list(thread["thread_id"])
        self.assertEqual(runs[0]["status"], "success")
        found = self.client.threads.search(metadata={"suite": "sdk"})
        self.assertIn(thread["thread_id"], [t["thread_id"] for t in found])

    def test_interrupt_and_resume_with_command(self):
        thread = self.client.threads.create()
        tid = thread["thread_id"]
        parts = list(
            self.client.runs.stream(tid, "approval", input={"request": "deploy"}, stream_mode=["updates"])
        )
        interrupts = [p.data["__interrupt__"] for p in parts if p.event == "updates" and "__interrupt__" in p.data]
        self.assertEqual(interrupts[0][0]["value"], {"question": "approve?", "request": "deploy"})
        state = self.client.threads.get_state(tid)
        self.assertEqual(state["next"], ["ask_human"])
        self.assertEqual(state["interrupts"][0]["id"], interrupts[0][0]["id"])
        self.assertEqual(self.client.threads.get(tid)["status"], "interrupted")
        out = self.client.runs.wait(tid, "approval", command={"resume": "yes"})
        self.assertEqual(out["decision"], "approved")
        self.assertEqual(out["log"], ["proposed:deploy", "answer:yes", "finish"])
        self.assertEqual(self.client.threads.get(tid)["status"], "idle")

    def test_state_history_and_fork_by_checkpoint_id(self):
        tid = self.client.threads.create()["thread_id"]
        self.client.runs.wait(tid, "simple", input={"value": 1})
        history = self.client.threads.get_history(tid)
        self.assertEqual([h["next"] for h in history], [[], ["step_c"], ["step_b"], ["step_a"], ["__start__"]])
        before_b = history[2]["checkpoint_id"]
        at = self.client.threads.get_state(tid, checkpoint_id=before_b)
        self.assertEqual(at["values"], {"value": 2, "log": ["a"]})
        fork = self.client.threads.update_state(
            tid, {"value": 100}, as_node="step_a", checkpoint={"checkpoint_id": before_b}
        )
        out = self.client.runs.wait(tid, "simple", input=None, checkpoint_id=fork["checkpoint_id"])
        self.assertEqual(out, {"value": 1005, "log": ["a", "b", "c"]})

    def test_a_second_run_with_reject_on_a_busy_thread_is_a_409(self):
        tid = self.client.threads.create()["thread_id"]
        run = self.client.runs.create(tid, "loop", input={"limit": 2, "sleep": 0.5})
        with self.assertRaises(ConflictError):
            self.client.runs.create(tid, "loop", input={"limit": 1}, multitask_strategy="reject")
        out = self.client.runs.join(tid, run["run_id"])
        self.assertEqual(out["trace"], [1, 2])
        self.assertEqual(self.client.runs.get(tid, run["run_id"])["status"], "success")

    def test_stateless_wait_copy_and_delete(self):
        self.assertEqual(self.client.runs.wait(None, "simple", input={"value": 2})["value"], 35)
        tid = self.client.threads.create()["thread_id"]
        self.client.runs.wait(tid, "simple", input={"value": 1})
        copy = self.client.threads.copy(tid)
        self.assertEqual(self.client.threads.get_state(copy["thread_id"])["values"]["value"], 25)
        self.client.threads.delete(tid)
        with self.assertRaises(NotFoundError):
            self.client.threads.get(tid)


if __name__ == "__main__":
    unittest.main()
