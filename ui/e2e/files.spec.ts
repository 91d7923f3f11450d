// Never losing work (autosave + restore after a reload) and importing LangGraph's graph JSON.
import { test, expect } from "@playwright/test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropKind, node, renameSelected, shot, spec } from "./helpers";

const BASE = () => process.env.E2E_BASE_URL as string;

test("unsaved work is autosaved and offered back after a reload", async ({ page }) => {
  await page.goto(BASE());
  await expect(page.getByTestId("cmd-connect")).toContainText("Connected");
  await dropKind(page, "passthrough", 300, 300);
  await renameSelected(page, "keep_me");
  await expect(page.getByTestId("dirty-marker")).toBeVisible();
  // The autosave runs every 3 s.
  await expect.poll(() => page.evaluate(() => localStorage.getItem("stategraph.autosave")), { timeout: 10_000 }).toContain("keep_me");
  await page.reload();
  await expect(page.getByTestId("restore-banner")).toBeVisible();
  await shot(page, "10-restore-banner");
  await page.getByTestId("restore-accept").click();
  await expect(node(page, "keep_me")).toBeVisible();
  await expect(page.getByTestId("dirty-marker")).toBeVisible();
  expect((await spec(page)).nodes?.map((n) => n.id)).toEqual(["keep_me"]);
});

test("LangGraph graph JSON is imported through the server", async ({ page }) => {
  // What LangGraph's `graph.get_graph().to_json()` gives for START → agent → (tools | END), tools → agent.
  const graph = {
    nodes: [
      { id: "__start__", type: "schema", data: "__start__" },
      { id: "agent", type: "runnable", data: { id: ["langgraph", "utils", "RunnableCallable"], name: "agent" } },
      { id: "tools", type: "runnable", data: { id: ["langgraph", "utils", "RunnableCallable"], name: "tools" } },
      { id: "__end__", type: "schema", data: "__end__" },
    ],
    edges: [
      { source: "__start__", target: "agent" },
      { source: "agent", target: "tools", conditional: true },
      { source: "agent", target: "__end__", conditional: true },
      { source: "tools", target: "agent" },
    ],
  };
  const file = join(mkdtempSync(join(tmpdir(), "sg-e2e-import-")), "agent_graph.json");
  writeFileSync(file, JSON.stringify(graph));
  await page.goto(BASE());
  await expect(page.getByTestId("cmd-connect")).toContainText("Connected");
  await page.evaluate(() => localStorage.removeItem("stategraph.autosave"));
  await page.getByTestId("import-file-input").setInputFiles(file);
  await expect(node(page, "agent")).toBeVisible();
  await expect(node(page, "tools")).toBeVisible();
  const s = await spec(page);
  expect(s.nodes?.map((n) => n.id).sort()).toEqual(["agent", "tools"]);
  const cond = s.edges?.find((e) => "branches" in e) as { source: string; branches: { target: string }[] } | undefined;
  expect(cond?.source).toBe("agent");
  expect(cond?.branches.map((b) => b.target).sort()).toEqual(["__end__", "tools"]);
  await shot(page, "11-imported-langgraph");
});
