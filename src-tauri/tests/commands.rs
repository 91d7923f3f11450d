//! The native commands' logic without a window: files, recent list, settings, autosave, links,
//! and the generated TypeScript bindings being current.

use stategraph_studio::commands::{self, AppFiles, ErrorKind, Settings};

fn files() -> (tempfile::TempDir, AppFiles) {
    let dir = tempfile::tempdir().unwrap();
    let files = AppFiles { data: dir.path().join("data"), config: dir.path().join("config") };
    (dir, files)
}

#[test]
fn only_absolute_spec_files_are_touched() {
    assert!(commands::spec_file("/home/me/g.yaml").is_ok());
    assert!(commands::spec_file("/home/me/g.JSON").is_ok());
    for bad in ["/etc/passwd", "/home/me/.bashrc", "relative.json", "/x/spec.json.sh", ""] {
        let err = commands::spec_file(bad).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotAllowed, "{bad}");
        assert!(err.message.contains(bad), "{}", err.message);
    }
}

#[test]
fn atomic_writes_create_the_folder_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/g.json");
    commands::write_atomically(&path, b"{\"version\": 1}").unwrap();
    assert_eq!(commands::read_spec(&path).unwrap(), "{\"version\": 1}");
    commands::write_atomically(&path, b"second").unwrap();
    assert_eq!(commands::read_spec(&path).unwrap(), "second");
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary left");
    let err = commands::read_spec(&dir.path().join("missing.json")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(err.message.contains("missing.json"));
}

#[test]
fn recent_files_are_newest_first_unique_and_bounded() {
    let (_d, f) = files();
    assert!(f.recent().is_empty());
    for i in 0..12 {
        f.add_recent(&format!("/s/{i}.json")).unwrap();
    }
    f.add_recent("/s/5.json").unwrap();
    let list = f.recent();
    assert_eq!(list.len(), 10);
    assert_eq!(list[0], "/s/5.json");
    assert_eq!(list[1], "/s/11.json");
    assert_eq!(list.iter().filter(|p| *p == "/s/5.json").count(), 1);
}

#[test]
fn settings_round_trip_with_defaults_for_missing_fields() {
    let (_d, f) = files();
    assert_eq!(f.settings(), Settings::default());
    let s = Settings { theme: "dark".into(), autosave_seconds: 0, minimap: false, snap_to_grid: true };
    f.set_settings(&s).unwrap();
    assert_eq!(f.settings(), s);
    std::fs::write(f.config.join("settings.json"), r#"{"theme": "light"}"#).unwrap();
    assert_eq!(f.settings(), Settings { theme: "light".into(), ..Settings::default() });
    std::fs::write(f.config.join("settings.json"), "garbage").unwrap();
    assert_eq!(f.settings(), Settings::default());
}

#[test]
fn autosave_writes_reads_and_clears_by_key() {
    let (_d, f) = files();
    assert_eq!(f.autosave_read("untitled-1").unwrap(), None);
    f.autosave_write("untitled-1", "{\"name\": \"g\"}").unwrap();
    assert_eq!(f.autosave_read("untitled-1").unwrap().as_deref(), Some("{\"name\": \"g\"}"));
    f.autosave_clear("untitled-1").unwrap();
    assert_eq!(f.autosave_read("untitled-1").unwrap(), None);
    f.autosave_clear("untitled-1").unwrap();
    for bad in ["../escape", "a/b", ".hidden", ""] {
        assert_eq!(f.autosave_write(bad, "x").unwrap_err().kind, ErrorKind::NotAllowed, "{bad}");
    }
}

#[test]
fn only_http_links_open() {
    assert!(commands::check_link("https://langchain-ai.github.io/langgraph/").is_ok());
    assert!(commands::check_link("http://127.0.0.1:2024/docs").is_ok());
    for bad in ["file:///etc/passwd", "javascript:alert(1)", "ftp://x", "not a url"] {
        assert_eq!(commands::check_link(bad).unwrap_err().kind, ErrorKind::NotAllowed, "{bad}");
    }
}

/// `ui/src/desktop/bindings.ts` is generated from the commands; this fails when it is stale.
/// Run with `STATEGRAPH_UPDATE_BINDINGS=1` to rewrite it.
#[test]
fn bindings_are_up_to_date() {
    let generated = commands::typescript_bindings().unwrap();
    for name in ["openSpecDialog", "saveSpecDialog", "autosaveRead", "openExternal", "export type Settings"] {
        assert!(generated.contains(name), "{name} missing from the bindings");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/desktop/bindings.ts");
    if std::env::var_os("STATEGRAPH_UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run this test again with STATEGRAPH_UPDATE_BINDINGS=1 to regenerate it",
        path.display()
    );
}
