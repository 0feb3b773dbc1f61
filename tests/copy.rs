//! ctys.remote.copy and fetch over SFTP against real private sshds on 127.0.0.x (the hosts share
//! this machine's file system, so each test gives each host its own directory through the
//! destination's host part only where it must): trees and large files round-trip byte for byte,
//! a file into an existing directory lands inside it, a missing source fails before anything
//! connects, a reverse copy of 100 MB streams, a full or read-only file system fails that host
//! alone and leaves nothing half-written under a final name.
mod common;

use std::path::Path;
use std::process::Command;

use common::netns::privileged;
use common::sshd::Sshd;
use common::{bin, split, TempDir};

fn lua(sshd: &Sshd, script: &str) -> (i32, String, String) {
    let f = sshd.home.write("copy.lua", script);
    split(bin("ctys", sshd.home.path()).arg(f).output().unwrap())
}

fn hosts(sshd: &Sshd, n: usize) -> String {
    (0..n).map(|i| format!("{:?},", sshd.target(i))).collect()
}

/// Every regular file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn leftovers(dir: &Path) -> Vec<String> {
    let o = Command::new("find").arg(dir).args(["-name", ".*.ctys-*"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect()
}

#[test]
fn trees_and_files_round_trip_and_land_where_cp_would_put_them() {
    let sshd = Sshd::start(130, 3);
    let src = TempDir::new("copysrc");
    src.write("tree/a.txt", "alpha\n");
    src.write("tree/sub/deeper/b.bin", &"\u{1}\u{2}".repeat(5000));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(src.path().join("big"), &big).unwrap();
    let dst = TempDir::new("copydst");
    std::fs::create_dir(dst.path().join("existing")).unwrap();
    let (s, d) = (src.path().display(), dst.path().display());
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local hosts = {{ {h} }}
               local function show(res)
                 for _, r in ipairs(res) do print(r.err or string.format("%s %d %d %s", r.host:match("^[%d.]+"), r.files, r.bytes, table.concat(r.paths, ","))) end
               end
               show(assert(ctys.remote.copy{{ hosts = hosts, src = {{ "{s}/tree", "{s}/big" }}, dest = "{d}/new" }}))
               show(assert(ctys.remote.copy{{ hosts = hosts, src = "{s}/big", dest = "{d}/existing" }}))
               show(assert(ctys.remote.copy{{ hosts = {{ hosts[1] }}, src = "{s}/big", dest = "{d}/renamed", mode = 384, preserve = true }}))
               print(ctys.remote.copy{{ hosts = hosts, src = {{ "{s}/big", "{s}/missing" }}, dest = "{d}/never" }})
               show(assert(ctys.remote.fetch{{ hosts = hosts, src = "{d}/new", dest = "{d}/back" }}))"#,
            h = hosts(&sshd, 3)
        ),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    for i in 0..3 {
        assert_eq!(lines[i], format!("127.0.0.{} 3 3010006 {d}/new/tree,{d}/new/big", 130 + i), "{out}");
        assert_eq!(lines[3 + i], format!("127.0.0.{} 1 3000000 {d}/existing/big", 130 + i), "a file into an existing directory lands inside it: {out}");
    }
    assert_eq!(lines[6], format!("127.0.0.130 1 3000000 {d}/renamed"));
    assert!(lines[7].starts_with("nil\t") && lines[7].ends_with("/missing: no such file or directory\tnotfound"), "{out}");
    assert!(!dst.path().join("never").exists(), "nothing was made for a missing source");
    let want = tree(src.path());
    let mut got = tree(&dst.path().join("new"));
    got.sort();
    assert_eq!(got, want, "copy is byte for byte");
    assert_eq!(std::fs::read(dst.path().join("existing/big")).unwrap(), big);
    use std::os::unix::fs::MetadataExt;
    let (m_src, m_dst) = (std::fs::metadata(src.path().join("big")).unwrap(), std::fs::metadata(dst.path().join("renamed")).unwrap());
    assert_eq!((m_dst.mode() & 0o7777, m_dst.mtime()), (0o600, m_src.mtime()), "mode and preserve");
    for i in 0..3 {
        let back = dst.path().join(format!("back/127.0.0.{}:{}/new", 130 + i, sshd.port));
        assert_eq!(tree(&back), want, "fetched from host {i}");
    }
    assert!(leftovers(dst.path()).is_empty(), "{:?}", leftovers(dst.path()));
}

#[test]
fn a_100_mb_reverse_copy_streams_in_flat_memory() {
    let sshd = Sshd::start(134, 1);
    let d = TempDir::new("copy100");
    let f = std::fs::File::create(d.path().join("hundred")).unwrap();
    f.set_len(100 << 20).unwrap();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local r = assert(ctys.remote.fetch{{ hosts = {{ {h} }}, src = "{p}/hundred", dest = "{p}/back" }})[1]
               assert(not r.err, r.err)
               print(r.bytes, ctys.fs.read("/proc/self/status"):match("VmHWM:%s*(%d+) kB"))"#,
            h = hosts(&sshd, 1),
            p = d.path().display()
        ),
    );
    assert_eq!(code, 0, "{err}");
    let (bytes, hwm) = out.trim().split_once('\t').unwrap();
    assert_eq!(bytes, (100u64 << 20).to_string());
    let hwm_kb: u64 = hwm.parse().unwrap();
    assert!(hwm_kb < 64 * 1024, "peak RSS {hwm_kb} kB for a 100 MB fetch");
    assert_eq!(std::fs::metadata(d.path().join(format!("back/127.0.0.134:{}/hundred", sshd.port))).unwrap().len(), 100 << 20);
}

