//! The installable app: the service worker (served at `GET /sw.js` by `api::meta`), stamped
//! with the build it serves.
//!
//! Browsers install a new service worker when the bytes of its script change, so the script
//! carries a build id: by default a hash of the files the worker precaches (the site's
//! `pkg/` JS, wasm and CSS, the manifest and icons) and of its own template, computed once
//! at start-up; `TERN_BUILD_ID` overrides it (a deployment can pass its release id; tests
//! simulate a new deployment with it). The same id is in the page (`<meta
//! name="tern-build">`), so the page and the worker can tell which build they are.

use std::path::Path;

use leptos::config::LeptosOptions;
use sha2::{Digest, Sha256};

/// The worker's source, with `__TERN_BUILD__` where the build id goes.
pub const TEMPLATE: &str = include_str!("sw.js");
const PLACEHOLDER: &str = "__TERN_BUILD__";
/// Where the worker's list of the other files of `pkg/` goes (a JavaScript array).
const PKG_PLACEHOLDER: &str = "__TERN_PKG__";

/// Files of the site (relative to the site root) whose bytes make up the default build id,
/// with every file of [`pkg_files`]. `{pkg}` is the site's pkg directory, `{name}` its
/// output name.
const HASHED: &[&str] = &[
    "{pkg}/{name}.js",
    "{pkg}/{name}.wasm",
    "{pkg}/{name}.css",
    "manifest.webmanifest",
    "favicon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/maskable-512.png",
];

/// The service worker of one build.
#[derive(Debug, Clone)]
pub struct ServiceWorker {
    build: String,
    script: String,
}

impl ServiceWorker {
    /// The worker for the site described by `leptos`, with the build id `build` or, when
    /// `None`, the hash of the site's files.
    pub fn new(leptos: &LeptosOptions, build: Option<String>) -> Self {
        let pkg = pkg_files(leptos);
        let build = build.unwrap_or_else(|| hash_site(leptos, &pkg));
        let list = pkg
            .iter()
            .map(|f| format!("'/{}/{f}'", leptos.site_pkg_dir))
            .collect::<Vec<_>>()
            .join(", ");
        let script = TEMPLATE
            .replace(PLACEHOLDER, &build)
            .replace(PKG_PLACEHOLDER, &format!("[{list}]"));
        Self { build, script }
    }

    /// The build id.
    pub fn build(&self) -> &str {
        &self.build
    }

    /// The script served at `/sw.js`.
    pub fn script(&self) -> &str {
        &self.script
    }
}

/// Whether `id` may be used as a build id: 1 to 64 of `[A-Za-z0-9._-]` (it is written into
/// a JavaScript string and a cache name).
pub fn valid_build_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The other files of the site's pkg directory that a page may load: the wasm modules
/// split off the start-up module (`cargo leptos build --split`), their chunks and the
/// JavaScript that loads them; sorted. Not `{name}.js`, `.wasm` and `.css` (the worker
/// lists them itself), nor type declarations and manifests (no page fetches them). Only
/// names a JavaScript string can hold verbatim (the build's own: letters, digits, `._-`).
fn pkg_files(leptos: &LeptosOptions) -> Vec<String> {
    let dir = Path::new(leptos.site_root.as_ref()).join(leptos.site_pkg_dir.as_ref());
    let own = ["js", "wasm", "css"].map(|ext| format!("{}.{ext}", leptos.output_name));
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| (f.ends_with(".wasm") || f.ends_with(".js")) && !own.contains(f))
        .filter(|f| {
            f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .collect();
    files.sort();
    files
}

/// The first 16 hex digits of the SHA-256 of the template and of each hashed file that
/// exists (name and bytes), in a fixed order: [`HASHED`], then `pkg` (in the site's pkg
/// directory).
fn hash_site(leptos: &LeptosOptions, pkg: &[String]) -> String {
    let root = Path::new(leptos.site_root.as_ref());
    let mut h = Sha256::new();
    h.update(TEMPLATE.as_bytes());
    let split = pkg.iter().map(|f| format!("{}/{f}", leptos.site_pkg_dir));
    let hashed = HASHED.iter().map(|pattern| {
        pattern
            .replace("{pkg}", leptos.site_pkg_dir.as_ref())
            .replace("{name}", leptos.output_name.as_ref())
    });
    for rel in hashed.chain(split) {
        if let Ok(bytes) = std::fs::read(root.join(&rel)) {
            h.update(rel.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_id_is_written_into_the_script() {
        let opts = LeptosOptions::builder()
            .output_name("tern")
            .site_root("/nonexistent")
            .build();
        let sw = ServiceWorker::new(&opts, Some("release-42".into()));
        assert_eq!(sw.build(), "release-42");
        assert!(sw.script().contains("const BUILD = 'release-42';"));
        assert!(!sw.script().contains(PLACEHOLDER));
    }

    #[test]
    fn the_default_build_id_follows_the_site_files() {
        let dir = std::env::temp_dir().join(format!("tern-pwa-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        let opts = LeptosOptions::builder()
            .output_name("tern")
            .site_root(dir.to_string_lossy().to_string())
            .build();
        std::fs::write(dir.join("pkg/tern.wasm"), b"one").unwrap();
        let one = ServiceWorker::new(&opts, None);
        assert_eq!(
            one.build(),
            ServiceWorker::new(&opts, None).build(),
            "deterministic"
        );
        std::fs::write(dir.join("pkg/tern.wasm"), b"two").unwrap();
        let two = ServiceWorker::new(&opts, None);
        assert_ne!(one.build(), two.build(), "a new wasm is a new build");
        assert!(valid_build_id(one.build()), "{}", one.build());
        assert!(
            two.script().contains("const PKG = [];"),
            "no split modules yet"
        );
        // The modules split off the start-up one (`cargo leptos build --split`) and their
        // loader are precached, and are part of the build; type declarations are not.
        std::fs::write(dir.join("pkg/preview.wasm"), b"lazy").unwrap();
        std::fs::write(dir.join("pkg/__wasm_split.abc.js"), b"loader").unwrap();
        std::fs::write(dir.join("pkg/tern.d.ts"), b"types").unwrap();
        let three = ServiceWorker::new(&opts, None);
        assert!(
            three
                .script()
                .contains("const PKG = ['/pkg/__wasm_split.abc.js', '/pkg/preview.wasm'];"),
            "{}",
            three.script()
        );
        assert_ne!(
            two.build(),
            three.build(),
            "a new split module is a new build"
        );
        std::fs::write(dir.join("pkg/preview.wasm"), b"lazier").unwrap();
        assert_ne!(three.build(), ServiceWorker::new(&opts, None).build());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn build_ids_are_restricted_to_safe_characters() {
        assert!(valid_build_id("v1.2.3_rc-1"));
        assert!(!valid_build_id(""));
        assert!(!valid_build_id("x'; alert(1); '"));
        assert!(!valid_build_id(&"a".repeat(65)));
    }
}
