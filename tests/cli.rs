//! The `ctys` binary as a user meets it: entry points, exit values, tracebacks, module
//! overrides, `--dump-lua`, Ctrl-C.
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{bin, ctys, split, TempDir};

#[test]
fn eval_prints() {
    let home = TempDir::new("cli");
    assert_eq!(ctys(home.path(), &["-e", "print(1+2)"]), (0, "3\n".into(), String::new()));
}

#[test]
fn script_gets_arg_and_varargs() {
    let home = TempDir::new("cli");
    let s = home.write("s.lua", "#!/usr/bin/env ctys\nprint(arg[0], arg[1], arg[2], #arg, ...)\n");
    let s = s.to_str().unwrap();
    let (code, out, _) = ctys(home.path(), &[s, "one", "-t"]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{s}\tone\t-t\t2\tone\t-t\n"));
}

#[test]
fn lua_error_exits_1_with_traceback_naming_the_script_line() {
    let home = TempDir::new("cli");
    let s = home.write("bad.lua", "local function f()\n  error('boom')\nend\nf()\n");
    let s = s.to_str().unwrap();
    let (code, _, err) = ctys(home.path(), &[s]);
    assert_eq!(code, 1);
    assert!(err.starts_with(&format!("ctys: {s}:2: boom\n")), "{err}");
    assert!(err.contains("stack traceback:") && err.contains(&format!("{s}:4: in main chunk")), "{err}");
    assert!(!err.contains("run.lua"), "host frames leak into the traceback: {err}");
}

#[test]
fn syntax_error_exits_1() {
    let home = TempDir::new("cli");
    let (code, _, err) = ctys(home.path(), &["-e", "x = = 1"]);
    assert_eq!(code, 1);
    assert!(err.contains("syntax error") && err.contains("'='"), "{err}");
}

#[test]
fn unknown_option_exits_1_naming_it() {
    let home = TempDir::new("cli");
    let (code, _, err) = ctys(home.path(), &["-t", "pm", "-q", "-a", "create=wol"]);
    assert_eq!(code, 1);
    assert_eq!(err, "ctys: unknown option '-q'\n");
}

#[test]
fn malformed_command_lines_exit_1_naming_the_token() {
    let home = TempDir::new("cli");
    for (args, token) in [
        (&["-t", "pm", "-a", "create="][..], "'create='"),
        (&["-t", "pm", "-a", "cancel=l:", "lab01"][..], "'l:'"),
        (&["-t", "pm", "-a", "create=wol", "lab01(-d 1"][..], "'lab01(-d 1'"),
        (&["-t", "pm", "-a", "create=wol", "lab01(-d", "1"][..], "'lab01(-d 1'"),
        (&["-t", "pm", "-a"][..], "-a"),
    ] {
        let (code, _, err) = ctys(home.path(), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(token), "{args:?}: {err}");
        assert!(!err.contains("traceback"), "a usage error shows no traceback: {err}");
    }
}

#[test]
fn actions_not_built_end_with_action_not_available_exit_2() {
    let home = TempDir::new("cli");
    for line in ["-t vmw -a cancel=1:tst100,force,POWEROFF:0 lab01", "-t pm -a enumerate=machine lab01"] {
        let args: Vec<&str> = line.split(' ').collect();
        let (code, _, err) = ctys(home.path(), &args);
        assert_eq!(code, 2, "{line}: {err}");
        assert!(err.contains("action not available"), "{line}: {err}");
    }
}

const OVERRIDE: &str = r#"
-- A site's PM action that wraps the built-in one instead of copying it.
local builtin, where = require "builtin.ctys.actions.pm"
local M = setmetatable({}, { __index = builtin })
function M.cancel(req)
  print("site cancel", req.action.by_key.LABEL.value, #req.targets, debug.getinfo(1, "S").source)
  print("wraps", where)
  return 0
end
return M
"#;

#[test]
fn site_module_on_ctys_lua_path_replaces_the_builtin_and_can_wrap_it() {
    let home = TempDir::new("cli");
    let site = TempDir::new("site");
    let pm = site.write("ctys/actions/pm.lua", OVERRIDE);
    let with_site = |args: &[&str]| split(bin("ctys", home.path()).env("CTYS_LUA_PATH", site.path()).args(args).output().unwrap());
    // localhost is this machine: the action runs here, its target consumed.
    let (code, out, err) = with_site(&["-t", "pm", "-a", "cancel=1:tst100,POWEROFF:0", "localhost"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("site cancel\ttst100\t0\t@{}\nwraps\tlua/ctys/actions/pm.lua\n", pm.display()));
    // The built-in's other actions stay reachable through the wrapper.
    let (code, out, err) = with_site(&["-t", "pm", "-a", "create=wol,m:02:00:00:00:00:0b,broadcast:127.255.255.255,ping:off,sshping:off", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("CREATE 02:00:00:00:00:0b: would send UDP 102 bytes to 127.255.255.255:9"), "{out}");
}

#[test]
fn lua_path_option_comes_before_ctys_lua_path_and_home() {
    let home = TempDir::new("cli");
    let (a, b) = (TempDir::new("a"), TempDir::new("b"));
    a.write("ctys/probe.lua", "return 'from --lua-path'");
    b.write("ctys/probe.lua", "return 'from CTYS_LUA_PATH'");
    home.write(".ctys/lua/ctys/probe.lua", "return 'from ~/.ctys/lua'");
    let run = |extra: &[&str], env: bool| {
        let mut c = bin("ctys", home.path());
        if env {
            c.env("CTYS_LUA_PATH", b.path());
        }
        split(c.args(extra).args(["-e", "print(ctys.probe)"]).output().unwrap()).1
    };
    assert_eq!(run(&["--lua-path", a.path().to_str().unwrap()], true), "from --lua-path\n");
    assert_eq!(run(&[], true), "from CTYS_LUA_PATH\n");
    assert_eq!(run(&[], false), "from ~/.ctys/lua\n");
}

#[test]
fn builtin_chunk_names_read_well_in_tracebacks() {
    let home = TempDir::new("cli");
    let (code, _, err) = ctys(home.path(), &["-e", "ctys.pretty.format(setmetatable({}, {__pairs = function() error('x') end}))"]);
    assert_eq!(code, 1);
    assert!(err.contains("stdlib/ctys/pretty.lua:"), "{err}");
}

#[test]
fn dump_lua_writes_a_site_tree_that_works_as_lua_path() {
    let home = TempDir::new("cli");
    let out = TempDir::new("dump");
    let dir = out.path().join("site");
    let d = dir.to_str().unwrap();
    let (code, stdout, err) = ctys(home.path(), &["--dump-lua", d]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.starts_with("wrote "), "{stdout}");
    for f in ["ctys/init.lua", "ctys/cli.lua", "ctys/actions/pm.lua", "meta/ctys.d.lua"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // Modules now come from the dump, not the embedded copies.
    let (code, stdout, _) = ctys(home.path(), &["--lua-path", d, "-e", "print(debug.getinfo(require('ctys.cli').parse, 'S').source)"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("@{d}/ctys/cli.lua\n"));
    // A second dump refuses to overwrite a site's edits.
    let (code, _, err) = ctys(home.path(), &["--dump-lua", d]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists; nothing written"), "{err}");
}

#[test]
fn tool_without_its_module_exits_2() {
    let home = TempDir::new("cli");
    // The multi-call binary under a tool name it has no module for.
    let link = home.path().join("ctys-nosuch");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ctys"), &link).unwrap();
    let (code, _, err) = split(std::process::Command::new(&link).env("HOME", home.path()).output().unwrap());
    assert_eq!(code, 2);
    assert!(err.starts_with("ctys-nosuch: ctys-nosuch is not available"), "{err}");
}

#[test]
fn tool_binary_runs_its_lua_module() {
    let home = TempDir::new("cli");
    let site = TempDir::new("site");
    // A site's replacement of the built-in tool module.
    site.write("ctys/tools/vnetctl.lua", "return { main = function(argv) print('vnetctl', table.concat(argv, ' ')) return 1 end }");
    let (code, out, _) = split(bin("ctys-vnetctl", home.path()).env("CTYS_LUA_PATH", site.path()).args(["-X", "info"]).output().unwrap());
    assert_eq!((code, out.as_str()), (1, "vnetctl\t-X info\n"));
}

#[test]
fn stdin_chunk_runs_with_dash() {
    let home = TempDir::new("cli");
    let mut child = bin("ctys", home.path()).args(["-", "x"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"print('stdin', ...)").unwrap();
    let (code, out, _) = split(child.wait_with_output().unwrap());
    assert_eq!((code, out.as_str()), (0, "stdin\tx\n"));
}

#[test]
fn failing_spec_makes_test_exit_1() {
    let home = TempDir::new("cli");
    let spec = home.write("x_spec.lua", "describe('d', function() it('fails', function() assert.equal(1, 2) end) end)");
    let (code, out, _) = ctys(home.path(), &["--test", spec.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL    d fails") && out.ends_with("0 passed, 1 failed\n"), "{out}");
}

/// Starts a script, waits for its "ready" line, sends SIGINT, and returns (exit code, stdout).
fn interrupt(body: &str) -> (i32, String) {
    let home = TempDir::new("int");
    let s = home.write("s.lua", body);
    let mut child = bin("ctys", home.path()).arg(&s).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    common::wait_until("SIGINT to stop the script", 10, || child.try_wait().unwrap().is_some());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    (status.code().unwrap_or(-1), rest)
}

#[test]
fn ctrl_c_cancels_a_busy_lua_loop_and_lets_cleanup_run() {
    let (code, out) = interrupt(
        "print('ready') io.stdout:flush()\nlocal ok = pcall(function() while true do end end)\nprint('cleanup ran', ok)\n",
    );
    assert_eq!(code, 130);
    // pcall sees the interruption; the script's own cleanup runs, then the host stops it.
    assert!(out.starts_with("cleanup ran\tfalse\n"), "{out}");
}

#[test]
fn ctrl_c_cancels_a_script_waiting_in_an_async_primitive() {
    let (code, out) = interrupt("print('ready') io.stdout:flush()\nctys.sleep(60)\nprint('not reached')\n");
    assert_eq!((code, out.as_str()), (130, ""));
}
