//! `ctys.core`: version, logging, the module search path, the embedded Lua tree, and facts
//! about the running process (host name, terminals).
use std::path::PathBuf;

use log::Level;
use mlua::{Lua, Table};
use super::def;

use super::Text;
use crate::modules as embedded;

fn level(fname: &str, name: &str) -> mlua::Result<Level> {
    name.parse().map_err(|_| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'level': {name:?} (error, warn, info, debug, trace)")))
}

pub fn register(lua: &Lua, core: &Table, search_dirs: &[PathBuf]) -> mlua::Result<()> {
    core.set("version", env!("CARGO_PKG_VERSION"))?;
    core.set("exe", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "ctys".into()))?;
    def(lua, core, "log", |_, (Text(lvl), msg): (Text, mlua::LuaString)| {
        let msg = msg.to_string_lossy();
        log::log!(target: "ctys::lua", level("log", &lvl)?, "{msg}");
        Ok(())
    })?;
    def(lua, core, "log_enabled", |_, Text(lvl): Text| Ok(level("log_enabled", &lvl)? <= log::max_level()))?;
    def(lua, core, "set_log_level", |_, Text(lvl): Text| {
        log::set_max_level(level("set_log_level", &lvl)?.to_level_filter());
        Ok(())
    })?;
    let dirs: Vec<String> = search_dirs.iter().map(|d| d.display().to_string()).collect();
    core.set("lua_path", dirs)?;
    let dirs = search_dirs.to_vec();
    def(lua, core, "modules", move |_, prefix: Option<Text>| {
        let prefix = prefix.map(|t| t.0);
        let prefix = prefix.unwrap_or_default();
        let mut names = embedded::module_names(&dirs);
        names.retain(|n| n.starts_with(&prefix));
        Ok(names)
    })?;
    def(lua, core, "embedded", |_, Text(path): Text| Ok(embedded::file(&path)))?;
    def(lua, core, "embedded_files", |_, ()| Ok(embedded::FILES.iter().map(|(p, _)| *p).collect::<Vec<_>>()))?;
    def(lua, core, "uid", |_, user: Option<mlua::LuaString>| {
        use nix::unistd::{Uid, User};
        // A name that is not UTF-8 names no user ctys can look up.
        let found = match user.map(|u| super::utf8(&u)) {
            Some(None) => None,
            None => User::from_uid(nix::unistd::geteuid()).ok().flatten(),
            Some(Some(u)) => match u.parse::<u32>() {
                Ok(n) => User::from_uid(Uid::from_raw(n)).ok().flatten(),
                Err(_) => User::from_name(&u).ok().flatten(),
            },
        };
        Ok(found.map(|x| (x.uid.as_raw(), x.gid.as_raw())).unzip())
    })?;
    def(lua, core, "memory_limit", |lua, limit: Option<usize>| {
        // No limit given: what Lua uses now and the limit, else set it and return the old one.
        match limit {
            Some(l) => Ok((lua.set_memory_limit(l)?, lua.used_memory())),
            None => {
                let old = lua.set_memory_limit(0)?;
                lua.set_memory_limit(old)?;
                Ok((old, lua.used_memory()))
            }
        }
    })?;
    def(lua, core, "euid", |_, ()| Ok(crate::prim::fs::euid()))?;
    def(lua, core, "gid", |_, group: Option<mlua::LuaString>| {
        Ok(match group.map(|g| super::utf8(&g)) {
            None => Some(nix::unistd::getegid().as_raw()),
            Some(None) => None,
            Some(Some(g)) => g.parse().ok().or_else(|| nix::unistd::Group::from_name(&g).ok().flatten().map(|x| x.gid.as_raw())),
        })
    })?;
    def(lua, core, "user_name", |_, uid: Option<u32>| {
        let uid = uid.map(nix::unistd::Uid::from_raw).unwrap_or_else(nix::unistd::geteuid);
        Ok(nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name))
    })?;
    def(lua, core, "pid_alive", |_, pid: i32| {
        // A zombie still takes signal 0, but it is gone for every purpose here.
        let zombie = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
                .unwrap_or(false)
        };
        Ok(pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() && !zombie())
    })?;
    def(lua, core, "kill", |_, (pid, sig): (i32, Option<Text>)| {
        let sig = sig.map(|t| t.0);
        let sig: nix::sys::signal::Signal = sig.as_deref().unwrap_or("SIGTERM").parse().map_err(|_| mlua::Error::runtime("ctys.core.kill: bad argument 'signal': not a signal name (SIGTERM, SIGKILL, ...)"))?;
        Ok(pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok())
    })?;
    def(lua, core, "hostname", |_, ()| Ok(nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok())))?;
    def(lua, core, "isatty", |_, Text(stream): Text| {
        use std::io::IsTerminal;
        match stream.as_str() {
            "stdin" => Ok(std::io::stdin().is_terminal()),
            "stdout" => Ok(std::io::stdout().is_terminal()),
            "stderr" => Ok(std::io::stderr().is_terminal()),
            _ => Err(mlua::Error::runtime(format!("ctys.core.isatty: bad argument 'stream': {stream:?} (stdin, stdout, stderr)"))),
        }
    })?;
    Ok(())
}
