// CodeMirror 6 for scripts, templates, expressions and JSON.
import { memo, useMemo } from "react";
import CodeMirror from "@uiw/react-codemirror";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";
import { useEditor } from "./store";

function language(lang: string | undefined) {
  switch (lang) {
    case "rhai":
    case "javascript":
      // Rhai's syntax is close enough to JavaScript's for highlighting.
      return [javascript()];
    case "json":
      return [json()];
    case "python":
      return [python()];
    case "yaml":
      return [yaml()];
    default:
      return [];
  }
}

export const CodeEditor = memo(function CodeEditor(props: {
  value: string;
  onChange?: (v: string) => void;
  language?: string;
  minHeight?: string;
  maxHeight?: string;
  readOnly?: boolean;
  testId?: string;
  onBlur?: () => void;
}) {
  const theme = useEditor((s) => s.theme);
  const ext = useMemo(() => language(props.language), [props.language]);
  return (
    <div className="code-editor" data-testid={props.testId} onBlur={props.onBlur}>
      <CodeMirror
        value={props.value}
        onChange={props.onChange}
        extensions={ext}
        theme={theme}
        readOnly={props.readOnly}
        editable={!props.readOnly}
        minHeight={props.minHeight ?? "60px"}
        maxHeight={props.maxHeight ?? "320px"}
        basicSetup={{ foldGutter: false, highlightActiveLine: !props.readOnly }}
      />
    </div>
  );
});
