// Studio II e2e against the real server: approve an Agent Inbox interrupt, step a 4-step graph
// through breakpoints, a conditional breakpoint, an edge breakpoint, run-to-here, fork from step 2
// and see the new branch and the writer, step into a subgraph. Screenshots: run-*.png.
import { test, expect, type Page } from "@playwright/test";
import { shot, node } from "./helpers";
import { openRun, settled, startRunServer, values, type RunServer } from "./run-helpers";

let srv: RunServer;
test.beforeAll(async () => {
  srv = await startRunServer();
});
test.afterAll(() => srv?.stop());

async function stateValue(page: Page, key: string) {
  await page.getByTestId("tab-state").click();
  return page.getByTestId("state-tree").getByTestId(`state-value-${key}`);
}

test("approval: the run pauses at the human node, the interrupt is edited and approved, the run completes", async ({ page }) => {
  await openRun(page, srv.url, "approval_workflow");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  await expect(page.getByTestId(`status-review`)).toHaveAttribute("data-status", /interrupted|paused/);
  await expect(page.getByTestId(`status-draft`)).toHaveAttribute("data-status", "done");
  const card = page.getByTestId("interrupt-review");
  await expect(card.getByTestId("interrupt-action")).toHaveText("approve_refund");
  await expect(card.getByTestId("interrupt-description")).toContainText("Refund of 12.5 EUR for Ada");
  await expect(page).toHaveTitle(/Paused/);
  await expect(page.getByTestId("toasts")).toContainText("Run paused");
  await shot(page, "run-approval-paused");

  await card.getByTestId("answer-edit").check();
  await card.getByTestId("edit-form").getByTestId("field-amount").fill("10");
  await card.getByTestId("resume").click();
  await settled(page, "success");
  const v = await values(page);
  expect(v.refund).toEqual({ amount: 10 });
  expect(v.log).toEqual(["paid"]);
  expect(v.review).toMatchObject({ type: "edit" });
  await expect(page.getByTestId("status-pay_out")).toHaveAttribute("data-status", "done");
  await expect(page).not.toHaveTitle(/Paused/);
  await shot(page, "run-approval-done");
});

test("approval: an answer that breaks the schema is asked again with the error; a reply goes to the reply node", async ({ page }) => {
  await openRun(page, srv.url, "approval_workflow");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  const card = page.getByTestId("interrupt-review");
  await card.getByTestId("answer-json").check();
  await card.getByTestId("resume-json").fill('{"type": "edit", "args": {"action": "approve_refund", "args": {"amount": "lots"}}}');
  await card.getByTestId("resume").click();
  await settled(page, "interrupted");
  await expect(page.getByTestId("interrupt-review").getByTestId("interrupt-error")).toBeVisible();
  const again = page.getByTestId("interrupt-review");
  await again.getByTestId("answer-response").check();
  await again.getByTestId("respond-text").fill("We will call you");
  await again.getByTestId("resume").click();
  await settled(page, "success");
  expect((await values(page)).message).toBe("Reply to Ada: We will call you");
});

test("step through a 4-step graph from a breakpoint, checking the state and the writer at each step", async ({ page }) => {
  await openRun(page, srv.url, "four_steps");
  await page.getByTestId("bp-b").click();
  await expect(page.getByTestId("bp-b")).toHaveAttribute("data-bp", "before");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  await expect(page.getByTestId("run-status")).toContainText("before b");
  await expect(await stateValue(page, "count")).toHaveText("1");
  await expect(page.getByTestId("status-b")).toHaveAttribute("data-status", "paused");
  await shot(page, "run-step-breakpoint");

  const expected = [
    { count: 11, log: ["a", "b"], writer: "b", next: "c" },
    { count: 22, log: ["a", "b", "c"], writer: "c", next: "d" },
  ];
  for (const e of expected) {
    await page.getByTestId("run-step").click();
    await settled(page, "interrupted");
    await expect(await stateValue(page, "count")).toHaveText(String(e.count));
    expect((await values(page)).log).toEqual(e.log);
    await expect(page.getByTestId("run-status")).toContainText(`before ${e.next}`);
    await expect(page.getByTestId("diff-writer-count")).toHaveText(e.writer);
    await expect(page.getByTestId("diff-reducer-log")).toHaveText("add");
    await expect(page.getByTestId("diff-reducer-count")).toHaveText(/^last[ _]value$/);
  }
  await shot(page, "run-step-diff");
  // Search highlights the matching key; copy puts the state on the clipboard as JSON.
  await page.getByTestId("state-search").fill("log");
  await expect(page.getByTestId("state-tree").locator(".jt-hit")).toContainText("log");
  await page.getByTestId("state-copy").click();
  expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toEqual({ count: 22, log: ["a", "b", "c"] });
  await page.getByTestId("run-step").click();
  await settled(page, "success");
  expect(await values(page)).toEqual({ count: 21, log: ["a", "b", "c", "d"] });
  await expect(page.getByTestId("diff-writer-count")).toHaveText("d");
});

