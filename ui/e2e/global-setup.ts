// Starts the real server for the e2e run and tears it down afterwards.
//
// The server is the `stategraph` CLI binary ($SERVER_BIN, else $CARGO_TARGET_DIR/debug/stategraph,
// else ../target/debug/stategraph). With `stategraph dev` the UI is the one embedded in the binary
// at /studio/. `E2E_UI=preview` (or a binary without `dev`) serves this checkout's ui/dist with
// `vite preview` instead, proxying the API to `stategraph serve`/`dev`, so UI changes can be
// tested without rebuilding the binary (E2E_UI_DIST=<dir> serves another build folder than dist/).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));

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

async function waitFor(url: string, ms: number, child: ChildProcess, log: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${log} exited with ${child.exitCode} before ${url} answered`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${ms} ms (${log})`);
}

export function serverBinary(): string {
  if (process.env.SERVER_BIN) return resolve(process.env.SERVER_BIN);
  const target = process.env.CARGO_TARGET_DIR ?? resolve(HERE, "../../target");
  return join(target, "debug", "stategraph");
}

export default async function globalSetup() {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`the stategraph binary is missing at ${bin}: run \`cargo build --locked -p stategraph-cli\` (or set SERVER_BIN)`);
  const hasDev = spawnSync(bin, ["dev", "--help"], { encoding: "utf8" }).status === 0;
  const specs = mkdtempSync(join(tmpdir(), "sg-e2e-specs-"));
  const data = mkdtempSync(join(tmpdir(), "sg-e2e-data-"));
  const apiPort = await freePort();
  const children: ChildProcess[] = [];
  const env = { ...process.env, STATEGRAPH_DATA_DIR: data, STATEGRAPH_API_KEY: "" };
  const args = hasDev
    ? ["dev", "--no-browser", "--port", String(apiPort), "--specs", specs, "--db", "memory"]
    : ["serve", "--port", String(apiPort), "--specs", specs, "--db", join(data, "sg.db")];
  // stdout is not inherited: a leftover child must never hold the runner's output open.
  const server = spawn(bin, args, { env, stdio: ["ignore", "ignore", "inherit"] });
  children.push(server);
  const stopAll = () => {
    for (const c of children.reverse()) if (c.exitCode === null) c.kill("SIGTERM");
  };
  process.once("exit", stopAll);
  const api = `http://127.0.0.1:${apiPort}`;
  let baseURL = `${api}/studio/`;
  const usePreview = process.env.E2E_UI === "preview" || !hasDev;
  try {
  await waitFor(`${api}/ok`, 30_000, server, `${bin} ${args.join(" ")}`);
  if (usePreview) {
    const uiPort = await freePort();
    const vite = spawn(resolve(HERE, "../node_modules/.bin/vite"), ["preview", "--port", String(uiPort), "--strictPort", ...(process.env.E2E_UI_DIST ? ["--outDir", process.env.E2E_UI_DIST] : [])], {
      cwd: resolve(HERE, ".."),
      env: { ...process.env, STATEGRAPH_API: api },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(vite);
    baseURL = `http://127.0.0.1:${uiPort}/`;
    await waitFor(baseURL, 30_000, vite, "vite preview");
  }
  } catch (e) {
    stopAll();
    throw e;
  }
  process.env.E2E_BASE_URL = baseURL;
  process.env.E2E_API_URL = api;
  process.env.E2E_SPECS_DIR = specs;
  console.log(`e2e: ${hasDev ? "stategraph dev" : "stategraph serve"} on ${api}, UI at ${baseURL}, specs in ${specs}`);
  return async () => stopAll();
}
