import { describe, expect, it } from "vitest";
import { SseParser, readSse, splitEventName } from "./sse";

const wire =
  'event: metadata\r\ndata: {"run_id":"r1","attempt":1}\r\n\r\nevent: updates|inner:abc\r\ndata: {"step_a":{"value":2}}\r\n\r\n: heartbeat\r\n\r\nevent: values\r\ndata: {"a":\r\ndata: 1}\r\n\r\n';

describe("SseParser", () => {
  it("parses CRLF events with JSON data, comments and multi-line data", () => {
    const p = new SseParser();
    const ev = p.push(wire);
    expect(ev.map((e) => e.event)).toEqual(["metadata", "updates|inner:abc", "values"]);
    expect(ev[0]!.data).toEqual({ run_id: "r1", attempt: 1 });
    expect(ev[2]!.data).toEqual({ a: 1 });
  });

  it("gives the same events whatever the chunking", () => {
    for (const size of [1, 3, 7, 50]) {
      const p = new SseParser();
      const out = [];
      for (let i = 0; i < wire.length; i += size) out.push(...p.push(wire.slice(i, i + size)));
      out.push(...p.end());
      expect(out.map((e) => e.raw)).toEqual(['{"run_id":"r1","attempt":1}', '{"step_a":{"value":2}}', '{"a":\n1}']);
    }
  });

  it("keeps non-JSON data as text and flushes a last event without a blank line", () => {
    const p = new SseParser();
    expect(p.push("event: error\ndata: boom")).toEqual([]);
    expect(p.end()).toEqual([{ event: "error", data: "boom", raw: "boom" }]);
  });

  it("reads a byte stream split inside a multi-byte character", async () => {
    const bytes = new TextEncoder().encode('event: values\ndata: {"s":"é✓"}\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 2) c.enqueue(bytes.slice(i, i + 2));
        c.close();
      },
    });
    const got: unknown[] = [];
    await readSse(stream, (e) => got.push(e.data));
    expect(got).toEqual([{ s: "é✓" }]);
  });
});

describe("splitEventName", () => {
  it("splits the mode from the subgraph namespace", () => {
    expect(splitEventName("debug")).toEqual({ mode: "debug", ns: [] });
    expect(splitEventName("updates|inner:abc|deep:1")).toEqual({ mode: "updates", ns: ["inner:abc", "deep:1"] });
  });
});
