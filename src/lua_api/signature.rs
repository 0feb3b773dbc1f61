//! Each `ctys.core` function is declared once, in its stub in `lua/meta/ctys.d.lua`; build.rs reads
//! the stubs and `def`/`def_async` bind every function to its declaration. Arguments are checked
//! against the declared types before Rust converts them, so misuse always reads
//! `ctys.core.<fn>: bad argument '<name>': ...`, never mlua's own wording; in debug builds (the
//! test suite) the results are checked too, so a stub whose types or result count drift from the
//! code fails the tests that call it.
use std::future::Future;
use std::rc::Rc;

use mlua::{FromLuaMulti, IntoLuaMulti, Lua, MultiValue, Table, Value};

include!(concat!(env!("OUT_DIR"), "/signatures.rs"));

/// One alternative of a LuaCATS type.
#[derive(Debug, PartialEq)]
enum Alt {
    Any,
    Nil,
    Boolean,
    Literal(bool),
    String,
    Text(&'static str),
    Number,
    Integer,
    Table,
    Function,
    Userdata,
    /// A `ctys.core.*` class: an option table or a handle.
    Object,
}

/// A declared type: its text (for messages) and its alternatives.
struct Type {
    text: &'static str,
    alts: Vec<Alt>,
}

impl Type {
    fn parse(text: &'static str) -> Result<Type, String> {
        let (body, optional) = text.strip_suffix('?').map_or((text, false), |b| (b, true));
        let mut alts: Vec<Alt> = split_alternatives(body)
            .into_iter()
            .map(alt)
            .collect::<Result<_, _>>()?;
        if optional {
            alts.push(Alt::Nil);
        }
        Ok(Type { text, alts })
    }

    fn admits(&self, v: &Value) -> bool {
        self.alts.iter().any(|a| match (a, v) {
            (Alt::Any, _) | (Alt::Nil, Value::Nil) | (Alt::Boolean, Value::Boolean(_)) => true,
            (Alt::Literal(b), Value::Boolean(x)) => b == x,
            (Alt::String, Value::String(_)) => true,
            (Alt::Text(t), Value::String(s)) => s.as_bytes().as_ref() == t.as_bytes(),
            (Alt::Number | Alt::Integer, Value::Integer(_)) => true,
            (Alt::Number, Value::Number(_)) => true,
            (Alt::Integer, Value::Number(n)) => n.fract() == 0.0,
            (Alt::Table | Alt::Object, Value::Table(_)) => true,
            (Alt::Function, Value::Function(_)) => true,
            (Alt::Userdata | Alt::Object, Value::UserData(_) | Value::LightUserData(_)) => true,
            _ => false,
        })
    }
}

/// `a|b|{x: c|d}` → `a`, `b`, `{x: c|d}`.
fn split_alternatives(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut quoted, mut start) = (Vec::new(), 0, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' | '(' if !quoted => depth += 1,
            '}' | ')' if !quoted => depth -= 1,
            '|' if depth == 0 && !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn alt(s: &'static str) -> Result<Alt, String> {
    Ok(match s {
        "any" => Alt::Any,
        "nil" => Alt::Nil,
        "boolean" => Alt::Boolean,
        "true" => Alt::Literal(true),
        "false" => Alt::Literal(false),
        "string" => Alt::String,
        "number" => Alt::Number,
        "integer" => Alt::Integer,
        "table" => Alt::Table,
        "function" => Alt::Function,
        "userdata" => Alt::Userdata,
        _ if s.ends_with("[]") || s.starts_with('{') => Alt::Table,
        _ if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') => {
            Alt::Text(&s[1..s.len() - 1])
        }
        _ if s.starts_with("ctys.core.") => Alt::Object,
        _ => return Err(format!("unknown type '{s}'")),
    })
}

/// A binding's declaration, parsed once when the binding is made.
struct Signature {
    name: &'static str,
    params: Vec<(&'static str, bool, Type)>,
    variadic: bool,
    results: Vec<Type>,
}

/// A binding's declaration, parsed on its first call: start-up binds functions it never calls.
struct Lazy {
    name: &'static str,
    sig: std::cell::OnceCell<Rc<Signature>>,
}

impl Lazy {
    fn new(name: &'static str) -> Rc<Lazy> {
        Rc::new(Lazy { name, sig: std::cell::OnceCell::new() })
    }

    fn get(&self) -> mlua::Result<Rc<Signature>> {
        if let Some(s) = self.sig.get() {
            return Ok(s.clone());
        }
        let s = Signature::of(self.name)?;
        Ok(self.sig.get_or_init(|| s).clone())
    }
}

impl Signature {
    fn of(name: &'static str) -> mlua::Result<Rc<Signature>> {
        let bad = |e: String| {
            mlua::Error::runtime(format!(
                "ctys.core.{name}: its stub in lua/meta/ctys.d.lua: {e}"
            ))
        };
        let (_, params, results) = SIGNATURES
            .iter()
            .find(|s| s.0 == name)
            .ok_or_else(|| bad("missing (every binding is declared there)".into()))?;
        let variadic = params.last().is_some_and(|p| p.0 == "...");
        let params = params
            .iter()
            .filter(|p| p.0 != "...")
            .map(|&(p, opt, ty)| Type::parse(ty).map(|t| (p, opt, t)))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        let results = results
            .iter()
            .map(|r| Type::parse(r))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        Ok(Rc::new(Signature {
            name,
            params,
            variadic,
            results,
        }))
    }

    fn misuse(&self, what: &str, msg: impl std::fmt::Display) -> mlua::Error {
        mlua::Error::runtime(format!(
            "ctys.core.{}: bad argument {what}: {msg}",
            self.name
        ))
    }

    fn check_args(&self, args: &MultiValue) -> mlua::Result<()> {
        for (i, v) in args.iter().enumerate() {
            match self.params.get(i) {
                Some((p, opt, ty)) if !(ty.admits(v) || *opt && v.is_nil()) => {
                    return Err(self.misuse(
                        &format!("'{p}'"),
                        format_args!("expected {}, got {}", ty.text, shown(v)),
                    ));
                }
                None if !self.variadic && !v.is_nil() => {
                    return Err(self.misuse(
                        &format!("#{}", i + 1),
                        format_args!("takes {} argument(s)", self.params.len()),
                    ));
                }
                _ => {}
            }
        }
        match self
            .params
            .get(args.len()..)
            .unwrap_or_default()
            .iter()
            .find(|(_, opt, ty)| !opt && !ty.admits(&Value::Nil))
        {
            Some((p, _, ty)) => Err(self.misuse(
                &format!("'{p}'"),
                format_args!("expected {}, got nothing", ty.text),
            )),
            None => Ok(()),
        }
    }

    /// mlua's conversion error for argument N, in the contract's words.
    fn conversion(&self, e: mlua::Error) -> mlua::Error {
        match e {
            mlua::Error::BadArgument { pos, cause, .. } => {
                let name = self
                    .params
                    .get(pos.wrapping_sub(1))
                    .map_or(format!("#{pos}"), |p| format!("'{}'", p.0));
                self.misuse(&name, cause)
            }
            other => other,
        }
    }

    fn check_results(&self, results: &MultiValue) -> mlua::Result<()> {
        if !cfg!(debug_assertions) {
            return Ok(());
        }
        for (i, v) in results.iter().enumerate() {
            match self.results.get(i) {
                Some(ty) if ty.admits(v) => {}
                Some(ty) => {
                    return Err(self.drift(format_args!(
                        "result #{} is {}, declared {}",
                        i + 1,
                        shown(v),
                        ty.text
                    )))
                }
                None => {
                    return Err(self.drift(format_args!(
                        "returned {} values, declared {}",
                        results.len(),
                        self.results.len()
                    )))
                }
            }
        }
        Ok(())
    }

    fn drift(&self, msg: impl std::fmt::Display) -> mlua::Error {
        mlua::Error::runtime(format!(
            "ctys.core.{}: {msg} (lua/meta/ctys.d.lua and the binding disagree)",
            self.name
        ))
    }
}

/// A value as a message shows it: a string's first 60 characters, lossily; else its type.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let t = s.to_string_lossy();
            let cut: String = t.chars().take(60).collect();
            format!("'{cut}'{}", if cut.len() < t.len() { "..." } else { "" })
        }
        Value::Nil => "nil".into(),
        other => other.type_name().into(),
    }
}

