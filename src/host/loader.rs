//! The module searcher: site directories first (`--lua-path`, `CTYS_LUA_PATH`, `~/.ctys/lua`,
//! `/etc/ctys/lua`), then the embedded copies. `builtin.<name>` always loads the embedded copy,
//! so a site override can wrap the original instead of copying it.
use std::io::Read;
use std::path::{Path, PathBuf};

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table};

use crate::modules as embedded;

/// Installs the searcher as `package.searchers[2]`, right after `package.preload`.
pub fn install(lua: &Lua, dirs: Vec<PathBuf>) -> mlua::Result<()> {
    let searcher = lua.create_function(move |lua, name: mlua::LuaString| search(lua, &dirs, &name.to_string_lossy()))?;
    let package: Table = lua.globals().get("package")?;
    let searchers: Table = package.get("searchers")?;
    searchers.raw_insert(2, searcher)
}

fn search(lua: &Lua, dirs: &[PathBuf], name: &str) -> mlua::Result<MultiValue> {
    let mut tried = Vec::new();
    let embedded_name = match name.strip_prefix("builtin.") {
        Some(inner) => inner,
        None => {
            for dir in dirs {
                for cand in embedded::candidates(name) {
                    let path = dir.join(cand);
                    if path.is_file() {
                        return load_file(lua, name, &path);
                    }
                    tried.push(format!("no file '{}'", path.display()));
                }
            }
            name
        }
    };
    if let Some((path, code)) = embedded::module(embedded_name) {
        // Built into the binary by build.rs: bytecode is trusted here, and never elsewhere.
        let f = lua.load(code).set_mode(mlua::chunk::ChunkMode::Binary).into_function().map_err(|e| {
            mlua::Error::runtime(format!("error loading built-in module '{name}' ({path}): {e}"))
        })?;
        return (f, path).into_lua_multi(lua);
    }
    tried.push(format!("no embedded module '{embedded_name}'"));
    tried.join("\n\t").into_lua_multi(lua)
}

/// The most bytes a script or module may have: /dev/zero given as a script is an error, not
/// all the memory there is.
const MAX_SOURCE: u64 = 64 << 20;

/// A script's or module's source from `r`, at most MAX_SOURCE bytes (a pipe works: `ctys <(...)`).
pub fn read_source(r: impl Read, shown: &str) -> Result<Vec<u8>, String> {
    let mut src = Vec::new();
    r.take(MAX_SOURCE + 1).read_to_end(&mut src).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if src.len() as u64 > MAX_SOURCE {
        return Err(format!("{shown} holds more than {} MiB: not a Lua source", MAX_SOURCE >> 20));
    }
    Ok(src)
}

fn load_file(lua: &Lua, name: &str, path: &Path) -> mlua::Result<MultiValue> {
    let shown = path.display().to_string();
    let src = std::fs::File::open(path).map_err(|e| e.to_string()).and_then(|f| read_source(f, &shown)).map_err(|e| {
        mlua::Error::runtime(format!("error loading module '{name}' from file '{shown}': {e}"))
    })?;
    let f = load(lua, name, &src, &format!("@{shown}"), &shown)?;
    (f, shown).into_lua_multi(lua)
}

/// Source text only: a module file that holds a binary chunk is refused, not run (a corrupt one
/// would crash the process).
fn load(lua: &Lua, name: &str, src: impl AsRef<[u8]>, chunk: &str, shown: &str) -> mlua::Result<Function> {
    lua.load(src.as_ref()).set_name(chunk).set_mode(mlua::chunk::ChunkMode::Text).into_function().map_err(|e| {
        mlua::Error::runtime(format!("error loading module '{name}' from file '{shown}':\n\t{e}"))
    })
}
