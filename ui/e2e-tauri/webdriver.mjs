// Desktop e2e: drives the real Stategraph Studio window (Tauri + WebKitGTK) through tauri-driver
// and WebKitWebDriver, with a plain-fetch WebDriver client (no npm dependency).
//
//   node ui/e2e-tauri/webdriver.mjs <path to stategraph-studio binary> [spec file]
//
// Needs tauri-driver listening on 127.0.0.1:4444 (scripts/ci/desktop.sh starts it under Xvfb).
// The app is launched with the spec as its argument, so it opens it at start
// (window.__STATEGRAPH__.open, see /work/notes/studio-contract.md). The test then:
//   1. waits for the React Flow canvas and the spec's nodes on it (time to interactive),
//   2. checks every node id of the spec is drawn,
//   3. runs validation: the UI's validate button when there is one, and a fetch from inside the
//      page to the in-process server with the injected token (proves CSP, CORS and the token),
//   4. takes a screenshot of the window and of a node, saved under ui/test-results/desktop/,
//      and checks they are not blank (decodes the PNG, counts colours),
// and writes the measurements to ui/test-results/desktop/result.json.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = resolve(here, "..");
const outDir = resolve(uiDir, "test-results/desktop");
const DRIVER = process.env.TAURI_DRIVER_URL ?? "http://127.0.0.1:4444";
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
// Time to interactive: the target (issue: interactive within 2 s of launch) is reported; the
// run fails past the hard limit, which CI can tighten to the target on a quiet machine
// (STATEGRAPH_TTI_LIMIT_MS=2000). On a 2-core machine shared with parallel builds, launch alone
// can take several seconds, which says nothing about the app.
const TTI_TARGET_MS = Number(process.env.STATEGRAPH_TTI_TARGET_MS ?? 2000);
const TTI_LIMIT_MS = Number(process.env.STATEGRAPH_TTI_LIMIT_MS ?? 10000);

const app = process.argv[2];
const specPath = resolve(process.argv[3] ?? resolve(uiDir, "../examples/specs/support_triage.yaml"));
if (!app) {
  console.error("usage: node webdriver.mjs <stategraph-studio binary> [spec file]");
  process.exit(2);
}

let failures = 0;
const results = { app, spec: specPath, checks: [] };
function check(ok, what, detail = "") {
  results.checks.push({ ok: Boolean(ok), what, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failures += 1;
  return ok;
}

async function wd(method, path, body) {
  const res = await fetch(`${DRIVER}${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = json.value ?? json;
    throw new Error(`${method} ${path}: ${res.status} ${err.error ?? ""} ${err.message ?? JSON.stringify(err)}`);
  }
  return json.value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 20000, everyMs = 25) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
}

// ---- a small PNG decoder (8-bit RGB/RGBA, non-interlaced: what WebKit's screenshots are) ----
function decodePng(buf) {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((b, i) => buf[i] === b)) throw new Error("not a PNG");
  let pos = 8;
  let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const kind = buf.toString("ascii", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (kind === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      type = data[9];
      interlace = data[12];
    } else if (kind === "IDAT") idat.push(data);
    else if (kind === "IEND") break;
    pos += 12 + len;
  }
  const channels = { 2: 3, 6: 4 }[type];
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG (depth ${depth}, type ${type}, interlace ${interlace})`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 255;
    }
  }
  return { width, height, channels, px };
}

/// Distinct colours (quantised to 5 bits a channel) and the luminance standard deviation.
function pixelStats({ width, height, channels, px }) {
  const colours = new Set();
  let sum = 0, sumSq = 0, n = 0;
  for (let i = 0; i < width * height; i++) {
    const r = px[i * channels], g = px[i * channels + 1], b = px[i * channels + 2];
    colours.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3));
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += l;
    sumSq += l * l;
    n += 1;
  }
  const mean = sum / n;
  return { width, height, colours: colours.size, stddev: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The X server's screen (the app's window) as an 8-bit RGB PNG, through ImageMagick's `import`. */
function xScreenshot(name) {
  const file = resolve(outDir, name);
  execFileSync("import", ["-window", "root", "-depth", "8", `PNG24:${file}`], { env: process.env, timeout: 30000 });
  const buf = readFileSync(file);
  return { file, stats: pixelStats(decodePng(buf)) };
}

function saveShot(name, base64) {
  const buf = Buffer.from(base64, "base64");
  const file = resolve(outDir, name);
  writeFileSync(file, buf);
  return { file, stats: pixelStats(decodePng(buf)) };
}

