// The studio against the real `stategraph` server: build a graph from an empty canvas, validate,
// lay out, undo/redo, save, reload, export. Screenshots go to test-results/screenshots/.
import { test, expect } from "@playwright/test";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { connect, deselect, dropKind, node, renameSelected, selectNode, setCode, shot, spec } from "./helpers";

const BASE = () => process.env.E2E_BASE_URL as string;

test("build a graph by drag and drop, validate, lay out, undo/redo, save, reload, export", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(BASE());
  await expect(page.getByTestId("cmd-connect")).toContainText("Connected");
  await expect(page.getByTestId("palette-script")).toBeVisible();
  expect((await spec(page)).nodes ?? []).toHaveLength(0);

  // Five nodes from the palette, each renamed in the inspector.
  const drops: [string, string, number, number][] = [
    ["passthrough", "prepare", 240, 320],
    ["script", "classify", 420, 200],
    ["passthrough", "billing", 600, 90],
    ["passthrough", "support", 600, 330],
    ["passthrough", "finish", 420, 470],
  ];
  for (const [kind, id, x, y] of drops) {
    await dropKind(page, kind, x, y);
    await renameSelected(page, id);
  }
  expect((await spec(page)).nodes?.map((n) => n.id)).toEqual(["prepare", "classify", "billing", "support", "finish"]);
  expect((await spec(page)).nodes?.[1]?.kind).toBe("script");

  // Edges: START → prepare → classify, a conditional edge with two branches, then to END.
  await connect(page, "__start__", "prepare");
  await connect(page, "prepare", "classify");
  await connect(page, "classify", "billing", "branch");
  await connect(page, "classify", "support", "branch");
  await connect(page, "billing", "finish");
  await connect(page, "support", "finish");
  await connect(page, "finish", "__end__");
  await shot(page, "01-connected");
  const edges = (await spec(page)).edges ?? [];
  expect(edges).toHaveLength(6);
  const cond = edges.find((e) => "branches" in e) as { source: string; branches: { label: string; target: string }[] };
  expect(cond.source).toBe("classify");
  expect(cond.branches).toEqual([
    { label: "billing", target: "billing" },
    { label: "support", target: "support" },
  ]);
  await expect(page.locator(".react-flow__edge")).toHaveCount(7);
  await shot(page, "01-built");

  // A state key for the route; the conditional edge reads it.
  await deselect(page);
  await expect(page.getByTestId("graph-inspector")).toBeVisible();
  await page.getByTestId("new-state-key").fill("route");
  await page.getByTestId("add-state-key").click();
  await expect(page.getByTestId("state-key-route")).toBeVisible();

  // Select the conditional edge on the canvas and route on the state key.
  await page.getByTestId("rf__edge-e2.b0").dispatchEvent("click");
  await expect(page.getByTestId("edge-inspector")).toBeVisible();
  await page.getByText("state key", { exact: true }).click();
  await page.getByTestId("condition-key").selectOption("route");
  expect(((await spec(page)).edges?.[2] as { condition: unknown }).condition).toEqual({ key: "route" });

  // Configure the script node: broken code shows a problem on the node, fixed code clears it.
  await selectNode(page, "classify");
  const code = page.getByTestId("field-code");
  await expect(code).toBeVisible();
  await setCode(page, code, 'let r = if state.route == "" { "billing" ;\n#{ route: r }');
  await expect(page.getByTestId("problem").filter({ hasText: "node classify" })).toHaveCount(1, { timeout: 10_000 });
  await expect(node(page, "classify")).toHaveClass(/invalid/);
  await expect(page.getByTestId("inline-problems")).toContainText("SP022");
  await shot(page, "02-validation-error");
  await setCode(page, code, 'let r = if state.route == "support" { "support" } else { "billing" };\n#{ route: r }');
  await expect(page.getByTestId("validation-status")).toHaveText("No problems", { timeout: 10_000 });
  await expect(node(page, "classify")).not.toHaveClass(/invalid/);
  expect((await spec(page)).nodes?.[1]?.config?.code).toContain("#{ route: r }");
  await shot(page, "03-valid");

  // Auto-layout, then undo and redo it.
  const before = (await spec(page)).nodes?.map((n) => n.position);
  await page.getByTestId("cmd-layout").click();
  await expect.poll(async () => JSON.stringify((await spec(page)).nodes?.map((n) => n.position))).not.toBe(JSON.stringify(before));
  const laidOut = (await spec(page)).nodes!;
  const x = (id: string) => laidOut.find((n) => n.id === id)!.position!.x;
  expect(x("prepare")).toBeLessThan(x("classify"));
  expect(x("classify")).toBeLessThan(x("billing"));
  expect(x("billing")).toBeLessThan(x("finish"));
  await page.waitForTimeout(400); // the zoom-to-fit animation
  await shot(page, "04-layout");
  await deselect(page);
  await page.keyboard.press("ControlOrMeta+Z");
  expect((await spec(page)).nodes?.map((n) => n.position)).toEqual(before);
  await page.keyboard.press("ControlOrMeta+Shift+Z");
  expect((await spec(page)).nodes?.map((n) => n.position)).toEqual(laidOut.map((n) => n.position));

  // Save into the server's spec directory.
  await page.getByTestId("graph-name").fill("e2e_router");
  await expect(page.getByTestId("dirty-marker")).toBeVisible();
  await page.keyboard.press("ControlOrMeta+S");
  await page.getByTestId("save-server-name").fill("e2e_router");
  await page.getByTestId("save-server-submit").click();
  await expect(page.getByTestId("dirty-marker")).toHaveCount(0);
  const file = join(process.env.E2E_SPECS_DIR as string, "e2e_router.json");
  await expect.poll(() => existsSync(file)).toBe(true);
  const onDisk = JSON.parse(readFileSync(file, "utf8"));
  expect(onDisk.nodes.map((n: { id: string }) => n.id)).toEqual(["prepare", "classify", "billing", "support", "finish"]);

  // Reload and open the same graph from the server.
  await page.reload();
  await expect(page.getByTestId("cmd-connect")).toContainText("Connected");
  await page.getByTestId("menu-file").click();
  await page.getByTestId("cmd-open-server").click();
  await page.getByTestId("open-spec-e2e_router").click();
  await expect(node(page, "classify")).toBeVisible();
  const reopened = await spec(page);
  expect(reopened.nodes?.map((n) => n.id)).toEqual(["prepare", "classify", "billing", "support", "finish"]);
  expect(reopened.nodes?.map((n) => n.position)).toEqual(laidOut.map((n) => n.position));
  expect(reopened.edges).toEqual((await spec(page)).edges);
  expect(reopened.edges?.find((e) => "branches" in e)).toMatchObject({ condition: { key: "route" } });
  await expect(page.getByTestId("doc-title")).toContainText("e2e_router");
  await expect(page.getByTestId("validation-status")).toHaveText("No problems");
  await shot(page, "05-reopened");

  // Exports.
  await page.getByTestId("menu-export").click();
  await page.getByTestId("export-mermaid").click();
  const mermaid = page.getByTestId("export-content");
  await expect(mermaid).toContainText("classify");
  const mm = (await mermaid.textContent()) ?? "";
  expect(mm).toMatch(/graph|flowchart/);
  expect(mm).toContain("billing");
  expect(mm).toContain("-->");
  await shot(page, "06-export-mermaid");
  await page.getByTestId("dialog-close").click();
  await page.getByTestId("menu-export").click();
  await page.getByTestId("export-python").click();
  const py = page.getByTestId("export-content");
  await expect(py).toContainText("StateGraph");
  const pyText = (await py.textContent()) ?? "";
  expect(pyText).toContain("add_conditional_edges");
  expect(pyText).toContain('"classify"');
  await shot(page, "07-export-python");
  await page.getByTestId("dialog-close").click();

  // PNG of the canvas.
  await page.getByTestId("menu-export").click();
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-png").click()]);
  expect(png.suggestedFilename()).toBe("e2e_router.png");
  const bytes = readFileSync((await png.path())!);
  expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  expect(bytes.length).toBeGreaterThan(5000);
  await page.getByTestId("menu-export").click();
  const [svg] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-svg").click()]);
  const svgText = readFileSync((await svg.path())!, "utf8");
  expect(svgText).toContain("<svg");
  expect(svgText).toContain("classify");

  // YAML through the server.
  await page.getByTestId("menu-export").click();
  await page.getByTestId("export-yaml").click();
  await expect(page.getByTestId("export-content")).toContainText("name: e2e_router");
  await page.getByTestId("dialog-close").click();

  // Copy and paste a node through the system clipboard; undo removes the copy.
  await node(page, "billing").click();
  await page.keyboard.press("ControlOrMeta+C");
  await page.keyboard.press("ControlOrMeta+V");
  await expect(node(page, "billing_2")).toBeVisible();
  expect((await spec(page)).nodes?.find((n) => n.id === "billing_2")?.kind).toBe("passthrough");
  await deselect(page);
  await page.keyboard.press("ControlOrMeta+Z");
  await expect(node(page, "billing_2")).toHaveCount(0);
  expect(errors).toEqual([]);
});