test("a conditional breakpoint stops exactly when its expression first holds", async ({ page }) => {
  await openRun(page, srv.url, "counter");
  await page.getByTestId("bp-inc").click();
  await page.getByTestId("tab-breakpoints").click();
  const when = page.getByTestId("bp-row-inc").getByTestId("bp-when");
  await when.fill("state.count > 3");
  await when.press("Enter");
  await expect(page.getByTestId("bp-inc")).toHaveText("◆");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  expect(await values(page)).toEqual({ count: 4, limit: 10 });
  expect(await page.evaluate(() => window.__stategraphRun!.next())).toEqual(["inc"]);
  await shot(page, "run-conditional");
  await page.getByTestId("run-continue").click();
  await settled(page, "interrupted");
  expect((await values(page)).count).toBe(5);
  // A condition that does not compile is refused and the error names the breakpoint.
  await page.getByTestId("tab-breakpoints").click();
  await when.fill("state.count >");
  await when.press("Enter");
  await page.getByTestId("run-continue").click();
  await settled(page, "error");
  await expect(page.getByTestId("run-error")).toContainText("breakpoints[0]");
  await expect(page.getByTestId("run-error")).toContainText("inc");
  await page.getByTestId("tab-breakpoints").click();
  await page.getByTestId("bp-row-inc").getByRole("button", { name: "×" }).click();
  await page.getByTestId("run-continue").click();
  await settled(page, "success");
  expect((await values(page)).count).toBe(10);
});

test("an edge breakpoint and run-to-here", async ({ page }) => {
  await openRun(page, srv.url, "four_steps");
  await page.getByTestId("tab-breakpoints").click();
  await page.getByTestId("bp-edge-pick").selectOption({ label: "b → c" });
  await page.getByTestId("bp-edge-add").click();
  await expect(page.getByTestId("bp-row-b-c")).toBeVisible();
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  expect((await values(page)).count).toBe(11);
  await expect(page.getByTestId("run-status")).toContainText("before c");
  await page.getByTestId("tab-breakpoints").click();
  await page.getByTestId("bp-row-b-c").getByRole("button", { name: "×" }).click();
  // Run to here: select d, run to it from the paused thread.
  await node(page, "d").click();
  await page.getByTestId("run-to-here").click();
  await settled(page, "interrupted");
  expect((await values(page)).count).toBe(22);
  await expect(page.getByTestId("run-status")).toContainText("before d");
  await page.getByTestId("run-continue").click();
  await settled(page, "success");
  expect((await values(page)).count).toBe(21);
});

test("fork from step 2 with an edited value: a new branch in the tree, the diff names the writer, branches compared", async ({ page }) => {
  await openRun(page, srv.url, "four_steps");
  await page.getByTestId("run-start").click();
  await settled(page, "success");
  await page.getByTestId("tab-timeline").click();
  await expect(page.getByTestId("timeline-summary")).toContainText("1 branch");
  await page.locator('[data-testid="cp-label"][data-step="2"][data-lane="0"]').click();
  await page.getByTestId("tab-state").click();
  await expect(page.getByTestId("state-where")).toContainText("step 2");
  await expect(await stateValue(page, "count")).toHaveText("11");
  // The canvas shows that checkpoint: b wrote it, c is next.
  await expect(page.getByTestId("status-b")).toHaveAttribute("data-status", "done");
  await expect(page.getByTestId("status-c")).toHaveAttribute("data-status", "queued");
  await page.getByTestId("tab-timeline").click();
  await page.getByTestId("fork-as-node").selectOption("b");
  await page.getByTestId("fork-values").fill('{"count": 100}');
  await page.getByTestId("fork-go").click();
  await expect(page.getByTestId("timeline-summary")).toContainText("2 branches");
  await page.getByTestId("tab-state").click();
  await expect(await stateValue(page, "count")).toHaveText("100");
  await expect(page.getByTestId("diff-writer-count")).toHaveText("b");
  await expect(page.getByTestId("diff-count")).toContainText("11");
  await page.getByTestId("tab-timeline").click();
  await page.getByTestId("cp-rerun").click();
  await settled(page, "success");
  expect(await values(page)).toEqual({ count: 199, log: ["a", "b", "c", "d"] });
  await page.getByTestId("tab-timeline").click();
  await expect(page.getByTestId("timeline-summary")).toContainText("2 branches");
  // Compare the fork's end with the first branch's end.
  const ends = page.locator('[data-testid="cp-label"][data-step="4"]');
  await expect(ends).toHaveCount(2);
  await ends.first().click();
  await page.getByTestId("compare-with").selectOption({ index: 1 });
  await page.getByTestId("compare-go").click();
  await expect(page.getByTestId("compare-diff")).toContainText("count");
  await expect(page.getByTestId("compare-a")).toBeVisible();
  await shot(page, "run-fork-tree");
});

