import { describe, expect, it } from "vitest";
import { ApiError, CONNECTION_KEY, resolveConnection, StudioApi } from "./api";

function mapStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

describe("connection", () => {
  it("prefers the saved connection, then the injected one, then the origin", () => {
    const saved = mapStorage({ [CONNECTION_KEY]: JSON.stringify({ apiUrl: "http://x:1/", token: "t" }) });
    expect(resolveConnection({ apiUrl: "http://inj:2", token: "k" }, "http://o", saved)).toEqual({ apiUrl: "http://x:1", token: "t" });
    expect(resolveConnection({ apiUrl: "http://inj:2", token: "k" }, "http://o", mapStorage())).toEqual({ apiUrl: "http://inj:2", token: "k" });
    expect(resolveConnection(undefined, "http://o/", mapStorage({ [CONNECTION_KEY]: "{broken" }))).toEqual({ apiUrl: "http://o", token: null });
  });
});

describe("StudioApi", () => {
  it("sends the token and JSON body, returns parsed JSON", async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    const api = new StudioApi({ apiUrl: "http://s", token: "tok" }, async (url, init) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ ok: false, problems: [{ code: "SP013", pointer: "", message: "m" }] }), { status: 200 });
    });
    const r = await api.validate({ version: 1, name: "x" });
    expect(r.problems[0]?.code).toBe("SP013");
    expect(calls[0]?.url).toBe("http://s/stategraph/specs/validate");
    expect((calls[0]?.init?.headers as Record<string, string>)["x-api-key"]).toBe("tok");
    expect(JSON.parse(String(calls[0]?.init?.body))).toEqual({ spec: { version: 1, name: "x" } });
  });

  it("turns HTTP errors into ApiError with detail and problems", async () => {
    const api = new StudioApi({ apiUrl: "http://s", token: null }, async () =>
      new Response(JSON.stringify({ detail: "invalid spec", problems: [{ code: "SP010", pointer: "/nodes/1", message: "dup" }] }), { status: 422 }),
    );
    const err = await api.putSpec("a b", { version: 1, name: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).message).toContain("invalid spec");
    expect((err as ApiError).problems[0]?.code).toBe("SP010");
    expect((err as ApiError).unavailable).toBe(false);
  });

  it("reports missing routes and unreachable servers as unavailable", async () => {
    const missing = new StudioApi({ apiUrl: "http://s", token: null }, async () => new Response("Not Found", { status: 404 }));
    const e1 = (await missing.nodeKinds().catch((e: unknown) => e)) as ApiError;
    expect(e1.unavailable).toBe(true);
    const down = new StudioApi({ apiUrl: "http://s", token: null }, async () => {
      throw new TypeError("Failed to fetch");
    });
    const e2 = (await down.ok().catch((e: unknown) => e)) as ApiError;
    expect(e2.status).toBe(0);
    expect(e2.message).toContain("cannot reach http://s");
  });
});
