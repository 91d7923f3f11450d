// Centres the canvas on a node (used by the problems panel).
import { useEditor } from "./store";
import { NODE_SIZE } from "../core/layout";
import { nodesOf } from "../core/model";

let center: ((x: number, y: number) => void) | null = null;

export function setCenterFn(f: ((x: number, y: number) => void) | null) {
  center = f;
}

export function flowFocus(id: string) {
  const n = nodesOf(useEditor.getState().history.present).find((x) => x.id === id);
  if (n?.position && center) center(n.position.x + NODE_SIZE.width / 2, n.position.y + NODE_SIZE.height / 2);
}
