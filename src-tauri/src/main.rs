//! The Stategraph Studio desktop app: see the library (`stategraph_studio`) and README.md.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    webkit_workarounds();
    stategraph_studio::run();
}

/// Linux: WebKitGTK's DMA-BUF renderer draws a blank (white or black) window on many GPU
/// driver / compositor combinations (NVIDIA, some Wayland setups, VMs). Use its shared-memory
/// renderer instead unless the user chose otherwise. A graph editor does not need the GPU path.
fn webkit_workarounds() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // SAFETY: called first thing in `main`, before any thread is started, so nothing can
        // read the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
        }
    }
}
