// The LangGraph API calls of the run/debug half of the studio: threads, state, history, runs and
// their SSE stream. Works against our server and a Python `langgraph dev` (same routes); our
// `breakpoints` run option is only sent when set.
import { ApiError, type Connection } from "../api";
import { readSse, type SseEvent } from "./sse";

/** A checkpoint address as the API returns it. */
export interface CheckpointRef {
  checkpoint_id: string;
  thread_id?: string;
  checkpoint_ns?: string;
}

/** An interrupt as `state.interrupts` / `tasks[].interrupts` carry it. */
export interface Interrupt {
  id: string;
  value: unknown;
  /** Set by our server and by recent LangGraph servers (`response_schema` of the interrupt). */
  response_schema?: unknown;
}

/** A task of a snapshot: the node to run (or that ran) from that checkpoint. */
export interface SnapshotTask {
  id: string;
  name: string;
  error?: string | null;
  interrupts: Interrupt[];
  /** The writes the task made (null while it has not run). */
  result?: unknown;
  /** A subgraph's own snapshot when fetched with `subgraphs=true`. */
  state?: StateSnapshot | { configurable?: Record<string, unknown> } | null;
  path?: unknown[];
}

/** `GET /threads/{id}/state` and one entry of the history. */
export interface StateSnapshot {
  values: Record<string, unknown> | unknown;
  next: string[];
  tasks: SnapshotTask[];
  metadata: { source?: string; step?: number; parents?: Record<string, string>; writes?: unknown; [k: string]: unknown } | null;
  created_at?: string | null;
  checkpoint: CheckpointRef | null;
  parent_checkpoint: CheckpointRef | null;
  interrupts?: Interrupt[];
  checkpoint_id?: string;
  parent_checkpoint_id?: string | null;
}

/** A thread. */
export interface Thread {
  thread_id: string;
  created_at?: string;
  updated_at?: string;
  status?: string;
  metadata?: Record<string, unknown>;
  values?: unknown;
  interrupts?: Record<string, Interrupt[]>;
}

/** An assistant (a graph the server serves). */
export interface AssistantInfo {
  assistant_id: string;
  graph_id: string;
  name?: string;
}

/** A breakpoint as our server's `breakpoints` run option takes it. */
export interface BreakpointBody {
  node: string;
  position?: "before" | "after";
  when?: string;
  from?: string;
  subgraph?: string[];
}

/** The body of `POST /threads/{id}/runs/stream`. */
export interface RunBody {
  assistant_id: string;
  input?: unknown;
  command?: { resume?: unknown; update?: unknown; goto?: unknown };
  stream_mode?: string[];
  stream_subgraphs?: boolean;
  checkpoint_id?: string;
  checkpoint?: CheckpointRef;
  interrupt_before?: string[] | "*";
  interrupt_after?: string[] | "*";
  multitask_strategy?: "reject" | "interrupt" | "rollback" | "enqueue";
  breakpoints?: BreakpointBody[];
  config?: Record<string, unknown>;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The client. */
export class RunApi {
  constructor(
    readonly connection: Connection,
    private readonly fetchFn: FetchLike = (i, init) => fetch(i, init),
  ) {}

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: "application/json" };
    if (json) h["content-type"] = "application/json";
    if (this.connection.token) h["x-api-key"] = this.connection.token;
    return h;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(this.connection.apiUrl + path, {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, `cannot reach ${this.connection.apiUrl}: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, `${method} ${path}: ${res.status} ${detailOf(text) || res.statusText}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  assistants(): Promise<AssistantInfo[]> {
    return this.request("POST", "/assistants/search", { limit: 100, offset: 0 });
  }
  graph(assistantId: string): Promise<unknown> {
    return this.request("GET", `/assistants/${encodeURIComponent(assistantId)}/graph?xray=true`);
  }
  schemas(assistantId: string): Promise<{ input_schema?: unknown; state_schema?: unknown }> {
    return this.request("GET", `/assistants/${encodeURIComponent(assistantId)}/schemas`);
  }
  createThread(metadata: Record<string, unknown> = {}): Promise<Thread> {
    return this.request("POST", "/threads", { metadata });
  }
  searchThreads(metadata?: Record<string, unknown>): Promise<Thread[]> {
    return this.request("POST", "/threads/search", { limit: 50, offset: 0, ...(metadata ? { metadata } : {}) });
  }
  getThread(id: string): Promise<Thread> {
    return this.request("GET", `/threads/${id}`);
  }
  copyThread(id: string): Promise<Thread> {
    return this.request("POST", `/threads/${id}/copy`, {});
  }
  async deleteThread(id: string): Promise<void> {
    await this.request("DELETE", `/threads/${id}`);
  }
  state(id: string, opts: { checkpointId?: string; subgraphs?: boolean } = {}): Promise<StateSnapshot> {
    const q = opts.subgraphs ? "?subgraphs=true" : "";
    return this.request("GET", `/threads/${id}/state${opts.checkpointId ? `/${opts.checkpointId}` : ""}${q}`);
  }
  history(id: string, limit = 200): Promise<StateSnapshot[]> {
    return this.request("POST", `/threads/${id}/history`, { limit });
  }
  /** `update_state`: writes `values` as if `asNode` had, on top of `checkpointId` (a fork) or the latest. */
  updateState(id: string, values: unknown, asNode: string | null, checkpointId?: string): Promise<{ checkpoint: CheckpointRef }> {
    return this.request("POST", `/threads/${id}/state`, {
      values,
      ...(asNode ? { as_node: asNode } : {}),
      ...(checkpointId ? { checkpoint_id: checkpointId } : {}),
    });
  }
  async cancel(threadId: string, runId: string): Promise<void> {
    await this.request("POST", `/threads/${threadId}/runs/${runId}/cancel?wait=0&action=interrupt`);
  }

  /**
   * Starts a streamed run and calls `onEvent` for every event until the stream ends. Errors of the
   * request itself (422 for a bad breakpoint, 409 busy thread...) reject with the server's detail.
   */
  async stream(threadId: string, body: RunBody, onEvent: (e: SseEvent) => void, signal?: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.connection.apiUrl}/threads/${threadId}/runs/stream`, {
        method: "POST",
        headers: { ...this.headers(true), accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      throw new ApiError(0, `cannot reach ${this.connection.apiUrl}: ${(e as Error).message}`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      throw new ApiError(res.status, `run: ${res.status} ${detailOf(text) || res.statusText}`);
    }
    try {
      await readSse(res.body, onEvent);
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
    }
  }
}

/** The server's `detail` (string, or FastAPI's list of errors) from an error body. */
export function detailOf(text: string): string {
  try {
    const d = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((x) => (typeof x === "object" && x && "msg" in x ? String((x as { msg: unknown }).msg) : JSON.stringify(x))).join("; ");
    return text.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}
