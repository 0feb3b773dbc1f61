//! `ctys.core.proc_run`: a program run from Lua on the blocking pool, so other tasks go on
//! meanwhile; a run whose Lua call goes away (an error, a signal) ends the program's group.
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mlua::{Lua, LuaString, MultiValue, Table};
use super::{def, def_async};

use super::{failure, ret, seconds};
use crate::prim::proc::{self, Request};

/// Sets the flag when dropped before the run finished (its future was dropped).
struct Cancel(Arc<AtomicBool>, bool);

impl Drop for Cancel {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn os(s: &LuaString) -> OsString {
    std::ffi::OsStr::from_bytes(&s.as_bytes()).to_owned()
}

fn argv_env(spec: &Table) -> mlua::Result<(Vec<OsString>, Vec<(OsString, OsString)>)> {
    let argv: Vec<OsString> = spec.get::<Vec<LuaString>>("argv")?.iter().map(os).collect();
    let env = match spec.get::<Option<Table>>("env")? {
        Some(t) => t.pairs::<LuaString, LuaString>().map(|kv| kv.map(|(k, v)| (os(&k), os(&v)))).collect::<mlua::Result<_>>()?,
        None => Vec::new(),
    };
    Ok((argv, env))
}

pub(super) const SPEC: super::spec::Schema =
    super::spec::Schema { class: "ctys.core.ProcSpec", fields: &["argv", "stdin", "env", "timeout", "max_output", "inherit"] };
pub(super) const SPAWN: super::spec::Schema = super::spec::Schema { class: "ctys.core.SpawnSpec", fields: &["argv", "env"] };

async fn run(lua: Lua, spec: Table) -> mlua::Result<MultiValue> {
    super::spec::check("proc_run", &spec, &SPEC)?;
    let (argv, env) = argv_env(&spec)?;
    let req = Request {
        argv,
        stdin: spec.get::<Option<LuaString>>("stdin")?.map(|s| s.as_bytes().to_vec()),
        env,
        timeout: spec.get::<Option<f64>>("timeout")?.map(|t| seconds("proc_run", "timeout", Some(t), 0.0)).transpose()?,
        max_output: spec.get::<Option<usize>>("max_output")?.unwrap_or(64 << 20),
        inherit: spec.get::<Option<bool>>("inherit")?.unwrap_or(false),
    };
    let flag = Arc::new(AtomicBool::new(false));
    let mut guard = Cancel(flag.clone(), false);
    let r = tokio::task::spawn_blocking(move || proc::run(&req, &flag)).await;
    guard.1 = true;
    let r = r.map_err(|e| mlua::Error::runtime(format!("ctys.core.proc_run: {e}")))?;
    match r {
        Ok(o) => {
            let t = lua.create_table()?;
            t.set("status", o.status)?;
            t.set("signal", o.signal)?;
            t.set("stdout", lua.create_string(&o.stdout)?)?;
            t.set("stderr", lua.create_string(&o.stderr)?)?;
            ret(&lua, Ok(t))
        }
        Err(e) => failure(&lua, e),
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "proc_run", run)?;
    def(lua, core, "proc_which", |lua, prog: LuaString| {
        let path = std::env::var_os("PATH");
        proc::which(&os(&prog), path.as_deref()).map(|p| lua.create_string(p.as_os_str().as_bytes())).transpose()
    })?;
    def(lua, core, "proc_spawn", |lua, spec: Table| {
        super::spec::check("proc_spawn", &spec, &SPAWN)?;
        let (argv, env) = argv_env(&spec)?;
        ret(lua, proc::spawn(&argv, &env))
    })
}
