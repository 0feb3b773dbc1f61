//! `ctys.core.ipmi_*`: BMC sessions from Lua. Secrets are read here, from the sources the spec
//! names, and never pass through Lua.

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataMethods, Value};
use super::def_async;

use crate::prim::ipmi::chassis::{BootFlags, ChassisStatus, DeviceId};
use super::failure;
use super::held::Held;
use crate::prim::ipmi::{self, Config, Session};
use crate::prim::secret;

/// Where a secret may come from: only the sources the spec names (the defaults are Lua's).
fn sources(t: &Table, prefix: &str) -> mlua::Result<secret::Sources> {
    let env: Option<String> = t.get(format!("{prefix}_env"))?;
    let credentials = super::fs::path_field("ipmi_open", t, "credentials")?;
    let file = super::fs::path_field("ipmi_open", t, &format!("{prefix}_file"))?;
    let prompt = if prefix == "password" { t.get::<Option<bool>>("prompt")?.unwrap_or(true) } else { t.get::<Option<bool>>("kg_prompt")?.unwrap_or(false) };
    Ok(secret::Sources { env, file, credentials: if prefix == "password" { credentials } else { None }, prompt })
}

/// A Config from a Lua spec; secret lookup failures are `Err(message)` (expected failures).
fn config(t: &Table) -> mlua::Result<Result<Config, String>> {
    // Every plain value is checked before a secret is looked up (which may prompt).
    let timeout = super::seconds("ipmi_open", "timeout", t.get("timeout")?, 1.0)?;
    let host = super::text_field("ipmi_open", t, "host")?.ok_or_else(|| mlua::Error::runtime("ctys.core.ipmi_open: bad argument 'spec.host': missing"))?;
    let port: u16 = t.get::<Option<u16>>("port")?.unwrap_or(623);
    let user = super::text_field("ipmi_open", t, "user")?.ok_or_else(|| mlua::Error::runtime("ctys.core.ipmi_open: bad argument 'spec.user': missing"))?;
    let password = match secret::find(&sources(t, "password")?, "password", &host, port, &user) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let kg_wanted = t.get::<Option<String>>("kg_env")?.is_some()
        || t.get::<Option<String>>("kg_file")?.is_some()
        || t.get::<Option<bool>>("kg_prompt")?.unwrap_or(false);
    let kg = if kg_wanted {
        match secret::find(&sources(t, "kg")?, "K_g", &host, port, &user).and_then(secret::kg_bytes) {
            Ok(k) => Some(k),
            Err(e) => return Ok(Err(e)),
        }
    } else {
        None
    };
    let label = super::text_field("ipmi_open", t, "label")?.unwrap_or_else(|| format!("ipmi {host}:{port}"));
    Ok(Ok(Config {
        host,
        port,
        user,
        password,
        kg,
        privilege: t.get::<Option<u8>>("privilege")?.unwrap_or(4),
        cipher: t.get("cipher")?,
        lan15: t.get::<Option<String>>("interface")?.as_deref() == Some("lan"),
        v15_auth: match t.get::<Option<String>>("auth")?.as_deref() {
            Some("md5") => Some(ipmi::wire::AUTH_MD5),
            Some("straight") => Some(ipmi::wire::AUTH_STRAIGHT),
            Some(other) => return Err(mlua::Error::runtime(format!("ctys.core.ipmi_open: bad argument 'auth': {other:?} (md5, straight)"))),
            None => None,
        },
        timeout,
        tries: t.get::<Option<u32>>("retries")?.unwrap_or(4),
        label,
    }))
}

/// An open session (see held.rs: one call at a time).
struct Bmc(std::rc::Rc<Held<Session>>);

/// The short-reply failure, as the other protocol failures look.
fn short(lua: &Lua, what: &str) -> mlua::Result<MultiValue> {
    (Value::Nil, format!("ipmi: short {what} response"), "protocol").into_lua_multi(lua)
}

