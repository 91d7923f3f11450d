// The HTTP client for the server (ours or a Python `langgraph dev`). Endpoints and shapes follow
// /work/notes/studio-contract.md. No React here: the store calls it.
import type { GraphSpec } from "./spec-types";
import type { Problem } from "./validation";
import type { JsonSchema } from "./schema-form";

/** Where the server is and how to authenticate. */
export interface Connection {
  apiUrl: string;
  token: string | null;
}

/** localStorage key of the connection chosen on the Connect screen. */
export const CONNECTION_KEY = "stategraph.connection";

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * The connection to use: the one saved on the Connect screen, else the one the desktop app
 * injected (`window.__STATEGRAPH__`), else the page's own origin without a token.
 */
export function resolveConnection(
  injected: { apiUrl?: string; token?: string | null } | undefined,
  origin: string,
  storage: StorageLike | null,
): Connection {
  const saved = storage?.getItem(CONNECTION_KEY);
  if (saved) {
    try {
      const c = JSON.parse(saved) as Partial<Connection>;
      if (typeof c.apiUrl === "string" && c.apiUrl) return { apiUrl: trimSlash(c.apiUrl), token: c.token || null };
    } catch {
      // A broken saved value is ignored (and replaced on the next save).
    }
  }
  if (injected?.apiUrl) return { apiUrl: trimSlash(injected.apiUrl), token: injected.token ?? null };
  return { apiUrl: trimSlash(origin), token: null };
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** An HTTP error with the server's `detail` and problems when it sent them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
  /** The route does not exist on this server (e.g. `/stategraph/*` on `langgraph dev`). */
  get unavailable(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 0;
  }
}

/** A node kind as `GET /stategraph/node-kinds` describes it. */
export interface NodeKindInfo {
  kind: string;
  title?: string;
  description?: string;
  config_schema?: JsonSchema | null;
}

/** `GET /stategraph/info`. */
export interface StudioInfo {
  version: string;
  spec_version: number;
  specs_dir: string | null;
  writable: boolean;
}

/** One spec in the server's spec directory. */
export interface SpecEntry {
  name: string;
  file: string;
  graph_id?: string;
  assistant_id?: string;
}

/** An assistant from `POST /assistants/search`. */
export interface Assistant {
  assistant_id: string;
  graph_id: string;
  name?: string;
}

/** Export formats of `POST /stategraph/specs/export`. */
export type ExportFormat = "json" | "yaml" | "mermaid" | "python";

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The server client. */
export class StudioApi {
  constructor(
    readonly connection: Connection,
    private readonly fetchFn: FetchLike = (i, init) => fetch(i, init),
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.connection.token) headers["x-api-key"] = this.connection.token;
    let res: Response;
    try {
      res = await this.fetchFn(this.connection.apiUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, `cannot reach ${this.connection.apiUrl}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const d = data as { detail?: unknown; problems?: Problem[] } | null;
      const detail = typeof d?.detail === "string" ? d.detail : text.slice(0, 300) || res.statusText;
      throw new ApiError(res.status, `${method} ${path}: ${res.status} ${detail}`, d?.problems ?? []);
    }
    return data as T;
  }

  ok(): Promise<unknown> {
    return this.request("GET", "/ok");
  }
  info(): Promise<Record<string, unknown>> {
    return this.request("GET", "/info");
  }
  studioInfo(): Promise<StudioInfo> {
    return this.request("GET", "/stategraph/info");
  }
  async nodeKinds(): Promise<NodeKindInfo[]> {
    return (await this.request<{ kinds: NodeKindInfo[] }>("GET", "/stategraph/node-kinds")).kinds;
  }
  validate(spec: GraphSpec): Promise<{ ok: boolean; problems: Problem[] }> {
    return this.request("POST", "/stategraph/specs/validate", { spec });
  }
  parse(content: string, format: "json" | "yaml" | null): Promise<{ spec: GraphSpec | null; problems: Problem[] }> {
    return this.request("POST", "/stategraph/specs/parse", { content, format });
  }
  exportSpec(spec: GraphSpec, format: ExportFormat): Promise<{ content: string; warnings: string[] }> {
    return this.request("POST", "/stategraph/specs/export", { spec, format });
  }
  importLangGraph(content: string): Promise<{ spec: GraphSpec; warnings: string[] }> {
    return this.request("POST", "/stategraph/specs/import", { content });
  }
  async listSpecs(): Promise<SpecEntry[]> {
    return (await this.request<{ specs: SpecEntry[] }>("GET", "/stategraph/specs")).specs;
  }
  getSpec(name: string): Promise<GraphSpec> {
    return this.request("GET", `/stategraph/specs/${encodeURIComponent(name)}`);
  }
  putSpec(name: string, spec: GraphSpec): Promise<{ ok: boolean; problems: Problem[] }> {
    return this.request("PUT", `/stategraph/specs/${encodeURIComponent(name)}`, spec);
  }
  searchAssistants(): Promise<Assistant[]> {
    return this.request("POST", "/assistants/search", { limit: 100, offset: 0 });
  }
  assistantGraph(id: string): Promise<unknown> {
    return this.request("GET", `/assistants/${encodeURIComponent(id)}/graph?xray=true`);
  }
}
