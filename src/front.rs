//! The command-line front end shared by every binary. clap handles only the host's own options
//! (script, `-e`, REPL, tests, `--dump-lua`, `--lua-path`); a ctys command line such as
//! `ctys -t pm -a create=wol,... lab01` goes whole to `ctys.cli.main` in Lua, because MACROS
//! may expand into options and must be expanded before any option is parsed.
use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::host::{Host, HostError, HostOptions, EXIT_ENV, EXIT_USAGE};
use crate::modules as embedded;

const AFTER_HELP: &str = "\
A ctys command line is handed to the Lua grammar (ctys.cli):
  ctys [-t TYPE] -a ACTION[=SUBOPTS] [-d LEVEL] [-X] [-V] [-h] [-l USER] [--dry-run] [--] ['(OPTS)'] [TARGET...]
  `ctys -h` prints its full help.

Modules are searched in --lua-path, CTYS_LUA_PATH, ~/.ctys/lua, /etc/ctys/lua, then the built-in
copies; `builtin.NAME` always loads the built-in copy. Logging: RUST_LOG or -d LEVEL.

Exit values: 0 ok, 1 erroneous parameters or a Lua error, 2 a missing environment element
(tool, file, permission, plugin), 3 the operation failed, 128+N ended by signal N (130 Ctrl-C,
143 SIGTERM, 129 SIGHUP).

Environment: CTYS_LUA_PATH (module directories), RUST_LOG (log filter), CTYS_NO_DNS (never
ask DNS), CTYS_COMMANDS (the command table), CTYS_REMOTE_CMD (the ctys run on targets),
CTYS_MACHINES, CTYS_GROUPS_PATH, CTYS_MACRO_PATH, CTYS_SOCKBASE, CTYS_STATE_DIR,
IPMI_PASSWORD, IPMI_KGKEY; `ctys -h` and each tool's -h say which they read.";

fn command() -> Command {
    Command::new("ctys")
        .version(env!("CARGO_PKG_VERSION"))
        .about("ctys as a Lua scripting host: lab machines' power, virtual networks, remote execution")
        .override_usage(
            "ctys [HOST OPTIONS] FILE.lua [ARGS...]\n       ctys [HOST OPTIONS] -e CHUNK\n       \
             ctys [HOST OPTIONS] [--repl]\n       ctys [HOST OPTIONS] --test PATH...\n       \
             ctys --dump-lua DIR\n       ctys lab up|down|status|exec|tour ...\n       ctys status [--watch [N]] [--json] [NAMES|@GROUP...]\n       ctys --gateway (what a controller runs on a topology's gateways, over SSH)\n       ctys --tool NAME ARGS... (ctys-NAME ARGS...)\n       \
             ctys [-t TYPE] -a ACTION[=SUBOPTS] [OPTIONS] [--] [TARGETS...]",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(Arg::new("help").long("help").action(ArgAction::Help).help("Print this help (`-h` prints the ctys grammar's)"))
        .arg(Arg::new("version").long("version").action(ArgAction::Version).help("Print the version"))
        .arg(
            Arg::new("lua-path")
                .long("lua-path")
                .value_name("DIR")
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(PathBuf))
                .help("Search DIR for Lua modules before everything else (repeatable)"),
        )
        .arg(
            Arg::new("eval")
                .short('e')
                .value_name("CHUNK")
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(OsString))
                .help("Run a Lua chunk (repeatable)"),
        )
        .arg(Arg::new("repl").long("repl").action(ArgAction::SetTrue).help("Start the interactive prompt (the default on a terminal with no arguments)"))
        .arg(
            Arg::new("test")
                .long("test")
                .value_name("PATH")
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(PathBuf))
                .help("Run spec files (a file, or every *_spec.lua in a directory); repeatable"),
        )
        .arg(
            Arg::new("dump-lua")
                .long("dump-lua")
                .value_name("DIR")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Write the built-in Lua tree into DIR, a starting point for --lua-path"),
        )
        .arg(
            Arg::new("args")
                .value_name("FILE.lua [ARGS] | CTYS OPTIONS")
                .value_parser(clap::value_parser!(OsString))
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true),
        )
        .after_help(AFTER_HELP)
}

