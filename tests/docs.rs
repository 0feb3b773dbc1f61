//! The generated reference files are up to date with the sources (docs/gen.lua --check), the
//! man pages format without a warning, and the bash completion loads and completes.
mod common;

use std::process::Command;

use common::{bin, split, TempDir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn generated_docs_are_up_to_date() {
    let home = TempDir::new("docs");
    let (code, out, err) = split(bin("ctys", home.path()).current_dir(ROOT).args(["docs/gen.lua", "--check"]).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn man_pages_format_cleanly() {
    for page in ["ctys", "ctys-vnetctl", "ctys-wakeup", "ctys-ipmi", "ctys-macros", "ctys-groups", "ctys-plugins", "ctys-lab"] {
        let o = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(format!("{ROOT}/docs/man/{page}.1"))
            .output()
            .expect("groff is needed (package groff-base)");
        assert!(o.status.success() && o.stderr.is_empty(), "{page}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn bash_completion_completes_tool_words_and_ssh_hosts() {
    let home = TempDir::new("docs");
    home.write(".ssh/config", "Host lab01 lab02\n  HostName 127.0.0.1\nHost *\n  User root\n");
    home.write(".ctys/groups/desk", "lab01\n");
    let complete = |words: &str| {
        let script = format!(
            "source {ROOT}/completions/ctys.bash; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _ctys ${{COMP_WORDS[0]}}; echo \"${{COMPREPLY[*]}}\""
        );
        let o = Command::new("bash").args(["-c", &script]).env("HOME", home.path()).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(complete("ctys-vnetctl cr"), "create");
    assert_eq!(complete("ctys --dry"), "--dry-run");
    assert_eq!(complete("ctys lab st"), "status");
    assert_eq!(complete("ctys -t pm -a cancel=x lab"), "lab lab01 lab02");
    assert_eq!(complete("ctys -t pm -a cancel=x @"), "@desk");
    // Values after the options that take them; files where a file is expected.
    assert_eq!(complete("ctys -t ''"), "CLI PM QEMU XEN");
    assert_eq!(complete("ctys -T a"), "all");
    assert_eq!(complete("ctys-ipmi -L ''"), "admin operator user");
    assert_eq!(complete("ctys-vnetctl -d ''"), "0 1 2 3");
    home.write("creds/pw", "x");
    let dir = home.path().join("creds").display().to_string();
    assert_eq!(complete(&format!("ctys-ipmi -f {dir}/")), format!("{dir}/pw"));
    assert_eq!(complete(&format!("ctys --lua-path {}/cr", home.path().display())), dir);
    // Every option each tool has (and not the two ctys-ipmi reads only to refuse).
    let vnet = complete("ctys-vnetctl -");
    for o in ["-H", "-V", "-X", "-Z", "-h", "-n", "-r", "-u"] {
        assert!(vnet.split(' ').any(|w| w == o), "ctys-vnetctl {o}: {vnet}");
    }
    let ipmi = complete("ctys-ipmi -");
    assert!(ipmi.split(' ').any(|w| w == "-K") && ipmi.split(' ').any(|w| w == "-Y") && !ipmi.split(' ').any(|w| w == "-k" || w == "-y"), "{ipmi}");
    assert!(complete("ctys --t").contains("--tool"));
}

#[test]
fn zsh_completion_parses_and_registers_every_command() {
    let home = TempDir::new("docs");
    let script = format!(
        "fpath=({ROOT}/completions $fpath); autoload -Uz compinit && compinit -u -d $HOME/.zcompdump; \
         for c in ctys ctys-vnetctl ctys-wakeup ctys-ipmi ctys-macros ctys-groups ctys-plugins; do print -r -- \"$c=${{_comps[$c]}}\"; done"
    );
    let o = Command::new("zsh").args(["-f", "-c", &script]).env("HOME", home.path()).output().expect("zsh is needed (package zsh)");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().filter(|l| l.ends_with("=_ctys")).count(), 7, "{out}{}", String::from_utf8_lossy(&o.stderr));
}
