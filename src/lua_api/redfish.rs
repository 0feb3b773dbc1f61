//! `ctys.core.redfish_*`: a Redfish system from Lua. The client blocks (HTTPS with bounded
//! waits), so each call runs on a thread of its own while the script's other tasks go on
//! (lua_api::remote::on_thread, cancelled with the call). The password is read here and never
//! passes through Lua.
use std::sync::atomic::AtomicBool;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::held::Held;
use super::remote::on_thread;
use super::{def_async, failure};
use crate::prim::failure::{Failure, Kind};
use crate::prim::http::{Client, Tls};
use crate::prim::redfish::{Config, Redfish};
use crate::prim::secret;

pub(super) const SPEC: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.RedfishSpec",
    fields: &["host", "port", "system", "user", "password_env", "password_file", "credentials", "prompt", "ca", "insecure", "timeout", "label"],
};

fn tls(t: &Table) -> mlua::Result<Tls> {
    Ok(Tls { ca: super::fs::path_field("redfish_open", t, "ca")?, insecure: t.get::<Option<bool>>("insecure")?.unwrap_or(false) })
}

fn label(t: &Table, host: &str, port: u16) -> mlua::Result<String> {
    Ok(super::text_field("redfish_open", t, "label")?.unwrap_or_else(|| format!("redfish {host}:{port}")))
}

/// A Config from a Lua spec; a password that cannot be found is `Err(message)`.
fn config(t: &Table) -> mlua::Result<Result<Config, String>> {
    let timeout = super::seconds("redfish_open", "timeout", t.get("timeout")?, 10.0)?;
    let host = super::text_field("redfish_open", t, "host")?.ok_or_else(|| mlua::Error::runtime("ctys.core.redfish_open: bad argument 'spec.host': missing"))?;
    let port: u16 = t.get::<Option<u16>>("port")?.unwrap_or(443);
    let user = super::text_field("redfish_open", t, "user")?.ok_or_else(|| mlua::Error::runtime("ctys.core.redfish_open: bad argument 'spec.user': missing"))?;
    let (tls, label, system) = (tls(t)?, label(t, &host, port)?, super::text_field("redfish_open", t, "system")?);
    let sources = secret::Sources {
        env: t.get("password_env")?,
        file: super::fs::path_field("redfish_open", t, "password_file")?,
        credentials: super::fs::path_field("redfish_open", t, "credentials")?,
        prompt: t.get::<Option<bool>>("prompt")?.unwrap_or(true),
    };
    Ok(secret::find(&sources, "password", &host, port, &user).map(|password| Config { host, port, system, user, password, tls, timeout, label }))
}

/// A logged-in system (see held.rs: one call at a time). The client moves to the call's thread
/// and back; a call the script abandoned takes it with it (dropped there: session deleted).
struct Bmc(Held<Option<Redfish>>);

impl Bmc {
    async fn run<R: Send + 'static>(
        &self,
        lua: &Lua,
        work: impl FnOnce(&mut Redfish, &AtomicBool) -> Result<R, Failure> + Send + 'static,
        out: impl FnOnce(&Lua, R) -> mlua::Result<MultiValue>,
    ) -> mlua::Result<MultiValue> {
        self.0
            .with(
                lua,
                async move |slot: &mut Option<Redfish>| {
                    let mut rf = slot.take().ok_or_else(|| Failure::new(Kind::Closed, "redfish: the session is closed"))?;
                    let (rf, r) = on_thread("redfish", move |cancel| {
                        let r = work(&mut rf, cancel);
                        (rf, r)
                    })
                    .await
                    .map_err(|e| Failure::new(Kind::Io, e.to_string()))?;
                    *slot = Some(rf);
                    r
                },
                out,
            )
            .await
    }
}

fn strings(lua: &Lua, v: &[String]) -> mlua::Result<Table> {
    lua.create_sequence_from(v.iter().map(String::as_str))
}