test("step into a subgraph: its namespace, next node and state", async ({ page }) => {
  await openRun(page, srv.url, "nested");
  await node(page, "child").click();
  await page.getByTestId("run-step-into").click();
  await settled(page, "interrupted");
  const view = page.getByTestId("subgraph-view");
  await expect(view).toBeVisible();
  await expect(view.getByTestId("subgraph-ns")).toContainText("child");
  await expect(view.getByTestId("subgraph-next")).toContainText("s2");
  // The subgraph's own nodes (from the xray drawing): s1 ran, s2 is where it paused.
  await expect(view.getByTestId("subnode-s1")).toHaveAttribute("data-status", "done");
  await expect(view.getByTestId("subnode-s2")).toHaveAttribute("data-status", "paused");
  await expect(view.getByTestId("subgraph-state").getByTestId("state-value-value")).toHaveText("20");
  await expect(page.getByTestId("run-step-out")).toBeVisible();
  await page.getByTestId("tab-events").click();
  await expect(page.getByTestId("event-log").locator(".log-ns").first()).toContainText("child");
  await shot(page, "run-subgraph");
  await page.getByTestId("run-step-out").click();
  await page.getByTestId("run-continue").click();
  await settled(page, "success");
  expect(await values(page)).toEqual({ value: 25, trail: "p12!" });
});

test("threads: a run's thread is copied (same state) and deleted", async ({ page }) => {
  await openRun(page, srv.url, "four_steps");
  await page.getByTestId("run-start").click();
  await settled(page, "success");
  const first = await page.evaluate(() => window.__stategraphRun!.threadId());
  const options = page.getByTestId("thread-select").locator("option");
  await expect(options.locator(`xpath=self::*[@value="${first}"]`)).toHaveCount(1);
  const before = await options.count();
  await page.getByTestId("thread-copy").click();
  await expect.poll(() => page.evaluate(() => window.__stategraphRun!.threadId())).not.toBe(first);
  const copy = await page.evaluate(() => window.__stategraphRun!.threadId());
  await expect.poll(async () => (await values(page))?.count).toBe(21);
  await expect(options).toHaveCount(before + 1);
  page.once("dialog", (d) => void d.accept());
  await page.getByTestId("thread-delete").click();
  await expect(options).toHaveCount(before);
  await expect(page.getByTestId("thread-select").locator(`option[value="${copy}"]`)).toHaveCount(0);
  await page.getByTestId("thread-select").selectOption(first!);
  await expect.poll(async () => (await values(page))?.count).toBe(21);
});

test("two parallel interrupts answered together, resumed by id in one run", async ({ page }) => {
  await openRun(page, srv.url, "two_approvals");
  await page.getByTestId("run-start").click();
  await settled(page, "interrupted");
  await expect(page.getByTestId("interrupt-count")).toHaveText("2 pending");
  const legal = page.getByTestId("interrupt-legal_ok");
  const finance = page.getByTestId("interrupt-finance_ok");
  await expect(legal.getByTestId("interrupt-action")).toHaveText("legal_review");
  await finance.getByTestId("answer-ignore").check();
  await legal.locator('input[type="checkbox"]').check();
  await finance.locator('input[type="checkbox"]').check();
  await shot(page, "run-two-interrupts");
  await page.getByTestId("resume-picked").click();
  await settled(page, "success");
  const v = await values(page);
  expect(v.legal).toMatchObject({ type: "accept" });
  expect(v.finance).toMatchObject({ type: "ignore" });
  expect(v.log).toEqual(["asked", "done"]);
});
