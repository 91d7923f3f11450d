// Pending interrupts with their payloads, answered Agent Inbox style (accept / edit / respond /
// ignore, with forms from the interrupt's schema) or with free JSON; resume one or several by id.
import { useState } from "react";
import { useRun } from "./store";
import { humanResponse, resumeCommand, type InboxAnswer, type InterruptModel } from "../core/run/interrupt";
import { SchemaForm } from "../editor/SchemaForm";
import { JsonTree } from "./JsonTree";

type Draft = { kind: "accept" | "edit" | "response" | "ignore" | "json"; args: Record<string, unknown>; text: string };

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function answerOf(m: InterruptModel, d: Draft): unknown {
  if (d.kind === "json" || !m.inbox) return parseLoose(d.text);
  const a: InboxAnswer =
    d.kind === "edit" ? { type: "edit", args: d.args } : d.kind === "response" ? { type: "response", text: m.inbox.responseSchema?.type === "string" || !m.inbox.responseSchema ? d.text : parseLoose(d.text) } : { type: d.kind };
  return humanResponse(m, a);
}

export function InterruptPane() {
  const interrupts = useRun((s) => s.interrupts);
  const outcome = useRun((s) => s.outcome);
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const draftOf = (m: InterruptModel): Draft =>
    drafts[m.id] ?? { kind: m.inbox ? (m.inbox.allow.accept ? "accept" : m.inbox.allow.edit ? "edit" : m.inbox.allow.respond ? "response" : "ignore") : "json", args: m.inbox?.args ?? {}, text: m.inbox ? "" : "null" };
  const setDraft = (id: string, d: Draft) => setDrafts({ ...drafts, [id]: d });

  const resume = (ids: string[]) => {
    const answers = new Map<string, unknown>();
    for (const m of interrupts) if (ids.includes(m.id)) answers.set(m.id, answerOf(m, draftOf(m)));
    setDrafts({});
    setPicked(new Set());
    void useRun.getState().start({ kind: "continue" }, { resume: resumeCommand(answers, interrupts.length) });
  };

  if (!interrupts.length)
    return (
      <div className="run-section" data-testid="interrupts">
        <strong>Interrupts</strong>
        <div className="muted">{outcome === "interrupted" ? "Paused at a breakpoint (no interrupt to answer): use Continue or Step." : "None pending."}</div>
      </div>
    );

  return (
    <div className="run-section" data-testid="interrupts">
      <div className="run-row">
        <strong>Interrupts</strong>
        <span className="muted" data-testid="interrupt-count">{interrupts.length} pending</span>
        <div className="grow" />
        {interrupts.length > 1 && (
          <button className="small" disabled={!picked.size} data-testid="resume-picked" onClick={() => resume([...picked])}>
            Resume selected ({picked.size})
          </button>
        )}
      </div>
      {interrupts.map((m) => {
        const d = draftOf(m);
        const ib = m.inbox;
        return (
          <div key={m.id} className="interrupt-card" data-testid={`interrupt-${m.node ?? "?"}`} data-interrupt-id={m.id}>
            <div className="run-row">
              {interrupts.length > 1 && (
                <input
                  type="checkbox"
                  checked={picked.has(m.id)}
                  onChange={(e) => {
                    const n = new Set(picked);
                    if (e.target.checked) n.add(m.id);
                    else n.delete(m.id);
                    setPicked(n);
                  }}
                />
              )}
              <span className="sg-badge">{m.node ?? "interrupt"}</span>
              <span className="muted">id {m.id.slice(0, 12)}</span>
            </div>
            {ib ? (
              <>
                <div className="ib-action" data-testid="interrupt-action">
                  {ib.action}
                </div>
                {ib.description && <div data-testid="interrupt-description">{ib.description}</div>}
                {ib.error && (
                  <div className="field-error" data-testid="interrupt-error">
                    {ib.error}
                  </div>
                )}
                <JsonTree value={ib.args} />
                <div className="run-row wrap">
                  {(["accept", "edit", "response", "ignore"] as const)
                    .filter((k) => ib.allow[k === "response" ? "respond" : k])
                    .map((k) => (
                      <label key={k} className="chip">
                        <input type="radio" name={`ans-${m.id}`} checked={d.kind === k} onChange={() => setDraft(m.id, { ...d, kind: k })} data-testid={`answer-${k}`} />
                        {k === "response" ? "respond" : k}
                      </label>
                    ))}
                  <label className="chip">
                    <input type="radio" name={`ans-${m.id}`} checked={d.kind === "json"} onChange={() => setDraft(m.id, { ...d, kind: "json", text: JSON.stringify(answerOf(m, d)) })} data-testid="answer-json" />
                    JSON
                  </label>
                </div>
                {d.kind === "edit" &&
                  (ib.argsSchema ? (
                    <div data-testid="edit-form">
                      <SchemaForm schema={ib.argsSchema} value={d.args} onChange={(v) => setDraft(m.id, { ...d, args: v })} stateKeys={[]} />
                    </div>
                  ) : (
                    <textarea className="json-area" rows={4} value={JSON.stringify(d.args, null, 2)} onChange={(e) => setDraft(m.id, { ...d, args: (parseLoose(e.target.value) as Record<string, unknown>) ?? {} })} data-testid="edit-json" />
                  ))}
                {d.kind === "response" && <textarea className="json-area" rows={3} placeholder="Your reply" value={d.text} onChange={(e) => setDraft(m.id, { ...d, text: e.target.value })} data-testid="respond-text" />}
              </>
            ) : (
              <>
                <JsonTree value={m.value} />
              </>
            )}
            {d.kind === "json" && <textarea className="json-area" rows={3} value={d.text} onChange={(e) => setDraft(m.id, { ...d, text: e.target.value })} data-testid="resume-json" spellCheck={false} />}
            <div className="run-row">
              <button className="primary small" data-testid="resume" onClick={() => resume([m.id])}>
                {ib && d.kind !== "json" ? `Submit ${d.kind === "response" ? "reply" : d.kind}` : "Resume"}
              </button>
            </div>
          </div>
        );
      })}
    </div>
  );
}
