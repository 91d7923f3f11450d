import { expect, type Locator, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SHOTS = resolve(fileURLToPath(new URL(".", import.meta.url)), "../test-results/screenshots");
mkdirSync(SHOTS, { recursive: true });

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`) });
}

/** The current spec, read through the page's test hook. */
export async function spec(page: Page): Promise<{
  name: string;
  nodes?: { id: string; kind: string; config?: Record<string, unknown>; position?: { x: number; y: number } }[];
  edges?: Record<string, unknown>[];
  state?: Record<string, unknown>;
}> {
  return page.evaluate(() => window.__stategraphStudio!.spec() as never);
}

export function node(page: Page, id: string): Locator {
  return page.getByTestId(`node-${id}`);
}

async function center(l: Locator) {
  const b = await l.boundingBox();
  if (!b) throw new Error("element has no box");
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drags a palette kind onto the canvas at (x, y) relative to the canvas. */
export async function dropKind(page: Page, kind: string, x: number, y: number) {
  await page.getByTestId(`palette-${kind}`).dragTo(page.getByTestId("canvas"), { targetPosition: { x, y } });
}

/** Drags from a node's handle (`out` or `branch`) to another node's input handle. */
export async function connect(page: Page, from: string, to: string, handle: "out" | "branch" = "out") {
  const a = await center(node(page, from).locator(`.handle-${handle}`));
  const b = await center(node(page, to).locator(".handle-in"));
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
}

/** Replaces the text of a CodeMirror editor inside `container`. */
export async function setCode(page: Page, container: Locator, text: string) {
  await container.locator(".cm-content").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

/** Selects a node by clicking it. */
export async function selectNode(page: Page, id: string) {
  await node(page, id).click();
  await expect(page.getByTestId("node-inspector")).toBeVisible();
}

export async function renameSelected(page: Page, to: string) {
  const input = page.getByTestId("node-id-input");
  await input.fill(to);
  await input.press("Enter");
  await expect(node(page, to)).toBeVisible();
}

/** Clears the selection: a click on an empty corner of the canvas, then Escape. */
export async function deselect(page: Page) {
  await page.locator(".react-flow__pane").click({ position: { x: 4, y: 4 } });
  await page.keyboard.press("Escape");
}
