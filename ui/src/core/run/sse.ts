// Server-sent events for the LangGraph run stream: an incremental parser (bytes may split lines
// and events anywhere; CRLF or LF line ends) and a fetch-based reader, since EventSource cannot POST.

/** One event of the stream: `event` is LangGraph's mode name, possibly `mode|namespace`. */
export interface SseEvent {
  event: string;
  data: unknown;
  /** The raw `data:` text (kept for the log when it is not JSON). */
  raw: string;
  id?: string;
}

/** Feeds text chunks in, gets whole events out. */
export class SseParser {
  private buf = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;

  /** Parses a chunk; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      start = nl + 1;
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** Ends the stream: a last event without its blank line still counts. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buf) this.line(this.buf.replace(/\r$/, ""), out);
    this.buf = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]) {
    if (line === "") {
      if (this.data.length || this.event) {
        const raw = this.data.join("\n");
        let data: unknown = raw;
        if (raw) {
          try {
            data = JSON.parse(raw);
          } catch {
            data = raw;
          }
        } else data = null;
        out.push({ event: this.event || "message", data, raw, ...(this.id !== undefined ? { id: this.id } : {}) });
      }
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
  }
}

/** Splits `mode|ns1|ns2` into the stream mode and the subgraph namespace (`[]` at the root). */
export function splitEventName(name: string): { mode: string; ns: string[] } {
  const [mode = "", ...ns] = name.split("|");
  return { mode, ns };
}

/** Reads an SSE response body, calling `onEvent` for each event, until it ends or is aborted. */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
  }
  for (const e of parser.push(decoder.decode())) onEvent(e);
  for (const e of parser.end()) onEvent(e);
}
