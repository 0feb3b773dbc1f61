//! Embeds every file under `stdlib/` and `lua/` into the binary, so a fresh install has
//! the whole Lua layer without touching the disk; `host::embedded` reads the table.
use std::{env, fs, io::Write, path::Path};

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("read_dir").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "lua") {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for top in ["stdlib", "lua"] {
        println!("cargo:rerun-if-changed={top}");
        walk(root, &root.join(top), &mut files);
    }
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded.rs");
    let mut f = fs::File::create(dest).unwrap();
    writeln!(f, "pub static FILES: &[(&str, &str)] = &[").unwrap();
    for rel in &files {
        let abs = root.join(rel);
        writeln!(f, "    ({rel:?}, include_str!({:?})),", abs.to_string_lossy()).unwrap();
    }
    writeln!(f, "];").unwrap();
}
