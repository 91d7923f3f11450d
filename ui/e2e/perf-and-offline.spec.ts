// A 500-node / 800-edge spec opens and lays out quickly; the editor keeps working against a
// server without the studio API (like a Python `langgraph dev`).
import { test, expect } from "@playwright/test";
import { createServer, type Server } from "node:http";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSpec } from "../src/core/generate";
import { dropKind, shot, spec } from "./helpers";

const BASE = () => process.env.E2E_BASE_URL as string;
/** The budget for opening + laying out + drawing the big spec (the issue asks for under 1 s). */
const BUDGET_MS = Number(process.env.E2E_PERF_BUDGET_MS ?? 1000);

test("a 500-node / 800-edge spec opens and lays out in time", async ({ page }) => {
  const big = generateSpec(500, 800);
  const dir = mkdtempSync(join(tmpdir(), "sg-e2e-big-"));
  const file = join(dir, "big_500.json");
  writeFileSync(file, JSON.stringify(big));
  await page.goto(BASE());
  await expect(page.getByTestId("cmd-connect")).toContainText("Connected");
  const results: Record<string, number>[] = [];
  // Twice: the first run includes loading ELK's code; the second is the steady state.
  for (let round = 0; round < 2; round++) {
    await page.evaluate(() => performance.clearMeasures());
    await page.getByTestId("open-file-input").setInputFiles(file);
    await expect.poll(() => page.evaluate(() => window.__stategraphStudio!.measures()["sg-file-open"] ?? null), { timeout: 60_000 }).not.toBeNull();
    const m = await page.evaluate(() => window.__stategraphStudio!.measures());
    results.push(m);
    console.log(
      `perf round ${round + 1}: 500 nodes / 800 edges — open+layout+draw ${m["sg-file-open"]} ms (layout ${m["sg-layout"]} ms, from parsed spec to drawn ${m["sg-open"]} ms)`,
    );
  }
  const s = await spec(page);
  expect(s.nodes).toHaveLength(500);
  expect(s.edges).toHaveLength(800);
  expect(s.nodes?.every((n) => n.position)).toBe(true);
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
  await shot(page, "08-500-nodes");
  const steady = results[1]!["sg-file-open"]!;
  expect(steady, `open + layout of 500 nodes took ${steady} ms (budget ${BUDGET_MS} ms)`).toBeLessThan(BUDGET_MS);
});

test("against a server without the studio API the editor still works", async ({ page }) => {
  // A stand-in for `langgraph dev`: it answers the LangGraph routes, not /stategraph/*.
  const server: Server = createServer((req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-headers", "*");
    if (req.method === "OPTIONS") return void res.writeHead(204).end();
    if (req.url === "/ok") return void res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    if (req.url === "/info") return void res.writeHead(200, { "content-type": "application/json" }).end("{}");
    if (req.url === "/assistants/search" && req.method === "POST") {
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify([{ assistant_id: "a1", graph_id: "agent" }]));
    }
    if (req.url?.startsWith("/assistants/a1/graph")) {
      const graph = {
        nodes: [{ id: "__start__" }, { id: "model" }, { id: "tools" }, { id: "__end__" }],
        edges: [
          { source: "__start__", target: "model" },
          { source: "model", target: "tools", conditional: true },
          { source: "model", target: "__end__", conditional: true },
          { source: "tools", target: "model" },
        ],
      };
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(graph));
    }
    res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"Not Found"}');
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  try {
    await page.goto(BASE());
    await page.evaluate((url) => localStorage.setItem("stategraph.connection", JSON.stringify({ apiUrl: url, token: null })), `http://127.0.0.1:${port}`);
    await page.reload();
    await expect(page.getByTestId("cmd-connect")).toContainText("no studio API");
    await dropKind(page, "script", 300, 200);
    await expect(page.getByTestId("validation-status")).toHaveText("Server validation unavailable");
    expect((await spec(page)).nodes?.map((n) => n.kind)).toEqual(["script"]);
    // Without the kinds' schemas the config is edited as JSON.
    await expect(page.getByTestId("config-json")).toBeVisible();
    await shot(page, "09-no-studio-api");
    await page.keyboard.press("ControlOrMeta+Z");
    expect((await spec(page)).nodes ?? []).toHaveLength(0);

    // The server's code-defined graph opens read-only (converted in the browser: no import endpoint).
    await page.getByTestId("menu-file").click();
    await page.getByTestId("cmd-open-server").click();
    await page.getByTestId("open-server-dialog").getByText("agent", { exact: true }).click();
    await expect(page.getByTestId("node-model")).toBeVisible();
    await expect(page.getByTestId("node-tools")).toBeVisible();
    await expect(page.getByTestId("doc-title")).toContainText("read-only");
    await dropKind(page, "passthrough", 500, 500);
    expect((await spec(page)).nodes?.map((n) => n.id).sort()).toEqual(["model", "tools"]);
  } finally {
    await page.evaluate(() => localStorage.removeItem("stategraph.connection"));
    server.close();
  }
});
