//! Embeds every `.lua` and `.sh` file under `stdlib/` and `lua/` into the binary, so a fresh install has
//! the whole Lua layer without touching the disk (`src/modules.rs` reads the tables): the
//! sources, and each module compiled to Lua bytecode here, so start-up does not parse them
//! (a syntax error in a built-in module fails the build).
use std::{env, fs, io::Write, path::Path};

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("read_dir").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "lua" || x == "sh") {
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
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    let mut f = fs::File::create(out.join("embedded.rs")).unwrap();
    writeln!(f, "pub static FILES: &[(&str, &str)] = &[").unwrap();
    for rel in &files {
        let abs = root.join(rel);
        writeln!(f, "    ({rel:?}, include_str!({:?})),", abs.to_string_lossy()).unwrap();
    }
    writeln!(f, "];").unwrap();
    // Modules only: `meta/ctys.d.lua` is a stub for editors, not code to run; `.sh` files are
    // programs a tool writes out (the sandbox lab's).
    let lua = mlua::Lua::new();
    writeln!(f, "pub static COMPILED: &[(&str, &[u8])] = &[").unwrap();
    for rel in files.iter().filter(|r| r.ends_with(".lua") && !Path::new(r).file_stem().unwrap().to_string_lossy().contains('.')) {
        let src = fs::read(root.join(rel)).unwrap();
        let func = lua
            .load(&src)
            .set_name(format!("@{rel}"))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let bin = out.join(rel.replace('/', "__") + "c");
        fs::write(&bin, func.dump(false)).unwrap();
        writeln!(f, "    ({rel:?}, include_bytes!({:?})),", bin.to_string_lossy()).unwrap();
    }
    writeln!(f, "];").unwrap();
}
