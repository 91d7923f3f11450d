// A 1,000-step run streams into the studio without freezing it: the event log is virtualised and
// view updates are batched per frame. Measured with a long-task observer and a frame-gap probe;
// the numbers are printed (and attached) for the report.
import { test, expect } from "@playwright/test";
import { shot } from "./helpers";
import { openRun, settled, startRunServer, values, type RunServer } from "./run-helpers";

let srv: RunServer;
test.beforeAll(async () => {
  srv = await startRunServer();
});
test.afterAll(() => srv?.stop());

test("a 1,000-step run streams without freezing the UI", async ({ page }, info) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[]; __gaps: number[]; __probe: boolean };
    w.__longTasks = [];
    w.__gaps = [];
    w.__probe = false;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
    let last = performance.now();
    const tick = (t: number) => {
      if (w.__probe) w.__gaps.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await openRun(page, srv.url, "counter");
  await page.getByTestId("run-input").getByTestId("field-limit").fill("1000");
  await page.getByTestId("run-recursion").fill("5000");
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[]; __probe: boolean };
    w.__longTasks.length = 0;
    w.__probe = true;
  });
  await page.getByTestId("run-start").click();
  await page.getByTestId("tab-events").click();
  await settled(page, "success", 120_000);
  const m = await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[]; __gaps: number[]; __probe: boolean };
    w.__probe = false;
    const gaps = [...w.__gaps].sort((a, b) => a - b);
    return {
      runMs: window.__stategraphRun!.lastRunMs(),
      events: window.__stategraphRun!.events(),
      longTasks: w.__longTasks.length,
      longTaskMaxMs: Math.round(Math.max(0, ...w.__longTasks)),
      longTaskTotalMs: Math.round(w.__longTasks.reduce((a, b) => a + b, 0)),
      frames: gaps.length,
      frameGapP50: Math.round(gaps[Math.floor(gaps.length / 2)] ?? 0),
      frameGapP95: Math.round(gaps[Math.floor(gaps.length * 0.95)] ?? 0),
      frameGapMax: Math.round(gaps[gaps.length - 1] ?? 0),
    };
  });
  const rows = await page.getByTestId("log-row").count();
  console.log(`run-perf: 1000 steps: ${JSON.stringify({ ...m, renderedLogRows: rows })}`);
  await info.attach("run-perf.json", { body: JSON.stringify({ ...m, renderedLogRows: rows }, null, 2), contentType: "application/json" });
  expect((await values(page)).count).toBe(1000);
  // Every step streamed: per step at least a checkpoint, a task, a task result and an update.
  expect(m.events).toBeGreaterThan(4000);
  await expect(page.getByTestId("event-count")).toContainText(`/ ${m.events}`);
  // Virtualised: only the rows in view (plus overscan) are in the DOM.
  expect(rows).toBeLessThan(60);
  // Not frozen: frames kept coming, and no single task blocked the page for a second.
  expect(m.frames).toBeGreaterThan(10);
  expect(m.longTaskMaxMs).toBeLessThan(1000);
  // Filters per stream mode: hiding debug leaves the other modes' events.
  const debugCount = await page.evaluate(() => window.__stategraphRun!.events());
  await page.getByTestId("log-filter-debug").uncheck();
  const shownText = await page.getByTestId("event-count").textContent();
  const shown = Number(shownText?.split("/")[0]?.trim());
  expect(shown).toBeGreaterThan(1000);
  expect(shown).toBeLessThan(debugCount - 2000);
  await page.getByTestId("log-filter-debug").check();
  // The log still scrolls to the first event.
  await page.getByTestId("log-box").evaluate((el) => (el.scrollTop = 0));
  await expect(page.getByTestId("log-row").first()).toContainText("metadata");
  await shot(page, "run-1000-steps");
});

test("cancel stops a long run part way; the thread keeps the steps done", async ({ page }) => {
  await openRun(page, srv.url, "counter");
  await page.getByTestId("run-input").getByTestId("field-limit").fill("10000000");
  await page.getByTestId("run-recursion").fill("20000000");
  await page.getByTestId("run-start").click();
  await expect.poll(() => page.evaluate(() => window.__stategraphRun!.events()), { timeout: 30_000 }).toBeGreaterThan(500);
  await page.getByTestId("run-cancel").click();
  await settled(page, "cancelled", 30_000);
  const count = (await values(page)).count as number;
  expect(count).toBeGreaterThan(50);
  expect(count).toBeLessThan(10_000_000);
});