// ---- the test ----
mkdirSync(outDir, { recursive: true });
const specText = readFileSync(specPath, "utf8");
let session;
try {
  const t0 = performance.now();
  const created = await wd("POST", "/session", {
    capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: resolve(app), args: [specPath] } } },
  });
  session = created.sessionId;
  const tSession = performance.now() - t0;
  const s = (p) => `/session/${session}${p}`;
  const find = (css) => wd("POST", s("/elements"), { using: "css selector", value: css });
  const exec = (script, args = []) => wd("POST", s("/execute/sync"), { script, args });
  const execAsync = (script, args = []) => wd("POST", s("/execute/async"), { script, args });

  // The injected launch object: the in-process server and the file to open.
  const launch = await exec("return window.__STATEGRAPH__ ? {apiUrl: window.__STATEGRAPH__.apiUrl, hasToken: !!window.__STATEGRAPH__.token, open: window.__STATEGRAPH__.open && window.__STATEGRAPH__.open.path} : null");
  check(launch && /^http:\/\/127\.0\.0\.1:\d+$/.test(launch.apiUrl), "window.__STATEGRAPH__ names the in-process server", JSON.stringify(launch));
  check(launch?.hasToken, "a launch token is injected");
  check(launch?.open === specPath, "the spec given on the command line is handed to the page", launch?.open);

  // What the canvas should show: the spec's nodes, as the server parses them (asked from inside
  // the page, so this also proves the page may reach the server: CSP connect-src, CORS, token).
  const parsed = await execAsync(
    `const done = arguments[arguments.length - 1];
     const g = window.__STATEGRAPH__;
     fetch(g.apiUrl + "/stategraph/specs/parse", {method: "POST", headers: {"content-type": "application/json", "x-api-key": g.token},
       body: JSON.stringify({content: arguments[0], format: null})})
       .then(r => r.json().then(b => done({status: r.status, ids: (b.spec && b.spec.nodes || []).map(n => n.id), problems: b.problems})))
       .catch(e => done({error: String(e)}));`,
    [specText],
  );
  check(parsed?.status === 200 && parsed.ids.length > 0, "the page reaches the in-process server with its token", JSON.stringify(parsed).slice(0, 200));
  const noToken = await execAsync(
    `const done = arguments[arguments.length - 1];
     fetch(window.__STATEGRAPH__.apiUrl + "/stategraph/info").then(r => done(r.status)).catch(e => done(String(e)));`,
  );
  check(noToken === 401, "the server refuses requests without the token", String(noToken));

  // Time to interactive: the canvas with every node of the spec drawn.
  const want = parsed?.ids ?? [];
  await waitFor("the React Flow canvas", async () => (await find(".react-flow")).length > 0);
  const drawn = await waitFor(
    `${want.length} spec nodes on the canvas`,
    async () => {
      const ids = await exec("return Array.from(document.querySelectorAll('.react-flow__node')).map(n => n.getAttribute('data-id'))");
      return want.every((id) => ids.includes(id)) ? ids : null;
    },
  );
  const tti = performance.now() - t0;
  // The page's own clock: milliseconds from its navigation start to now (nodes drawn).
  const page = await exec(`const nav = performance.getEntriesByType("navigation")[0] || {};
    return {now: performance.now(), width: window.innerWidth, height: window.innerHeight,
      dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd || 0), load_ms: Math.round(nav.loadEventEnd || 0),
      marks: performance.getEntriesByType("mark").map(m => [m.name, Math.round(m.startTime)])}`);
  check(true, "every spec node is drawn", `${want.length} spec nodes, ${drawn.length} .react-flow__node elements`);
  results.timings = {
    session_ms: Math.round(tSession),
    time_to_interactive_ms: Math.round(tti),
    page_navigation_to_nodes_ms: Math.round(page.now),
    page_dom_content_loaded_ms: page.dom_content_loaded_ms,
    page_load_ms: page.load_ms,
    page_marks: page.marks,
    target_ms: TTI_TARGET_MS,
  };
  results.viewport = { width: page.width, height: page.height };
  results.timings.limit_ms = TTI_LIMIT_MS;
  results.timings.within_target = tti < TTI_TARGET_MS;
  console.log(`${tti < TTI_TARGET_MS ? "ok  " : "WARN"} time to interactive ${Math.round(tti)} ms (target ${TTI_TARGET_MS} ms)`);
  check(tti < TTI_LIMIT_MS, `time to interactive under the limit of ${TTI_LIMIT_MS} ms`, `${Math.round(tti)} ms from launch`);

  // Validation through the UI when it has the button (contract: data-testid="validate").
  const validate = await find('[data-testid="validate"]');
  if (validate.length) {
    await wd("POST", s(`/element/${validate[0][ELEMENT]}/click`), {});
    const problems = await waitFor("the problems list", async () => {
      const el = await find('[data-testid="problems"]');
      return el.length ? el : null;
    }, 5000).catch(() => []);
    check(problems.length > 0, "validation from the UI shows the problems list");
  } else {
    check(true, "no validate button in this UI build: validated through the API only");
  }
  const validated = await execAsync(
    `const done = arguments[arguments.length - 1];
     const g = window.__STATEGRAPH__;
     fetch(g.apiUrl + "/stategraph/specs/parse", {method: "POST", headers: {"content-type": "application/json", "x-api-key": g.token}, body: JSON.stringify({content: arguments[0]})})
       .then(r => r.json())
       .then(p => fetch(g.apiUrl + "/stategraph/specs/validate", {method: "POST", headers: {"content-type": "application/json", "x-api-key": g.token}, body: JSON.stringify({spec: p.spec})}))
       .then(r => r.json()).then(done).catch(e => done({error: String(e)}));`,
    [specText],
  );
  check(validated?.ok === true, "the example spec validates in the desktop app's server", JSON.stringify(validated).slice(0, 200));

  // The native commands answer over IPC in the real window (CSP `ipc:`, capabilities), and refuse
  // what they must refuse.
  const ipc = await execAsync(
    `const done = arguments[arguments.length - 1];
     const invoke = window.__TAURI_INTERNALS__.invoke;
     const settle = (p) => p.then((v) => ({ok: v}), (e) => ({err: e}));
     Promise.all([
       settle(invoke("get_settings")),
       settle(invoke("read_file", {path: arguments[0]})),
       settle(invoke("read_file", {path: "/etc/passwd"})),
       settle(invoke("open_external", {url: "file:///etc/passwd"})),
       settle(invoke("plugin:window|set_title", {label: "main", value: "changed by the page"})),
     ]).then(done);`,
    [specPath],
  );
  check(typeof ipc?.[0]?.ok?.theme === "string", "get_settings answers over IPC", JSON.stringify(ipc?.[0]));
  check(ipc?.[1]?.ok === specText, "read_file reads the spec over IPC");
  check(ipc?.[2]?.err?.kind === "not_allowed", "read_file refuses a file that is not a spec", JSON.stringify(ipc?.[2]));
  check(ipc?.[3]?.err?.kind === "not_allowed", "open_external refuses a non-http link", JSON.stringify(ipc?.[3]));
  // The window has no capability: Tauri's own commands (here, the window API) are refused.
  check(ipc?.[4]?.err !== undefined, "Tauri's core commands are refused (no capability granted)", JSON.stringify(ipc?.[4]));

  // Screenshots: the window and one node; neither may be blank. WebKitWebDriver's screenshot has
  // hung or crashed the driver under Xvfb on a loaded machine; then the X server's own capture of
  // the screen (ImageMagick's `import`, the window sits at 0,0 without a window manager) stands in.
  let shot;
  try {
    shot = saveShot("studio.png", await withTimeout(wd("GET", s("/screenshot")), 15000, "WebDriver screenshot"));
  } catch (e) {
    console.log(`note: ${e.message}; capturing the X screen instead`);
    shot = xScreenshot("studio.png");
  }
  results.screenshot = shot;
  check(shot.stats.colours >= 16 && shot.stats.stddev > 5, "the window screenshot is not blank", `${shot.file}: ${JSON.stringify(shot.stats)}`);
  const nodes = await withTimeout(find(".react-flow__node"), 15000, "finding nodes").catch(() => []);
  if (nodes.length) {
    try {
      const nodeShot = saveShot("node.png", await withTimeout(wd("GET", s(`/element/${nodes[0][ELEMENT]}/screenshot`)), 15000, "element screenshot"));
      results.node_screenshot = nodeShot;
      check(nodeShot.stats.colours >= 2, "a node's screenshot shows something", `${nodeShot.file}: ${JSON.stringify(nodeShot.stats)}`);
    } catch (e) {
      console.log(`note: no element screenshot (${e.message}); the window capture above covers the canvas`);
    }
  }
} catch (e) {
  check(false, "desktop e2e ran to the end", e.message);
} finally {
  if (session) await withTimeout(wd("DELETE", `/session/${session}`), 15000, "closing the session").catch(() => {});
  results.failures = failures;
  writeFileSync(resolve(outDir, "result.json"), JSON.stringify(results, null, 2));
}
console.log(failures ? `desktop e2e: ${failures} failed` : "desktop e2e: all checks passed");
if (results.timings) {
  const t = results.timings;
  console.log(`time to interactive: ${t.time_to_interactive_ms} ms from launch (WebDriver session ready after ${t.session_ms} ms; page navigation to nodes drawn ${t.page_navigation_to_nodes_ms} ms)`);
}
process.exit(failures ? 1 : 0);
