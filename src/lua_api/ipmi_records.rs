//! The BMC's records as Lua tables: SEL info and entries, sensors with their readings (the
//! `sel_*` and `sensors` methods of an IPMI handle, see ipmi.rs).
use mlua::{Lua, Table};

use crate::prim::ipmi::sdr::{self, Reading, Sensor};
use crate::prim::ipmi::sel::{self, Entry, Info};

pub(super) fn info(lua: &Lua, i: Info) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("version", format!("{}.{}", i.version & 0x0f, i.version >> 4))?;
    t.set("entries", i.entries)?;
    t.set("free_bytes", i.free_bytes)?;
    // 0xffffffff: never (IPMI's "unspecified" timestamp).
    t.set("last_add", (i.last_add != u32::MAX).then_some(i.last_add))?;
    t.set("last_erase", (i.last_erase != u32::MAX).then_some(i.last_erase))?;
    Ok(t)
}

pub(super) fn entries(lua: &Lua, list: Vec<Entry>) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    for e in list {
        let t = lua.create_table()?;
        t.set("id", e.id)?;
        t.set("record_type", e.record_type)?;
        // Timestamps below 0x20000000 count seconds since the BMC started (IPMI 2.0 §37).
        t.set("time", e.timestamp.filter(|s| *s != u32::MAX && *s >= 0x2000_0000))?;
        t.set("since_init", e.timestamp.filter(|s| *s < 0x2000_0000))?;
        t.set("sensor_type", sel::sensor_type_name(e.sensor_type))?;
        t.set("sensor_type_code", e.sensor_type)?;
        t.set("sensor_number", e.sensor_number)?;
        t.set("event_type", e.event_type)?;
        t.set("event", sel::event_description(&e))?;
        t.set("asserted", e.asserted)?;
        t.set("generator", e.generator)?;
        t.set("data", format!("{:02x} {:02x} {:02x}", e.data[0], e.data[1], e.data[2]))?;
        out.push(t)?;
    }
    Ok(out)
}

pub(super) fn sensor(lua: &Lua, s: &Sensor, r: Option<(Reading, Vec<(&'static str, f64)>)>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("name", s.name.as_str())?;
    t.set("number", s.number)?;
    t.set("owner", s.owner)?;
    t.set("type", sel::sensor_type_name(s.sensor_type))?;
    t.set("unit", if s.percentage { "percent".to_string() } else { sdr::unit_name(s.unit) })?;
    t.set("threshold_based", s.event_type == 0x01)?;
    match r {
        Some((reading, thresholds)) => {
            t.set("raw", reading.raw)?;
            t.set("value", reading.value)?;
            t.set("status", sdr::status_name(&reading))?;
            let th = lua.create_table()?;
            for (name, v) in thresholds {
                th.set(name, v)?;
            }
            t.set("thresholds", th)?;
        }
        None => t.set("status", "na")?,
    }
    Ok(t)
}
