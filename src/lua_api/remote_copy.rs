//! `ctys.core.remote_copy` and `remote_fetch`: files to and from many hosts over SFTP on the
//! kept sessions, on threads of their own (a script stays responsive; an interrupted script
//! cancels the transfers, whose temporary files then go).
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mlua::{IntoLuaMulti, Lua, Table, Value};

use super::def_async;
use super::remote::{on_thread, overrides, secs, ssh_config, target, OVERRIDES};
use crate::prim::remote::copy::{self, Copied, Put};
use crate::prim::remote::gateway::Routed;
use crate::prim::remote::{fanout, tree};
use crate::prim::remote::{resolve, Env, RemoteError, Settings, Target};

pub(super) const COPY: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.CopySpec",
    fields: &["targets", "src", "dest", "mode", "preserve", "fanout", "timeout", "routes", "gateway_cmd",
        OVERRIDES[0], OVERRIDES[1], OVERRIDES[2], OVERRIDES[3], OVERRIDES[4], OVERRIDES[5], OVERRIDES[6]],
};
pub(super) const FETCH: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.FetchSpec",
    fields: &["targets", "src", "dest", "fanout", "timeout", OVERRIDES[0], OVERRIDES[1], OVERRIDES[2], OVERRIDES[3], OVERRIDES[4], OVERRIDES[5], OVERRIDES[6]],
};

/// Targets resolved to settings, with their labels; or the unreadable ssh_config's message.
fn hosts(fname: &str, spec: &Table) -> mlua::Result<Result<(Vec<String>, Vec<Result<Settings, RemoteError>>), String>> {
    let targets: Vec<Target> = spec.get::<Vec<Table>>("targets")?.into_iter().map(|t| target(fname, t)).collect::<mlua::Result<_>>()?;
    let o = overrides(fname, spec)?;
    let penv = Env::from_process();
    let cfg = match ssh_config(fname, spec, &penv)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok((targets.iter().map(Target::label).collect(), targets.iter().map(|t| resolve(t, &o, &cfg, &penv)).collect())))
}

/// Runs `job` over the hosts on a thread of its own and returns the per-host results as Lua.
async fn fan_out(
    lua: &Lua,
    labels: Vec<String>,
    hosts: Vec<Result<Settings, RemoteError>>,
    fanout: usize,
    op_timeout: Duration,
    job: impl Fn(&crate::prim::remote::Conn, ssh2::Sftp, &AtomicBool) -> Result<Copied, RemoteError> + Send + Sync + 'static,
) -> mlua::Result<mlua::MultiValue> {
    let results = on_thread("copy", move |cancel| fanout::each(&hosts, fanout, cancel, &|c| copy::open(c, op_timeout), &|c, sftp| job(c, sftp, cancel))).await?;
    as_lua(lua, &labels, results)
}

/// A copy to hosts of which some sit behind gateways (tree.rs), as `fan_out` returns it.
async fn through_gateways(lua: &Lua, spec: &Table, routed: Vec<Routed>, put: Put) -> mlua::Result<mlua::MultiValue> {
    let labels: Vec<String> = routed.iter().map(|r| r.target.label()).collect();
    let o = overrides("remote_copy", spec)?;
    let gateway_cmd = super::text_field("remote_copy", spec, "gateway_cmd")?
        .ok_or_else(|| mlua::Error::runtime("ctys.core.remote_copy: bad argument 'spec.gateway_cmd': needed with routes"))?;
    let penv = Env::from_process();
    let cfg = match ssh_config("remote_copy", spec, &penv)? {
        Ok(c) => c,
        Err(e) => return (Value::Nil, e, "resolve").into_lua_multi(lua),
    };
    let fanout = spec.get::<Option<usize>>("fanout")?.unwrap_or(64);
    let results = on_thread("copy", move |cancel| {
        let resolve_one = |t: &Target| resolve(t, &o, &cfg, &penv);
        let t = tree::Tree { resolve: &resolve_one, gateway_cmd: &gateway_cmd, overrides: &o };
        tree::run(&routed, tree::Work::Copy(&put), fanout, fanout::Output::Quiet, &t, cancel, &|_| {})
    })
    .await?;
    as_lua(lua, &labels, results.into_iter().map(|r| r.error.map_or_else(|| Ok(r.copied.unwrap_or_default()), Err)).collect())
}

