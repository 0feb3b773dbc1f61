//! Embeds every `.lua`, `.sh` and `.py` file under `stdlib/` and `lua/` into the binary, so a fresh install has
//! the whole Lua layer without touching the disk (`src/modules.rs` reads the tables): the
//! sources, and each module compiled to Lua bytecode here, so start-up does not parse them
//! (a syntax error in a built-in module fails the build). It also reads the `ctys.core` stubs in
//! `lua/meta/ctys.d.lua` into `signatures.rs`: the one declaration of each binding's parameters
//! and results, which `src/lua_api/signature.rs` enforces at every call.
use std::{env, fs, io::Write, path::Path};

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("read_dir").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "lua" || x == "sh" || x == "py") {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    println!("cargo:rerun-if-changed=lua/meta/ctys.d.lua");
    for top in ["stdlib", "lua"] {
        println!("cargo:rerun-if-changed={top}");
        walk(root, &root.join(top), &mut files);
    }
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    let mut f = fs::File::create(out.join("embedded.rs")).unwrap();
    writeln!(f, "pub static FILES: &[(&str, &str)] = &[").unwrap();
    for rel in &files {
        let abs = root.join(rel);
        writeln!(
            f,
            "    ({rel:?}, include_str!({:?})),",
            abs.to_string_lossy()
        )
        .unwrap();
    }
    writeln!(f, "];").unwrap();
    // Modules only: `meta/ctys.d.lua` is a stub for editors, not code to run; `.sh` and `.py` files
    // are programs a tool writes out (the sandbox lab's).
    let lua = mlua::Lua::new();
    writeln!(f, "pub static COMPILED: &[(&str, &[u8])] = &[").unwrap();
    for rel in files.iter().filter(|r| {
        r.ends_with(".lua")
            && !Path::new(r)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .contains('.')
    }) {
        let src = fs::read(root.join(rel)).unwrap();
        let func = lua
            .load(&src)
            .set_name(format!("@{rel}"))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let bin = out.join(rel.replace('/', "__") + "c");
        fs::write(&bin, func.dump(false)).unwrap();
        writeln!(
            f,
            "    ({rel:?}, include_bytes!({:?})),",
            bin.to_string_lossy()
        )
        .unwrap();
    }
    writeln!(f, "];").unwrap();
    signatures(
        &root.join("lua/meta/ctys.d.lua"),
        &out.join("signatures.rs"),
    );
}

/// `(name, [(param, optional, type)], [result type])` for every `function ctys.core.NAME(...)`
/// stub, from the `---@param` and `---@return` lines of the annotation block above it.
fn signatures(stub: &Path, out: &Path) {
    let src = fs::read_to_string(stub).unwrap();
    let lines: Vec<&str> = src.lines().collect();
    let mut f = fs::File::create(out).unwrap();
    writeln!(
        f,
        "pub static SIGNATURES: &[(&str, &[(&str, bool, &str)], &[&str])] = &["
    )
    .unwrap();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("function ctys.core.") else {
            continue;
        };
        let name = &rest[..rest
            .find('(')
            .unwrap_or_else(|| panic!("ctys.d.lua:{}: no '('", i + 1))];
        let mut block: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("---"))
            .copied()
            .collect();
        block.reverse();
        let (mut params, mut results) = (Vec::new(), Vec::new());
        for l in block {
            if let Some(p) = l.strip_prefix("---@param ") {
                let (pname, ty) = p
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("ctys.d.lua: {l}"));
                let ty = ty.split(' ').next().unwrap();
                let (pname, opt) = pname
                    .strip_suffix('?')
                    .map_or((pname, false), |n| (n, true));
                params.push(format!("({pname:?}, {opt}, {ty:?})"));
            } else if let Some(r) = l.strip_prefix("---@return ") {
                results.push(format!("{:?}", type_of_return(r)));
            }
        }
        writeln!(
            f,
            "    ({name:?}, &[{}], &[{}]),",
            params.join(", "),
            results.join(", ")
        )
        .unwrap();
    }
    writeln!(f, "];").unwrap();
}

/// The type of a `---@return` line: up to the first space outside `{...}` (a table shape).
fn type_of_return(r: &str) -> &str {
    let mut depth = 0;
    for (i, c) in r.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ' ' if depth == 0 => return &r[..i],
            _ => {}
        }
    }
    r
}