/// Binds `f` as `ctys.core.<name>`, held to its stub.
pub(crate) fn def<A, R, F>(lua: &Lua, core: &Table, name: &'static str, f: F) -> mlua::Result<()>
where
    A: FromLuaMulti,
    R: IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
{
    let lazy = Lazy::new(name);
    let func = lua.create_function(move |lua, args: MultiValue| {
        let sig = lazy.get()?;
        sig.check_args(&args)?;
        let a = A::from_lua_args(args, 1, None, lua).map_err(|e| sig.conversion(e))?;
        let r = f(lua, a)?.into_lua_multi(lua)?;
        sig.check_results(&r)?;
        Ok(r)
    })?;
    core.set(name, func)
}

/// `def` for a function that waits (it yields to the host's other tasks meanwhile).
pub(crate) fn def_async<A, R, F, FR>(
    lua: &Lua,
    core: &Table,
    name: &'static str,
    f: F,
) -> mlua::Result<()>
where
    A: FromLuaMulti + 'static,
    R: IntoLuaMulti,
    F: Fn(Lua, A) -> FR + 'static,
    FR: Future<Output = mlua::Result<R>> + 'static,
{
    let lazy = Lazy::new(name);
    let f = Rc::new(f);
    let func = lua.create_async_function(move |lua, args: MultiValue| {
        let (lazy, f) = (lazy.clone(), f.clone());
        async move {
            let sig = lazy.get()?;
            sig.check_args(&args)?;
            let a = A::from_lua_args(args, 1, None, &lua).map_err(|e| sig.conversion(e))?;
            let r = f(lua.clone(), a).await?.into_lua_multi(&lua)?;
            sig.check_results(&r)?;
            Ok(r)
        }
    })?;
    core.set(name, func)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stub_type_parses() {
        for (name, params, results) in SIGNATURES {
            for (_, _, ty) in *params {
                Type::parse(ty).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            for ty in *results {
                Type::parse(ty).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }

    #[test]
    fn alternatives_split_outside_braces_and_quotes() {
        assert_eq!(split_alternatives("{a: b|c}[]|nil"), ["{a: b|c}[]", "nil"]);
        assert_eq!(split_alternatives("\"a|b\"|\"c\""), ["\"a|b\"", "\"c\""]);
        let t = Type::parse("integer|false|nil").unwrap();
        assert_eq!(t.alts, [Alt::Integer, Alt::Literal(false), Alt::Nil]);
        assert!(
            t.admits(&Value::Number(3.0))
                && !t.admits(&Value::Number(3.5))
                && !t.admits(&Value::Boolean(true))
        );
        assert!(Type::parse("strnig").is_err());
    }
}
