// The studio's graph view, run, state and interrupt parts against a real Python `langgraph dev`
// server (started by scripts/ci/e2e-langgraph-dev.sh, which sets LANGGRAPH_DEV_URL; skipped
// without it). The server has no studio API and no `breakpoints` option: the graph comes from
// `/assistants/{id}/graph`, breakpoints become `interrupt_before` / `interrupt_after`.
import { test, expect } from "@playwright/test";
import { shot, node } from "./helpers";
import { settled, studioUrl, values } from "./run-helpers";

const url = process.env.LANGGRAPH_DEV_URL;
test.skip(!url, "LANGGRAPH_DEV_URL is not set (scripts/ci/e2e-langgraph-dev.sh starts langgraph dev and sets it)");

async function connect(page: import("@playwright/test").Page) {
  await page.addInitScript(() => {
    localStorage.removeItem("stategraph.breakpoints");
    localStorage.removeItem("stategraph.autosave");
    localStorage.removeItem("stategraph.connection");
  });
  await page.goto(await studioUrl());
  // The Connect screen, with the langgraph dev URL.
  await page.getByTestId("cmd-connect").click();
  await page.getByTestId("connect-url").fill(url as string);
  await page.getByTestId("connect-apply").click();
  await expect(page.getByTestId("connect-status")).toContainText(/no studio API|langgraph dev/i);
  await page.keyboard.press("Escape");
  await page.getByTestId("mode-run").click();
}

async function showGraph(page: import("@playwright/test").Page, graph: string) {
  await page.getByTestId("assistant-select").selectOption({ label: graph });
  await page.getByTestId("load-graph").click();
  await expect(page.getByTestId("doc-title")).toContainText(graph);
  await page.getByTestId("thread-new").click();
}

test("langgraph dev: graph view, breakpoints as static interrupts, stepping, state and the writer of each key", async ({ page }) => {
  await connect(page);
  await showGraph(page, "steps");
  for (const id of ["a", "b", "c", "d"]) await expect(node(page, id)).toBeVisible();
  await page.getByTestId("bp-b").click();
  // The input form comes from the server's input schema (the graph is code, there is no spec).
  await page.getByTestId("tab-input").click();
  await page.getByTestId("run-input").getByTestId("field-count").fill("0");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  expect(await values(page)).toEqual({ count: 1, log: ["a"] });
  await expect(page.getByTestId("status-b")).toHaveAttribute("data-status", "paused");
  await page.getByTestId("run-step").click();
  await settled(page, "interrupted");
  expect(await values(page)).toEqual({ count: 11, log: ["a", "b"] });
  await page.getByTestId("tab-state").click();
  await expect(page.getByTestId("state-tree").getByTestId("state-value-count")).toHaveText("11");
  await expect(page.getByTestId("diff-writer-count")).toHaveText("b");
  await shot(page, "run-langgraph-dev-step");
  await page.getByTestId("run-continue").click();
  await settled(page, "success");
  expect(await values(page)).toEqual({ count: 21, log: ["a", "b", "c", "d"] });
  await page.getByTestId("tab-timeline").click();
  await expect(page.getByTestId("timeline-summary")).toContainText("1 branch");
});

test("langgraph dev: an Agent Inbox interrupt is shown, edited and approved; the run completes", async ({ page }) => {
  await connect(page);
  await showGraph(page, "approval");
  await page.getByTestId("tab-input").click();
  await page.getByTestId("input-json-toggle").click();
  await page.getByTestId("input-json").fill('{"request": "api"}');
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  const card = page.getByTestId("interrupt-review");
  await expect(card.getByTestId("interrupt-action")).toHaveText("deploy");
  await expect(card.getByTestId("interrupt-description")).toHaveText("Deploy api?");
  await expect(page.getByTestId("status-review")).toHaveAttribute("data-status", /interrupted|paused/);
  await card.getByTestId("answer-edit").check();
  await card.getByTestId("edit-form").getByTestId("field-replicas").fill("3");
  await shot(page, "run-langgraph-dev-interrupt");
  await card.getByTestId("resume").click();
  await settled(page, "success");
  const v = await values(page);
  expect(v.log).toEqual(["proposed:api", "edit:apix3"]);
  expect(v.decision).toEqual({ type: "edit", args: { action: "deploy", args: { target: "api", replicas: 3 } } });
});