fn status_table(lua: &Lua, s: ChassisStatus) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("power", if s.power { "on" } else { "off" })?;
    t.set("overload", s.overload)?;
    t.set("interlock", s.interlock)?;
    t.set("power_fault", s.power_fault)?;
    t.set("control_fault", s.control_fault)?;
    t.set("restore_policy", s.restore_policy)?;
    t.set("intrusion", s.intrusion)?;
    t.set("front_panel_lockout", s.front_panel_lockout)?;
    t.set("drive_fault", s.drive_fault)?;
    t.set("cooling_fault", s.cooling_fault)?;
    t.set("identify", s.identify)?;
    Ok(t)
}

impl UserData for Bmc {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_async_method("raw", |lua, this, (netfn, cmd, data): (u8, u8, Option<mlua::LuaString>)| async move {
            let data = data.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
            this.0.with(&lua, async move |s| s.cmd(netfn, cmd, &data).await, |lua, v| lua.create_string(&v)?.into_lua_multi(lua)).await
        });
        m.add_async_method("power", |lua, this, action: String| async move {
            if action == "status" {
                return this.0.with(&lua, async |s| s.cmd(0x00, 0x01, &[]).await, |lua, d| match ChassisStatus::decode(&d) {
                    Some(s) => (if s.power { "on" } else { "off" }).into_lua_multi(lua),
                    None => short(lua, "Get Chassis Status"),
                })
                .await;
            }
            let code = ipmi::control_code(&action)
                .ok_or_else(|| mlua::Error::runtime(format!("ctys.core.ipmi_open: bmc:power: bad argument 'action': {action:?} (status, on, off, cycle, reset, soft, diag)")))?;
            this.0.with(&lua, async move |s| s.cmd(0x00, 0x02, &[code]).await, |lua, _| true.into_lua_multi(lua)).await
        });
        m.add_async_method("chassis_status", |lua, this, ()| async move {
            this.0.with(&lua, async |s| s.cmd(0x00, 0x01, &[]).await, |lua, d| match ChassisStatus::decode(&d) {
                Some(s) => status_table(lua, s)?.into_lua_multi(lua),
                None => short(lua, "Get Chassis Status"),
            })
            .await
        });
        m.add_async_method("identify", |lua, this, (secs, force): (Option<u8>, Option<bool>)| async move {
            let data = if force.unwrap_or(false) { vec![secs.unwrap_or(15), 1] } else { vec![secs.unwrap_or(15)] };
            this.0.with(&lua, async move |s| s.cmd(0x00, 0x04, &data).await, |lua, _| true.into_lua_multi(lua)).await
        });
        m.add_async_method("device_id", |lua, this, ()| async move {
            this.0.with(&lua, async |s| s.cmd(0x06, 0x01, &[]).await, |lua, d| {
                let Some(id) = DeviceId::decode(&d) else { return short(lua, "Get Device ID") };
                let t = lua.create_table()?;
                t.set("device_id", id.device_id)?;
                t.set("device_revision", id.device_revision)?;
                t.set("firmware", id.firmware)?;
                t.set("ipmi_version", id.ipmi_version)?;
                t.set("manufacturer_id", id.manufacturer_id)?;
                t.set("product_id", id.product_id)?;
                t.into_lua_multi(lua)
            })
            .await
        });
        m.add_async_method("bootdev", |lua, this, (dev, opts): (Option<String>, Option<Table>)| async move {
            let Some(dev) = dev else {
                // Get System Boot Options, parameter 5 (boot flags).
                return this.0.with(&lua, async |s| s.cmd(0x00, 0x09, &[5, 0, 0]).await, |lua, d| {
                    let f = BootFlags::decode(&d);
                    let t = lua.create_table()?;
                    t.set("valid", f.valid)?;
                    t.set("persistent", f.persistent)?;
                    t.set("efi", f.efi)?;
                    t.set("device", f.device)?;
                    t.into_lua_multi(lua)
                })
                .await;
            };
            let code = ipmi::boot_device(&dev)
                .ok_or_else(|| mlua::Error::runtime(format!("ctys.core.ipmi_open: bmc:bootdev: bad argument 'device': {dev:?} (none, pxe, disk, cdrom, bios, safe, diag, floppy)")))?;
            let (persistent, efi) = match &opts {
                Some(o) => (o.get::<Option<bool>>("persistent")?.unwrap_or(false), o.get::<Option<bool>>("efi")?.unwrap_or(false)),
                None => (false, false),
            };
            let data = BootFlags::request(code, persistent, efi);
            this.0.with(&lua, async move |s| s.cmd(0x00, 0x08, &data).await, |lua, _| true.into_lua_multi(lua)).await
        });
        m.add_method("suite", |_, this, ()| Ok(this.0.peek(Session::suite).flatten()));
        m.add_async_method("sel_info", |lua, this, ()| async move {
            this.0.with(&lua, async |s| s.sel_info().await, |lua, i| super::ipmi_records::info(lua, i)?.into_lua_multi(lua)).await
        });
        m.add_async_method("sel_list", |lua, this, ()| async move {
            this.0.with(&lua, async |s| s.sel_list().await, |lua, l| super::ipmi_records::entries(lua, l)?.into_lua_multi(lua)).await
        });
        m.add_async_method("sel_clear", |lua, this, ()| async move {
            this.0.with(&lua, async |s| s.sel_clear().await, |lua, _| true.into_lua_multi(lua)).await
        });
        // Every sensor of the SDR repository with its reading now (one at a time).
        m.add_async_method("sensors", |lua, this, ()| async move {
            let read = async |s: &mut Session| {
                let mut out = Vec::new();
                for sensor in s.sdr_sensors().await? {
                    let r = s.sensor_reading(&sensor).await?;
                    out.push((sensor, r));
                }
                Ok(out)
            };
            this.0
                .with(&lua, read, |lua, list| {
                    let t = lua.create_table()?;
                    for (s, r) in list {
                        t.push(super::ipmi_records::sensor(lua, &s, r)?)?;
                    }
                    t.into_lua_multi(lua)
                })
                .await
        });
        // The serial console (see sol.rs); `force` takes it over from another session.
        m.add_async_method("sol", |lua, this, opts: Option<Table>| async move {
            let force = match &opts {
                Some(o) => {
                    super::spec::check("ipmi_open: bmc:sol", o, &SOL_OPTS)?;
                    o.get::<Option<bool>>("force")?.unwrap_or(false)
                }
                None => false,
            };
            let held = this.0.clone();
            this.0.with(&lua, async move |s| s.sol_activate(force).await, move |lua, _| super::sol::Console::new(held).into_lua_multi(lua)).await
        });
        m.add_async_method("close", |_, this, ()| async move {
            let taken = this.0.take();
            if let Some(mut s) = taken {
                s.close().await;
            }
            Ok(())
        });
    }
}