#[test]
fn a_full_or_read_only_file_system_fails_that_host_alone() {
    if !privileged("a_full_or_read_only_file_system_fails_that_host_alone") {
        return;
    }
    let sshd = Sshd::start(136, 2);
    let d = TempDir::new("copyfull");
    let small = d.path().join("small");
    let ro = d.path().join("ro");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    let mount = |args: &[&str]| assert!(Command::new("mount").args(args).status().unwrap().success(), "mount {args:?}");
    mount(&["-t", "tmpfs", "-o", "size=1m", "ctys-test", small.to_str().unwrap()]);
    mount(&["-t", "tmpfs", "-o", "size=1m,ro", "ctys-test", ro.to_str().unwrap()]);
    struct Unmount(Vec<std::path::PathBuf>);
    impl Drop for Unmount {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = Command::new("umount").arg(p).status();
            }
        }
    }
    let _u = Unmount(vec![small.clone(), ro.clone()]);
    std::fs::write(small.join("keep"), "old\n").unwrap();
    std::fs::write(d.path().join("two-mb"), vec![7u8; 2 << 20]).unwrap();
    std::fs::write(d.path().join("ok"), "fits\n").unwrap();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local hosts = {{ {h} }}
               for _, dest in ipairs {{ "{p}/small/keep", "{p}/ro/x" }} do
                 for _, r in ipairs(assert(ctys.remote.copy{{ hosts = hosts, src = "{p}/two-mb", dest = dest }})) do print(r.kind, r.err) end
               end
               for _, r in ipairs(assert(ctys.remote.copy{{ hosts = hosts, src = "{p}/ok", dest = "{p}/small/ok" }})) do print(r.files, r.err) end"#,
            h = hosts(&sshd, 2),
            p = d.path().display()
        ),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for l in &lines[..4] {
        assert!(!l.starts_with("nil"), "each host's failure is reported: {out}");
    }
    assert!(lines[2].starts_with("permission\t") || lines[2].starts_with("io\t"), "{out}");
    assert_eq!(&lines[4..], ["1\tnil", "1\tnil"], "a copy that fits still works: {out}");
    assert_eq!(std::fs::read_to_string(small.join("keep")).unwrap(), "old\n", "the old file is intact");
    assert!(leftovers(&small).is_empty(), "temporary files removed: {:?}", leftovers(&small));
}

/// The pids of the sshd processes serving connections to `addr:port`.
fn session_pids(addr: &str, port: u16) -> Vec<i32> {
    let o = Command::new("ss").args(["-Htnp", "state", "established", "src", &format!("{addr}:{port}")]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    text.split("pid=").skip(1).filter_map(|s| s.split(',').next()?.parse().ok()).collect()
}

#[test]
fn a_host_that_drops_mid_copy_fails_alone_and_no_final_name_is_half_written() {
    let sshd = Sshd::start(138, 2);
    let d = TempDir::new("copydrop");
    let big = d.path().join("big");
    // 300 MB, so the copy is still running when the second host's sshd goes.
    std::fs::File::create(&big).unwrap().set_len(300 << 20).unwrap();
    let script = sshd.home.write(
        "drop.lua",
        &format!(
            r#"for _, r in ipairs(assert(ctys.remote.copy{{ hosts = {{ {h} }}, src = "{p}/big", dest = "{p}/out/" }})) do print(r.host, r.kind, r.bytes) end"#,
            h = hosts(&sshd, 2),
            p = d.path().display()
        ),
    );
    let child = bin("ctys", sshd.home.path()).arg(script).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Once temporary files are being written, the second host's session processes end.
    common::wait_until("both copies to start", 30, || std::fs::read_dir(d.path().join("out")).is_ok_and(|r| r.count() >= 2));
    for pid in session_pids("127.0.0.139", sshd.port) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let (code, out, err) = split(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("127.0.0.138:{}\tnil\t{}", sshd.port, 300u64 << 20), "{out}");
    let f: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(f[0], format!("127.0.0.139:{}", sshd.port));
    assert!(f[1] != "nil" && f[2] == "nil", "the dropped host failed: {out}");
    // The final name holds the whole file (from the first host); a partial copy exists only
    // under a hidden temporary name, if at all.
    assert_eq!(std::fs::metadata(d.path().join("out/big")).unwrap().len(), 300 << 20);
    let names: Vec<String> = std::fs::read_dir(d.path().join("out")).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| n == "big" || n.starts_with(".big.ctys-")), "{names:?}");
}
