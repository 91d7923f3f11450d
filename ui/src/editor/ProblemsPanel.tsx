// The bottom panel: validation status and every problem; clicking one selects what it is about.
import { useEditor } from "./store";
import type { MappedProblem } from "../core/validation";
import { flowFocus } from "./focus";
import { scheduleValidation } from "./server";

function where(p: MappedProblem): string {
  const t = p.target;
  switch (t.kind) {
    case "node":
      return `node ${t.id}${t.field ? ` · ${t.field}` : ""}`;
    case "edge":
      return t.index < 0 ? "entry" : `edge #${t.index}`;
    case "state":
      return `state ${t.key}`;
    default:
      return t.field ? `graph · ${t.field}` : "graph";
  }
}

export function ProblemsPanel() {
  const problems = useEditor((s) => s.problems);
  const status = useEditor((s) => s.validation);
  const message = useEditor((s) => s.validationMessage);
  const select = useEditor((s) => s.select);
  const label =
    status === "pending"
      ? "Validating…"
      : status === "ok"
        ? "No problems"
        : status === "problems"
          ? `${problems.all.length} problem${problems.all.length === 1 ? "" : "s"}`
          : status === "unavailable"
            ? "Server validation unavailable"
            : status === "error"
              ? "Validation failed"
              : "Not validated yet";
  return (
    <section className="problems" data-testid="problems-panel">
      <header>
        <strong data-testid="validation-status" className={`status-${status}`}>
          {label}
        </strong>
        {message && <span className="muted small"> {message}</span>}
        <button className="small validate" data-testid="validate" onClick={() => scheduleValidation(useEditor.getState().history.present, 0)}>
          Validate now
        </button>
      </header>
      <ul data-testid="problems">
        {problems.all.map((p, i) => (
          <li
            key={i}
            data-testid="problem"
            onClick={() => {
              const t = p.target;
              if (t.kind === "node") {
                select([t.id]);
                flowFocus(t.id);
              } else if (t.kind === "edge") select([], t.canvasIds);
              else select([]);
            }}
          >
            <code className="code">{p.code}</code>
            <span className="where">{where(p)}</span>
            <span className="message">{p.message}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