/// Per-host copy results as Lua tables.
fn as_lua(lua: &Lua, labels: &[String], results: Vec<Result<Copied, RemoteError>>) -> mlua::Result<mlua::MultiValue> {
    let list = lua.create_table()?;
    for (i, r) in results.into_iter().enumerate() {
        let t = lua.create_table()?;
        t.set("host", labels[i].as_str())?;
        match r {
            Ok(c) => {
                t.set("files", c.files)?;
                t.set("bytes", c.bytes)?;
                t.set("paths", c.paths)?;
            }
            Err(e) => {
                t.set("err", e.message)?;
                t.set("kind", e.kind.name())?;
            }
        }
        list.raw_set(i + 1, t)?;
    }
    list.into_lua_multi(lua)
}

fn op_timeout(fname: &str, spec: &Table) -> mlua::Result<Duration> {
    Ok(secs(fname, spec.get("timeout")?, "timeout")?.unwrap_or(Duration::from_secs(30)))
}

async fn remote_copy(lua: Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_copy", &spec, &COPY)?;
    let srcs: Vec<PathBuf> = spec
        .get::<Vec<Value>>("src")?
        .into_iter()
        .map(|v| super::fs::path_value(v).map_err(|e| mlua::Error::runtime(format!("ctys.core.remote_copy: bad argument 'spec.src': {e}"))))
        .collect::<mlua::Result<_>>()?;
    let dest = super::text_field("remote_copy", &spec, "dest")?.ok_or_else(|| mlua::Error::runtime("ctys.core.remote_copy: bad argument 'spec.dest': missing"))?;
    let put = Put { srcs, dest, mode: spec.get("mode")?, preserve: spec.get::<Option<bool>>("preserve")?.unwrap_or(false), op_timeout: op_timeout("remote_copy", &spec)? };
    let targets: Vec<Target> = spec.get::<Vec<Table>>("targets")?.into_iter().map(|t| target("remote_copy", t)).collect::<mlua::Result<_>>()?;
    if let Some(routed) = super::remote::routes(&lua, "remote_copy", &spec, &targets)? {
        return through_gateways(&lua, &spec, routed, put).await;
    }
    let (labels, hosts) = match hosts("remote_copy", &spec)? {
        Ok(h) => h,
        Err(e) => return (Value::Nil, e, "resolve").into_lua_multi(&lua),
    };
    let fanout = spec.get::<Option<usize>>("fanout")?.unwrap_or(64);
    let t = put.op_timeout;
    fan_out(&lua, labels, hosts, fanout, t, move |c, sftp, cancel| copy::put(c, &sftp, &put, cancel)).await
}

async fn remote_fetch(lua: Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_fetch", &spec, &FETCH)?;
    let src = super::text_field("remote_fetch", &spec, "src")?.ok_or_else(|| mlua::Error::runtime("ctys.core.remote_fetch: bad argument 'spec.src': missing"))?;
    let dest = super::fs::path_field("remote_fetch", &spec, "dest")?.ok_or_else(|| mlua::Error::runtime("ctys.core.remote_fetch: bad argument 'spec.dest': missing"))?;
    let (labels, hosts) = match hosts("remote_fetch", &spec)? {
        Ok(h) => h,
        Err(e) => return (Value::Nil, e, "resolve").into_lua_multi(&lua),
    };
    let fanout = spec.get::<Option<usize>>("fanout")?.unwrap_or(64);
    let t = op_timeout("remote_fetch", &spec)?;
    fan_out(&lua, labels, hosts, fanout, t, move |c, sftp, cancel| copy::get(c, &sftp, &src, &dest.join(c.label()), cancel)).await
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "remote_copy", remote_copy)?;
    def_async(lua, core, "remote_fetch", remote_fetch)
}
