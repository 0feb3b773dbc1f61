//! The host used as a library from another Rust program.
use ctys::{Host, HostOptions};

fn host() -> Host {
    // No site directories: only the embedded Lua tree.
    Host::new(HostOptions { use_env: false, use_site: false, ..HostOptions::default() }).unwrap()
}

#[test]
fn eval_returns_values_and_the_ctys_global_is_there() {
    let h = host();
    assert_eq!(h.eval::<i64>("return 1 + 2").unwrap(), 3);
    assert_eq!(h.eval::<String>("return ctys.version").unwrap(), env!("CARGO_PKG_VERSION"));
    assert!(h.search_dirs().is_empty());
}

#[test]
fn embedder_functions_are_callable_from_async_lua() {
    let h = host();
    let f = h.lua().create_function(|_, x: i64| Ok(x * 10)).unwrap();
    h.lua().globals().set("tenfold", f).unwrap();
    let v: Vec<i64> = h.eval("return ctys.all { function() ctys.sleep(0.01) return tenfold(1) end, function() return tenfold(2) end }").unwrap();
    assert_eq!(v, vec![10, 20]);
}

#[test]
fn errors_carry_exit_values_and_tracebacks() {
    let h = host();
    let e = h.eval::<()>("require('ctys.err').env('no tool %s', 'x')").unwrap_err();
    assert_eq!((e.code, e.message.as_str(), e.traceback.is_none()), (2, "no tool x", true));
    let e = h.eval::<()>("local t = nil; return t.x").unwrap_err();
    assert_eq!(e.code, 1);
    assert!(e.message.contains("attempt to index a nil value"), "{e}");
    assert!(e.traceback.unwrap().contains("(eval):1"));
    // The state survives an error.
    assert_eq!(h.eval::<i64>("return 7").unwrap(), 7);
}

#[test]
fn spawn_outside_the_runtime_is_an_error_not_a_panic() {
    let h = host();
    let r: mlua::Result<()> = h.lua().load("ctys.core.spawn(function() end)").exec();
    assert!(r.unwrap_err().to_string().contains("not inside the host's runtime"));
}