fn init_logging() {
    let spec = std::env::var("RUST_LOG").ok();
    let mut b = env_logger::Builder::new();
    // Without RUST_LOG the builder passes everything and log::max_level (warn, raised by `-d`)
    // decides; with RUST_LOG that filter decides.
    b.format_timestamp(None).filter_level(log::LevelFilter::Trace);
    if let Some(s) = &spec {
        b.parse_filters(s);
    }
    if b.try_init().is_ok() && spec.is_none() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Prints a failed run as `prog: message`, then the traceback when there is one (a stderr that
/// cannot be written to is no reason to panic).
fn report(prog: &str, e: &HostError) -> i32 {
    let _ = writeln!(std::io::stderr(), "{prog}: {e}");
    e.code
}

extern "C" {
    /// The C library's standard output, which Lua's print and io.write go through.
    static mut stdout: *mut nix::libc::FILE;
}

/// Flushes what Lua wrote; a write that failed anywhere in the run (a full disk, a closed
/// pipe) is an error, so `ctys ... > /dev/full` does not report success.
fn flush_stdout() -> Result<(), String> {
    flush_stdout_raw().map_err(|why| format!("cannot write to standard output: {why}"))
}

fn flush_stdout_raw() -> Result<(), String> {
    // SAFETY: stdout is the C library's own FILE*, valid for the whole process.
    let (flushed, clean) = unsafe {
        let out = stdout;
        (nix::libc::fflush(out) == 0, nix::libc::ferror(out) == 0)
    };
    if !flushed {
        return Err(std::io::Error::last_os_error().to_string());
    }
    if !clean {
        return Err("a write failed".into());
    }
    std::io::stdout().flush().map_err(|e| e.to_string())
}

fn exit_code(prog: &str, r: Result<i32, HostError>) -> i32 {
    // The SSH sessions kept for reuse say goodbye, whatever the result.
    let _ = crate::prim::remote::pool::close_all();
    let code = r.unwrap_or_else(|e| report(prog, &e));
    match flush_stdout() {
        // Lost output is said, also after a failure that has its own exit value.
        Err(e) => {
            let reported = report(prog, &HostError::new(EXIT_ENV, e));
            if code == 0 { reported } else { code }
        }
        Ok(()) => code,
    }
}

/// `ctys` itself. Arguments are bytes: a non-UTF-8 one reaches Lua as it is.
pub fn main() -> i32 {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let prog = argv.first().map(|a| base_name(a)).unwrap_or_else(|| "ctys".into());
    if let Some(tool) = prog.strip_prefix("ctys-") {
        return tool_main(tool, argv.into_iter().skip(1).collect());
    }
    // `ctys --tool NAME ...` is `ctys-NAME ...` where no such link is (under sudo, say).
    if argv.get(1).is_some_and(|a| a == "--tool") {
        let name = argv.get(2).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            let _ = writeln!(std::io::stderr(), "ctys: --tool needs a tool name (vnetctl, wakeup, ipmi, bmc, macros, groups, plugins, exec, distribute, machines, lab), got '{name}'");
            return EXIT_USAGE;
        }
        return tool_main(&name, argv.into_iter().skip(3).collect());
    }
    if argv.get(1).is_some_and(|a| a == "--gateway") && argv.len() == 2 {
        return gateway_main();
    }
    init_logging();
    let m = match command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion && argv.len() > 2 => {
            let _ = writeln!(std::io::stderr(), "ctys: --version takes no other arguments");
            return EXIT_USAGE;
        }
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let printed = e.print().map_err(|e| format!("cannot write to standard output: {e}")).and_then(|()| flush_stdout());
            return match printed {
                Err(why) if code == 0 => report("ctys", &HostError::new(EXIT_ENV, why)),
                _ => code,
            };
        }
    };
    exit_code("ctys", run(&m))
}

