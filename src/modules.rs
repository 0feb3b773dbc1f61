//! The Lua module tree: the files built into the binary (listed by build.rs), the modules a
//! search path adds, and how module names map onto them: `ctys.cli` is `stdlib/ctys/cli.lua` or `lua/ctys/cli.lua` (or `.../init.lua`).
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The two embedded trees, searched in this order.
const ROOTS: [&str; 2] = ["stdlib", "lua"];

/// The source of one embedded file, by its path (`stdlib/ctys/log.lua`).
pub fn file(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// The relative file paths a module name may live at under one root directory.
pub fn candidates(name: &str) -> [String; 2] {
    let rel = name.replace('.', "/");
    [format!("{rel}.lua"), format!("{rel}/init.lua")]
}

/// The embedded file that holds a module, if any: its path and its bytecode (compiled by
/// build.rs from the source `file` returns, with the chunk name `@path`).
pub fn module(name: &str) -> Option<(&'static str, &'static [u8])> {
    let cands = candidates(name);
    ROOTS.iter().flat_map(|root| cands.iter().map(move |c| format!("{root}/{c}"))).find_map(|want| {
        COMPILED.iter().find(|(p, _)| *p == want).map(|(p, b)| (*p, *b))
    })
}

/// The module name an embedded or on-disk relative path stands for (`ctys/x/init.lua` → `ctys.x`).
pub fn module_name(rel: &Path) -> Option<String> {
    let s = rel.to_str()?.strip_suffix(".lua")?;
    let s = s.strip_suffix("/init").unwrap_or(s);
    // Names with dots in a file name (`meta/ctys.d.lua`) are stubs, not modules.
    if s.contains('.') {
        return None;
    }
    Some(s.replace('/', "."))
}

/// Every embedded module name.
fn module_names_embedded() -> impl Iterator<Item = String> {
    FILES.iter().filter_map(|(p, _)| {
        let (_, rel) = p.split_once('/')?;
        module_name(Path::new(rel))
    })
}

/// The path a file takes in a site tree written by `--dump-lua`: the root is dropped, so the
/// dump is itself a directory for `--lua-path` (`stdlib/ctys/log.lua` → `ctys/log.lua`).
pub fn site_path(path: &str) -> &str {
    path.split_once('/').map_or(path, |(_, rel)| rel)
}

/// Every module name visible through the searcher, site directories and embedded, sorted.
pub fn module_names(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = module_names_embedded().collect();
    for dir in dirs {
        walk(dir, dir, &mut names);
    }
    names.sort();
    names.dedup();
    names
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Some(name) = p.strip_prefix(root).ok().and_then(module_name) {
            out.push(name);
        }
    }
}
