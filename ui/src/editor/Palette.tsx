// The left panel: node kinds to drag onto the canvas (or click to add), with search.
import { useMemo, useState } from "react";
import { useEditor } from "./store";
import { kindGlyph } from "./kinds";
import { DND_KIND, addNodeOfKind } from "./Canvas";

export function Palette() {
  const kinds = useEditor((s) => s.kinds);
  const fromServer = useEditor((s) => s.kindsFromServer);
  const readOnly = useEditor((s) => s.readOnly);
  const [q, setQ] = useState("");
  const shown = useMemo(() => {
    const t = q.trim().toLowerCase();
    return t ? kinds.filter((k) => `${k.kind} ${k.title ?? ""} ${k.description ?? ""}`.toLowerCase().includes(t)) : kinds;
  }, [kinds, q]);
  return (
    <aside className="palette" data-testid="palette">
      <input className="search" data-testid="palette-search" placeholder="Search node kinds…" value={q} onChange={(e) => setQ(e.target.value)} />
      <ul>
        {shown.map((k) => (
          <li
            key={k.kind}
            className="palette-item"
            data-testid={`palette-${k.kind}`}
            draggable={!readOnly}
            title={k.description || k.kind}
            onDragStart={(e) => {
              e.dataTransfer.setData(DND_KIND, k.kind);
              e.dataTransfer.setData("text/plain", k.kind);
              e.dataTransfer.effectAllowed = "copy";
            }}
            onDoubleClick={() => !readOnly && addNodeOfKind(k.kind, { x: 80 + Math.random() * 200, y: 80 + Math.random() * 200 })}
          >
            <span className="glyph">{kindGlyph(k.kind)}</span>
            <span className="palette-text">
              <span className="palette-title">{k.title && k.title !== k.kind ? k.title : k.kind}</span>
              <span className="palette-kind">{k.kind}</span>
            </span>
          </li>
        ))}
        {shown.length === 0 && <li className="muted small">No kind matches “{q}”.</li>}
      </ul>
      {!fromServer && <p className="muted small">Built-in kinds (the server does not list kinds): configs are edited as JSON.</p>}
      <p className="muted small hint">Drag a kind onto the canvas. Drag from a node's round handle for a plain edge, from its diamond handle for a conditional branch.</p>
    </aside>
  );
}
