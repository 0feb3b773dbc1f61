//! The option tables the bindings take: each binding declares its fields once, next to the code
//! that reads them. A key it does not list is refused (a misspelt option is an error, not
//! silently ignored), and `ctys.core.schema` shows every table's fields, so the stubs in
//! lua/meta are checked against the code (tests/lua/meta_spec.lua).
use mlua::{Lua, Table, Value};

/// One option table: its class in lua/meta and its fields.
pub(crate) struct Schema {
    pub class: &'static str,
    pub fields: &'static [&'static str],
}

/// Refuses a key `schema` does not list (or one that is not a string), naming it.
pub(crate) fn check(fname: &str, t: &Table, schema: &Schema) -> mlua::Result<()> {
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let known = match &k {
            Value::String(s) => schema.fields.iter().any(|f| s.as_bytes() == f.as_bytes()),
            _ => false,
        };
        if !known {
            let shown = match &k {
                Value::String(s) => format!("'{}'", s.to_string_lossy()),
                other => format!("(a key of type {})", other.type_name()),
            };
            return Err(mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec': unknown field {shown} ({})", schema.class)));
        }
    }
    Ok(())
}

/// `ctys.core.schema`: class name → its fields.
pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    let all = lua.create_table()?;
    for s in [
        &super::remote::SPEC, &super::remote::CONSOLE, &super::remote::TARGET, &super::wol::SPEC, &super::ipmi::SPEC, &super::proc::SPEC,
        &super::proc::SPAWN, &super::vde::FILES, &super::vde::START, &super::vde::OWN, &super::vde::REMOVE, &super::net::TAP,
        &super::net::ROUTE, &super::net::LINK, &super::remote::ONE_HOST, &super::redfish::SPEC,
    ] {
        all.set(s.class, s.fields.to_vec())?;
    }
    core.set("schema", all)
}