const SOL_OPTS: super::spec::Schema = super::spec::Schema { class: "ctys.core.SolOpts", fields: &["force"] };

pub(super) const SPEC: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.IpmiSpec",
    fields: &[
        "host", "port", "user", "password_env", "password_file", "credentials", "prompt", "kg_env", "kg_file", "kg_prompt",
        "privilege", "cipher", "interface", "auth", "timeout", "retries", "label",
    ],
};

async fn open(lua: Lua, t: Table) -> mlua::Result<MultiValue> {
    super::spec::check("ipmi_open", &t, &SPEC)?;
    let cfg = match config(&t)? {
        Ok(c) => c,
        Err(e) => return (Value::Nil, e, "secret").into_lua_multi(&lua),
    };
    let label = cfg.label.clone();
    match Session::open(&cfg).await {
        Ok(s) => Bmc(std::rc::Rc::new(Held::new(s, label))).into_lua_multi(&lua),
        Err(e) => failure(&lua, e),
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "ipmi_open", open)?;
    def_async(lua, core, "ipmi_ping", |lua, (super::Text(host), port, timeout, tries): (super::Text, Option<u16>, Option<f64>, Option<u32>)| async move {
        let t = super::seconds("ipmi_ping", "timeout", timeout, 1.0)?;
        match ipmi::presence_ping(&host, port.unwrap_or(623), t, tries.unwrap_or(3)).await {
            Ok(ipmi) => (true, ipmi).into_lua_multi(&lua),
            Err(e) => failure(&lua, e),
        }
    })?;
    Ok(())
}
