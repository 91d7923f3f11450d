// Helpers of the run/debug e2e (run-*.spec.ts): a server of our own per test file, started on a
// copy of e2e/run-specs (the shared server's specs dir has no hot reload, so these graphs could not
// be added to it), and a page whose Connect setting points at that server.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import { expect, type Page } from "@playwright/test";
import { serverBinary } from "./global-setup";

const HERE = dirname(fileURLToPath(import.meta.url));

export interface RunServer {
  url: string;
  specs: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** Starts `stategraph serve` on a copy of the run specs; waits for `/ok`. */
export async function startRunServer(): Promise<RunServer> {
  const specs = mkdtempSync(join(tmpdir(), "sg-run-specs-"));
  cpSync(resolve(HERE, "run-specs"), specs, { recursive: true });
  const port = await freePort();
  const bin = serverBinary();
  const args = ["serve", "--port", String(port), "--specs", specs, "--db", "memory"];
  const child: ChildProcess = spawn(bin, args, { env: { ...process.env, STATEGRAPH_API_KEY: "" }, stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} ${args.join(" ")} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/ok`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url}/ok did not answer in 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, specs, stop: () => child.kill("SIGTERM") };
}

let previewUrl: Promise<string> | null = null;

/**
 * Where the studio page is: the shared server's `/studio/` (the UI built into the binary), or with
 * `E2E_RUN_UI=preview` this checkout's ui/dist served by `vite preview` (no binary rebuild needed
 * after a UI change). The page talks to our own server through its Connect setting either way.
 */
export function studioUrl(): Promise<string> {
  if (process.env.E2E_RUN_UI !== "preview") return Promise.resolve(process.env.E2E_BASE_URL as string);
  previewUrl ??= (async () => {
    const port = await freePort();
    const child = spawn(resolve(process.cwd(), "node_modules/.bin/vite"), ["preview", "--port", String(port), "--strictPort"], {
      cwd: process.cwd(),
      stdio: ["ignore", "ignore", "inherit"],
    });
    process.once("exit", () => child.kill("SIGTERM"));
    const url = `http://127.0.0.1:${port}/`;
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(url)).ok) return url;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error(`vite preview did not answer at ${url}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return previewUrl;
}

/** Opens the studio connected to `apiUrl` with spec `name` on the canvas, in Run mode. */
export async function openRun(page: Page, apiUrl: string, spec: string | null) {
  await page.addInitScript((u) => {
    localStorage.setItem("stategraph.connection", JSON.stringify({ apiUrl: u, token: null }));
    localStorage.removeItem("stategraph.breakpoints");
    localStorage.removeItem("stategraph.autosave");
  }, apiUrl);
  const base = await studioUrl();
  const url = spec ? `${base}#spec=${spec}` : base;
  // `vite preview` has been seen to answer one navigation with an error status under load: retry once.
  await page.goto(url).catch(async () => {
    await page.waitForTimeout(500);
    await page.goto(url);
  });
  if (spec) await expect(page.getByTestId("doc-title")).toContainText(spec);
  await page.getByTestId("mode-run").click();
  await expect(page.getByTestId("run-panel")).toBeVisible();
}

/** Waits until the run is no longer running and returns its outcome. */
export async function settled(page: Page, outcome: string, timeout = 30_000) {
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-outcome", outcome, { timeout });
}

/** The thread's state values, read through the page's hook. */
export async function values(page: Page): Promise<Record<string, unknown>> {
  return (await page.evaluate(() => window.__stategraphRun!.values())) as Record<string, unknown>;
}
