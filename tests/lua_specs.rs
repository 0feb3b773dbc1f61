//! One Rust test per Lua spec file in tests/lua, each run by the real `ctys --test`.
mod common;

use common::{bin, split, TempDir};

fn run_spec(file: &str) {
    let home = TempDir::new("spec");
    let path = format!("tests/lua/{file}");
    let (code, out, err) = split(
        bin("ctys", home.path()).args(["--test", &path]).env("CTYS_BIN", env!("CARGO_BIN_EXE_ctys")).output().unwrap(),
    );
    print!("{out}");
    eprint!("{err}");
    assert_eq!(code, 0, "{path} failed");
    assert!(out.contains(" passed, 0 failed"), "{path}: no summary line");
}

macro_rules! specs {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run_spec(concat!(stringify!($name), ".lua")); } )*
        const LISTED: &[&str] = &[$(concat!(stringify!($name), ".lua")),*];
    };
}

specs!(args_spec, err_spec, fs_spec, layers_spec, system_spec, plan_spec, cli_spec, cli_fuzz_spec, coroutine_spec, groups_spec, hostlist_spec, topology_spec, machines_spec, machines_import_spec, machinefile_spec, machine_facts_spec, macros_spec, output_spec, serial_spec, host_spec, meta_spec, pm_spec, subopts_spec, targets_spec, dispatch_spec);

#[test]
fn every_spec_file_has_a_test() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lua");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with("_spec.lua"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/lua and the specs! list in tests/lua_specs.rs differ");
}