static GATEWAY_CANCEL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static GATEWAY_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn gateway_signal(sig: nix::libc::c_int) {
    GATEWAY_SIGNAL.store(sig, std::sync::atomic::Ordering::SeqCst);
    GATEWAY_CANCEL.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// `ctys --gateway`: what a controller runs over SSH on a topology's gateway (the protocol of
/// prim::remote::gateway on stdin and stdout). INT, TERM and HUP cancel the hosts' commands
/// (they are ended on their hosts) and end it with 128+N.
fn gateway_main() -> i32 {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    init_logging();
    let action = SigAction::new(SigHandler::Handler(gateway_signal), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to atomics.
        let _ = unsafe { sigaction(sig, &action) };
    }
    let code = crate::prim::remote::serve::serve(&GATEWAY_CANCEL);
    let _ = crate::prim::remote::pool::close_all();
    match GATEWAY_SIGNAL.load(std::sync::atomic::Ordering::SeqCst) {
        0 => code,
        sig => 128 + sig,
    }
}

/// A tool binary (`ctys-vnetctl`, `ctys-wakeup`, ...): `ctys.tools.<name>.main(argv)`.
pub fn tool_main(tool: &str, args: Vec<OsString>) -> i32 {
    init_logging();
    let prog = format!("ctys-{tool}");
    exit_code(&prog, (|| {
        let host = Host::new(HostOptions::default())?;
        let run: mlua::Function = host.require::<mlua::Table>("ctys.tool")?.get("run")?;
        run_main(&host, run.bind(tool)?, &args)
    })())
}

/// The program's name as called (`ctys-vnetctl` through a symlink).
fn base_name(p: &OsStr) -> String {
    Path::new(p).file_name().unwrap_or(p).to_string_lossy().into_owned()
}

fn run_main(host: &Host, main: mlua::Function, args: &[OsString]) -> Result<i32, HostError> {
    let code: Option<i64> = host.call(main, host.lua().create_sequence_from(host.strings(args)?)?)?;
    Ok(exit_value(code))
}

/// A Lua main's result as a process exit value (nothing returned is success).
fn exit_value(code: Option<i64>) -> i32 {
    code.unwrap_or(0).clamp(0, 255) as i32
}

fn run(m: &ArgMatches) -> Result<i32, HostError> {
    if let Some(dir) = m.get_one::<PathBuf>("dump-lua") {
        return dump_lua(dir).map(|()| 0);
    }
    let options = HostOptions {
        lua_path: m.get_many::<PathBuf>("lua-path").map(|v| v.cloned().collect()).unwrap_or_default(),
        ..HostOptions::default()
    };
    let host = Host::new(options)?;
    let args: Vec<OsString> = m.get_many::<OsString>("args").map(|v| v.cloned().collect()).unwrap_or_default();
    if let Some(paths) = m.get_many::<PathBuf>("test") {
        let mut files = Vec::new();
        for p in paths.map(PathBuf::as_path).chain(args.iter().map(Path::new)) {
            spec_files(p, &mut files)?;
        }
        let run: mlua::Function = host.require::<mlua::Table>("ctys.test")?.get("run")?;
        let failed: i64 = host.call(run, files)?;
        return Ok(if failed == 0 { 0 } else { EXIT_USAGE });
    }
    let chunks: Vec<&OsString> = m.get_many::<OsString>("eval").map(|v| v.collect()).unwrap_or_default();
    if !chunks.is_empty() && !args.is_empty() {
        return Err(HostError {
            code: EXIT_USAGE,
            message: format!("-e runs a chunk; it does not combine with a script or a ctys command line ('{}')", args[0].to_string_lossy()),
            traceback: None,
        });
    }
    for chunk in &chunks {
        let f = host.load(chunk.as_bytes(), "=(command line)")?;
        host.call::<()>(f, ())?;
    }
    let stdin_tty = std::io::stdin().is_terminal();
    match args.first() {
        Some(first) if first == "-" => run_stdin(&host, &args[1..]),
        Some(first) if is_script(first) => host.run_file(Path::new(first), &args[1..]).map(|()| 0),
        Some(_) => {
            let main: mlua::Function = host.require::<mlua::Table>("ctys.cli")?.get("main")?;
            run_main(&host, main, &args)
        }
        None if m.get_flag("repl") || (chunks.is_empty() && stdin_tty) => super::host::repl::run(&host).map(|()| 0),
        None if chunks.is_empty() => run_stdin(&host, &[]),
        None => Ok(0),
    }
}

/// A first argument that names a Lua script rather than starting a ctys command line.
fn is_script(first: &OsStr) -> bool {
    let b = first.as_bytes();
    !b.starts_with(b"-") && (b.ends_with(b".lua") || Path::new(first).is_file())
}

fn run_stdin(host: &Host, args: &[OsString]) -> Result<i32, HostError> {
    let src = crate::host::read_source(std::io::stdin(), "stdin").map_err(|e| HostError::new(EXIT_ENV, e))?;
    let f = host.load(&src, "=stdin")?;
    host.call::<()>(f, mlua::Variadic::from_iter(host.strings(args)?))?;
    Ok(0)
}

fn spec_files(p: &Path, out: &mut Vec<String>) -> Result<(), HostError> {
    let env_err = |e: std::io::Error| HostError { code: EXIT_ENV, message: format!("{}: {e}", p.display()), traceback: None };
    if p.is_dir() {
        let mut found: Vec<String> = std::fs::read_dir(p)
            .map_err(env_err)?
            .flatten()
            .map(|e| e.path())
            .filter(|f| f.to_str().is_some_and(|s| s.ends_with("_spec.lua")))
            .map(|f| f.display().to_string())
            .collect();
        found.sort();
        out.extend(found);
        Ok(())
    } else if p.is_file() {
        out.push(p.display().to_string());
        Ok(())
    } else {
        Err(env_err(std::io::Error::from(std::io::ErrorKind::NotFound)))
    }
}

/// Writes the embedded tree as a site directory (`DIR/ctys/...`, `DIR/meta/...`). Nothing is
/// written when any file already exists, so a site's edits are never overwritten.
fn dump_lua(dir: &Path) -> Result<(), HostError> {
    let env_err = |p: &Path, e: std::io::Error| HostError { code: EXIT_ENV, message: format!("{}: {e}", p.display()), traceback: None };
    let targets: Vec<(PathBuf, &str)> =
        embedded::FILES.iter().map(|(p, src)| (dir.join(embedded::site_path(p)), *src)).collect();
    if let Some((p, _)) = targets.iter().find(|(p, _)| p.exists()) {
        return Err(HostError {
            code: EXIT_ENV,
            message: format!("--dump-lua: {} already exists; nothing written", p.display()),
            traceback: None,
        });
    }
    for (p, src) in &targets {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| env_err(parent, e))?;
        }
        std::fs::write(p, src).map_err(|e| env_err(p, e))?;
    }
    writeln!(std::io::stdout(), "wrote {} files under {}", targets.len(), dir.display()).map_err(|e| env_err(dir, e))
}
