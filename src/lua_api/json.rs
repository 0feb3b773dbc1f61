//! JSON values (serde_json) to Lua and back, for the protocols that speak JSON (QMP).
use mlua::{Lua, Table, Value};
use serde_json::{Map, Number, Value as Json};

/// Nesting deeper than this is refused both ways (a hostile reply cannot exhaust the stack).
const MAX_DEPTH: usize = 64;

/// A JSON value as Lua: objects and arrays become tables, null becomes nil (so `{"a": null}` is
/// `{}`), integers stay integers.
pub(crate) fn to_lua(lua: &Lua, v: &Json) -> mlua::Result<Value> {
    to_lua_at(lua, v, 0)
}

fn to_lua_at(lua: &Lua, v: &Json, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!("JSON nested deeper than {MAX_DEPTH}")));
    }
    Ok(match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => n.as_i64().map_or_else(|| Value::Number(n.as_f64().unwrap_or(f64::NAN)), Value::Integer),
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for x in a {
                t.raw_push(to_lua_at(lua, x, depth + 1)?)?;
            }
            Value::Table(t)
        }
        Json::Object(o) => {
            let t = lua.create_table_with_capacity(0, o.len())?;
            for (k, x) in o {
                t.raw_set(k.as_str(), to_lua_at(lua, x, depth + 1)?)?;
            }
            Value::Table(t)
        }
    })
}

/// A Lua value as JSON, or why not (`what` names the argument in the message): a table with keys
/// 1..n is an array, one with string keys an object; `{}` is an object.
pub(crate) fn from_lua(v: &Value, what: &str) -> Result<Json, String> {
    from_lua_at(v, what, 0)
}

fn from_lua_at(v: &Value, what: &str, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{what}: nested deeper than {MAX_DEPTH}"));
    }
    Ok(match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number((*i).into()),
        Value::Number(n) => Json::Number(Number::from_f64(*n).ok_or_else(|| format!("{what}: {n} is not a JSON number"))?),
        Value::String(s) => Json::String(std::str::from_utf8(&s.as_bytes()).map_err(|_| format!("{what}: a string that is not UTF-8"))?.to_owned()),
        Value::Table(t) => table(t, what, depth)?,
        other => return Err(format!("{what}: a {} has no JSON form", other.type_name())),
    })
}

fn table(t: &Table, what: &str, depth: usize) -> Result<Json, String> {
    let n = t.raw_len();
    let mut count = 0;
    let mut object = Map::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| format!("{what}: {e}"))?;
        count += 1;
        match k {
            Value::String(s) => {
                let key = std::str::from_utf8(&s.as_bytes()).map_err(|_| format!("{what}: a key that is not UTF-8"))?.to_owned();
                let inner = from_lua_at(&v, &format!("{what}.{key}"), depth + 1)?;
                object.insert(key, inner);
            }
            Value::Integer(i) if i >= 1 && (i as usize) <= n => {}
            other => return Err(format!("{what}: a key of type {} has no JSON form", other.type_name())),
        }
    }
    if n > 0 && count == n && object.is_empty() {
        let items = (1..=n).map(|i| t.raw_get::<Value>(i).map_err(|e| e.to_string()).and_then(|v| from_lua_at(&v, &format!("{what}[{i}]"), depth + 1)));
        return items.collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    if n > 0 {
        return Err(format!("{what}: a table mixing a list and named keys"));
    }
    Ok(Json::Object(object))
}