impl UserData for Bmc {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_async_method("power", |lua, this, (verb, wait): (String, Option<f64>)| async move {
            let wait = super::seconds("redfish_open", "wait", wait, 60.0)?;
            this.run(&lua, move |rf, cancel| rf.power(&verb, wait, cancel), |lua, s| s.into_lua_multi(lua)).await
        });
        m.add_async_method("system", |lua, this, ()| async move {
            this.run(
                &lua,
                |rf, _| {
                    let sys = rf.system()?;
                    let resets = rf.allowed_resets(&sys)?;
                    Ok((sys, resets, rf.path.clone(), rf.has_session()))
                },
                |lua, (sys, resets, path, session)| {
                    let t = lua.create_table()?;
                    for k in ["Id", "Name", "UUID", "PowerState", "Manufacturer", "Model", "SerialNumber"] {
                        if let Some(v) = sys.get(k).and_then(serde_json::Value::as_str) {
                            t.set(k.to_ascii_lowercase().replace("powerstate", "power").replace("serialnumber", "serial"), v)?;
                        }
                    }
                    t.set("path", path)?;
                    t.set("resets", strings(lua, &resets)?)?;
                    t.set("session", session)?;
                    t.into_lua_multi(lua)
                },
            )
            .await
        });
        m.add_async_method("boot", |lua, this, ()| async move {
            this.run(&lua, |rf, _| rf.boot(), |lua, b| {
                let t = lua.create_table()?;
                t.set("target", b.target)?;
                t.set("enabled", b.enabled)?;
                t.set("mode", b.mode)?;
                t.set("allowed", strings(lua, &b.allowed)?)?;
                t.into_lua_multi(lua)
            })
            .await
        });
        m.add_async_method("set_boot", |lua, this, (dev, once, mode): (String, bool, Option<String>)| async move {
            this.run(&lua, move |rf, _| rf.set_boot(&dev, once, mode.as_deref()), |lua, ()| true.into_lua_multi(lua)).await
        });
        m.add_async_method("identify", |lua, this, on: bool| async move {
            this.run(&lua, move |rf, _| rf.identify(on), |lua, ()| true.into_lua_multi(lua)).await
        });
        m.add_async_method("close", |_, this, ()| async move {
            if let Some(Some(rf)) = this.0.take() {
                // The session's DELETE is a request too: off the script's thread.
                let _ = on_thread("redfish", move |_| drop(rf)).await;
            }
            Ok(())
        });
    }
}

async fn open(lua: Lua, t: Table) -> mlua::Result<MultiValue> {
    super::spec::check("redfish_open", &t, &SPEC)?;
    let cfg = match config(&t)? {
        Ok(c) => c,
        Err(e) => return (Value::Nil, e, "secret").into_lua_multi(&lua),
    };
    let label = cfg.label.clone();
    match on_thread("redfish", move |_| Redfish::open(&cfg)).await? {
        Ok(rf) => Bmc(Held::new(Some(rf), label)).into_lua_multi(&lua),
        Err(e) => failure(&lua, e),
    }
}

/// Whether a Redfish service answers at host:port: its service root read without credentials.
async fn probe(lua: Lua, t: Table) -> mlua::Result<MultiValue> {
    super::spec::check("redfish_probe", &t, &SPEC)?;
    let host = super::text_field("redfish_probe", &t, "host")?.ok_or_else(|| mlua::Error::runtime("ctys.core.redfish_probe: bad argument 'spec.host': missing"))?;
    let port: u16 = t.get::<Option<u16>>("port")?.unwrap_or(443);
    let timeout = super::seconds("redfish_probe", "timeout", t.get("timeout")?, 3.0)?;
    let (tls, label) = (tls(&t)?, label(&t, &host, port)?);
    let r = on_thread("redfish", move |_| {
        let mut c = Client::new(&host, port, &tls, timeout, &label)?;
        c.max_body = 1 << 20;
        let r = c.request("GET", "/redfish/v1/", &[], None)?;
        let v: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
        if r.status == 200 && v.as_ref().is_some_and(|v| v.get("RedfishVersion").is_some() || v.get("Systems").is_some()) {
            Ok(())
        } else {
            Err(Failure::new(Kind::Protocol, format!("{label}: no Redfish service root (HTTP {})", r.status)))
        }
    })
    .await?;
    match r {
        Ok(()) => true.into_lua_multi(&lua),
        Err(e) => failure(&lua, e),
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "redfish_open", open)?;
    def_async(lua, core, "redfish_probe", probe)?;
    Ok(())
}
