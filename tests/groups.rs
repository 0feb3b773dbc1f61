//! MACROS and GROUPS on the command line and in the tools: a group target relays the action
//! to every member with its context, a macro expands before the grammar reads the line, and a
//! site's ctys.groups replaces the built-in one.
mod common;

use common::sshd::Sshd;
use common::{bin, split, TempDir};

#[test]
fn a_group_and_a_macro_on_the_command_line_reach_every_member_with_its_context() {
    let sshd = Sshd::start(70, 3);
    let site = TempDir::new("site");
    site.write("ctys/actions/probe.lua", "return { create = function(req) print('on', os.getenv('SSH_CONNECTION'):match('(%S+) %S+$'), req.debug or '-', req.terse) return 0 end }");
    let groups = TempDir::new("groups");
    groups.write(
        "lab",
        &format!("# the lab\nCONTEXT'(-d 1)'\n{}'(-d 3)', {}\n#include more\n", sshd.target(0), sshd.target(1)),
    );
    groups.write("more", &format!("{}\n{}\n", sshd.target(2), sshd.target(0)));
    let macros = TempDir::new("macros");
    macros.write("default", "PROBE = -t probe \\\n   -a create=x\n");
    let remote = format!("env CTYS_LUA_PATH={} CTYS_NO_DNS=1 {}", site.path().display(), env!("CARGO_BIN_EXE_ctys"));
    let (code, out, err) = split(
        bin("ctys", sshd.home.path())
            .env("CTYS_LUA_PATH", site.path())
            .env("CTYS_REMOTE_CMD", &remote)
            .env("CTYS_GROUPS_PATH", groups.path())
            .env("CTYS_MACRO_PATH", macros.path())
            .args(["MACRO:PROBE", "-b", "seq", "@lab(-X)"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{out}{err}");
    let p = sshd.port;
    assert_eq!(
        out,
        format!(
            "{a}: on\t127.0.0.70\t3\ttrue\n{b}: on\t127.0.0.71\t1\ttrue\n{c}: on\t127.0.0.72\t1\ttrue\n",
            a = format_args!("127.0.0.70:{p}"),
            b = format_args!("127.0.0.71:{p}"),
            c = format_args!("127.0.0.72:{p}")
        ),
        "members once each, in order; the entry's -d 3 beats CONTEXT's -d 1; the command line's -X applies to all"
    );
    // An expression: minus one member.
    let (code, out, _) = split(
        bin("ctys", sshd.home.path())
            .env("CTYS_LUA_PATH", site.path())
            .env("CTYS_REMOTE_CMD", &remote)
            .env("CTYS_GROUPS_PATH", groups.path())
            .args(["-t", "probe", "-a", "create=x", &format!("@lab!{}", sshd.target(1))])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("127.0.0.71"), "{out}");
}

#[test]
fn a_site_groups_module_replaces_the_builtin_on_the_command_line() {
    let home = TempDir::new("home");
    let site = TempDir::new("site");
    site.write(
        "ctys/groups.lua",
        r#"-- A site's groups: @here is this machine, everything else as built in.
local builtin = require "builtin.ctys.groups"
local M = setmetatable({}, { __index = builtin })
function M.resolve(list)
  local out = {}
  for _, t in ipairs(list) do
    if t.expr == "@here" then out[#out + 1] = { host = "localhost", raw = "localhost" } else out[#out + 1] = t end
  end
  return out
end
return M"#,
    );
    site.write("ctys/actions/probe.lua", "return { create = function(req) print('ran here', #req.targets) return 0 end }");
    let (code, out, err) = split(bin("ctys", home.path()).env("CTYS_LUA_PATH", site.path()).args(["-t", "probe", "-a", "create=x", "@here"]).output().unwrap());
    assert_eq!((code, out.as_str()), (0, "ran here\t0\n"), "{err}");
}

#[test]
fn the_tools_list_show_and_fail_with_the_documented_exit_values() {
    let home = TempDir::new("home");
    let groups = TempDir::new("groups");
    groups.write("desktops/tst/ctys-lab", "CONTEXT'(-d 1)'\nws[1-2]\n");
    groups.write("loop", "#include loop\n");
    let macros = TempDir::new("macros");
    macros.write("default", "A = -t pm\nB = MACRO:A -a create=wol\nC = {macro:D}\nD = {macro:C}\nE = x %EVAL\n");
    let g = |args: &[&str]| split(bin("ctys-groups", home.path()).env("CTYS_GROUPS_PATH", groups.path()).args(args).output().unwrap());
    let m = |args: &[&str]| split(bin("ctys-macros", home.path()).env("CTYS_MACRO_PATH", macros.path()).args(args).output().unwrap());
    let (code, out, _) = g(&["-X", "-l"]);
    assert_eq!((code, out), (0, format!("desktops/tst/ctys-lab;{0}\nloop;{0}\n", groups.path().display())));
    assert_eq!(g(&["desktops/tst/ctys-lab"]).1, "ws1  (-d 1)\nws2  (-d 1)\n");
    assert_eq!(g(&["-X", "@desktops/tst/ctys-lab!ws1,ws9"]).1, "ws2;-d 1\nws9;\n");
    let (code, _, err) = g(&["loop"]);
    assert_eq!(code, 1);
    assert!(err.contains("group include cycle: loop -> loop"), "{err}");
    assert_eq!(g(&["nosuch"]).0, 2);
    assert_eq!(m(&["B"]), (0, "-t pm -a create=wol\n".into(), String::new()));
    let (code, out, _) = m(&["-X", "-l"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("A;-t pm\nB;MACRO:A -a create=wol\n"), "{out}");
    let (code, _, err) = m(&["C"]);
    assert_eq!(code, 1);
    assert!(err.contains("macro cycle: C -> D -> C"), "{err}");
    assert_eq!(m(&["nosuch"]).0, 2);
}

#[test]
fn the_readmes_group_file_reads_as_it_says() {
    // The example under "GROUPS" in README.md, verbatim: trailing comments included.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("# ~/.ctys/groups/lab\n").expect("the README's group example");
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    let home = TempDir::new("readme");
    home.write(".ctys/groups/lab", example);
    home.write(".ctys/groups/desktops/tst/ctys-lab", "desk01 # a desktop\n");
    let (code, out, err) = split(bin("ctys-groups", home.path()).args(["-X", "lab"]).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    assert!(lines[0].starts_with("root@lab02;") && lines[0].contains("-d 1") && lines[0].contains("-a create=l:LAB02,reuse"), "{out}");
    assert!(lines[1].starts_with("lab03;-d 1") && lines[6].starts_with("lab10:2222;") && lines[7].starts_with("desk01;"), "{out}");
}
