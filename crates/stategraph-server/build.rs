//! With the `ui` feature: embeds the studio's built web UI (`ui/dist` at the workspace root, or
//! `STATEGRAPH_UI_DIST`) as a table of `include_bytes!`, so the server binary serves it with no
//! files beside it. When the UI was not built (no npm on the machine, a crates.io build), a
//! one-page placeholder that says how to build it is embedded instead, so `cargo build` never
//! fails for lack of npm.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=STATEGRAPH_UI_DIST");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from("&[\n");
    let mut built = false;
    if std::env::var_os("CARGO_FEATURE_UI").is_some() {
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
        let dist =
            std::env::var_os("STATEGRAPH_UI_DIST").map(PathBuf::from).unwrap_or_else(|| manifest.join("../../ui/dist"));
        if dist.join("index.html").is_file() {
            println!("cargo:rerun-if-changed={}", dist.display());
            let mut files = Vec::new();
            walk(&dist, &dist, &mut files);
            files.sort();
            for (rel, abs) in files {
                writeln!(table, "    ({rel:?}, include_bytes!({:?}) as &[u8]),", abs.display().to_string())
                    .expect("writing to a String");
            }
            built = true;
        } else {
            // Rebuild once the UI appears: watch the folder that will hold `dist` when it exists.
            if let Some(ui) = dist.parent().filter(|p| p.is_dir()) {
                println!("cargo:rerun-if-changed={}", ui.display());
            }
            let page = out.join("ui-not-built.html");
            std::fs::write(&page, PLACEHOLDER).expect("writing the placeholder page");
            writeln!(table, "    (\"index.html\", include_bytes!({:?}) as &[u8]),", page.display().to_string())
                .expect("writing to a String");
        }
    }
    table.push(']');
    let code = format!(
        "/// The embedded UI files: path relative to `ui/dist`, bytes.\n\
         pub(crate) static FILES: &[(&str, &[u8])] = {table};\n\
         /// False when the placeholder page was embedded instead of a built UI.\n\
         pub(crate) const BUILT: bool = {built};\n"
    );
    std::fs::write(out.join("ui_files.rs"), code).expect("writing ui_files.rs");
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let abs = path.canonicalize().unwrap_or(path);
            files.push((rel, abs));
        }
    }
}

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stategraph Studio: UI not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}code{background:#eee;padding:.1em .3em}</style>
</head><body>
<h1>The studio UI was not built into this binary</h1>
<p>The server is running (the API answers at <code>/ok</code>, <code>/info</code>, <code>/assistants/…</code>), but the web
UI was missing when this binary was compiled. Build it, then rebuild the binary:</p>
<pre><code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build
cargo build -p stategraph-cli</code></pre>
<p>Or point <code>STATEGRAPH_UI_DIST</code> at a built <code>dist</code> folder when compiling.</p>
</body></html>
"#;
