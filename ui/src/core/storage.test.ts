import { describe, expect, it } from "vitest";
import { addRecent, clearAutosave, readAutosave, readRecent, RECENT_LIMIT, writeAutosave } from "./storage";
import { emptySpec } from "./model";

function mapStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

describe("storage", () => {
  it("keeps recent files newest first, without duplicates, bounded", () => {
    const s = mapStorage();
    addRecent(s, { source: { kind: "server", name: "a" }, title: "a", openedAt: 1 });
    addRecent(s, { source: { kind: "file", name: "b.json" }, title: "b", openedAt: 2 });
    addRecent(s, { source: { kind: "server", name: "a" }, title: "a", openedAt: 3 });
    expect(readRecent(s).map((e) => e.openedAt)).toEqual([3, 2]);
    for (let i = 0; i < 20; i++) addRecent(s, { source: { kind: "server", name: `n${i}` }, title: "", openedAt: i });
    expect(readRecent(s)).toHaveLength(RECENT_LIMIT);
  });

  it("writes, reads and clears the autosave slot", () => {
    const s = mapStorage();
    expect(readAutosave(s)).toBeNull();
    writeAutosave(s, { spec: emptySpec("x"), source: { kind: "new" }, savedAt: 5 });
    expect(readAutosave(s)?.spec.name).toBe("x");
    clearAutosave(s);
    expect(readAutosave(s)).toBeNull();
    s.setItem("stategraph.autosave", "not json");
    expect(readAutosave(s)).toBeNull();
  });
});
