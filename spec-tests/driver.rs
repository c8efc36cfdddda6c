//! runr-spec-test: the project's OCI runtime-spec conformance suite.
//!
//!   runr-spec-test RUNTIME                     one runtime; exit 0 if all pass
//!   runr-spec-test --report FILE RT1 RT2 ...   a per-section table of several
//!
//! Each case builds a bundle from a base config, drives the runtime through
//! its command line only (create, start, state, kill, delete, as runtime.md
//! defines them) and checks the result: from the host (state, namespaces)
//! or from inside with runr-spec-check, which prints TAP.

mod cases;
mod harness;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::Env;

/// Why runc 1.1.5 (Debian 12) fails cases here: where it deviates from
/// the runtime spec or lacks a field.
const KNOWN_RUNC_DEVIATIONS: &str = "
Known runc 1.1.5 deviations behind its failures (runr follows the spec):

- hooks order: config.md says poststart hooks \"MUST be called after the user-specified process
  is executed but before the start operation returns\"; runc 1.1.5 runs them inside create, so
  they read status `created` rather than `running` on stdin.
- failing startContainer hook: config.md says \"if a hook returns a non-zero exit code, then
  an error MUST be generated\" (runtime.md: \"generate an error, stop the container\"); runc
  1.1.5's start exits 0 (and leaves the poststop hooks to the later delete).
- failing poststart hook: runtime.md says \"the runtime MUST log a warning, but the remaining
  hooks and lifecycle continue as if the hook had succeeded\"; runc 1.1.5 fails create.
- failing poststop hook: runtime.md says the same of poststop; runc 1.1.5's delete exits 0 but
  skips the poststop hooks after the failing one.
- tmpfs mode=: config.md mounts take the filesystem's options (mount(8)); runc 1.1.5 chmods a
  tmpfs to the mode of the directory it is mounted on, so `mode=` is lost when that exists.
- ociVersion: config.md says ociVersion is REQUIRED and \"MUST be in SemVer v2.0.0 format\";
  runc 1.1.5 creates a container without one or with `not-a-version` (runtime.md lets a
  runtime validate config.json; runr does).
- personality: `linux.personality` arrived in runc 1.2; 1.1.5 ignores it (the process keeps
  x86_64).
- process.scheduler, process.ioPriority, process.execCPUAffinity: these config.md fields arrived
  in runc 1.2; 1.1.5 ignores them (the process keeps SCHED_OTHER, no I/O priority, every CPU).
- time namespace: `{\"type\": \"time\"}` and `timeOffsets` arrived in runc 1.2; 1.1.5 refuses
  the namespace type (\"namespace time does not exist\").
- domainname: runc 1.1.5 leaves the UTS domain name unset (`(none)`) although config.md says
  it \"MUST\" be set in the container's UTS namespace; as it ignores the field, it also
  accepts a domainname without a UTS namespace of the container's own.
- rootfsPropagation shared: config-linux.md says \"the rootfs mount belongs to a new peer
  group\"; runc 1.1.5 sets it on / before binding the rootfs, then makes the parent private for
  pivot_root, so the rootfs comes out private (no `shared:N` in mountinfo).
- rootfsPropagation slave: config-linux.md says the rootfs \"receives propagation events from the
  host\"; runc 1.1.5 makes the rootfs's parent mount private for pivot_root, so a mount made
  on the host under the rootfs never reaches the container.
- rootfsPropagation unbindable: runc 1.1.5 makes / unbindable and then bind-mounts the rootfs
  from it: create fails (\"flags: 0x5000: invalid argument\").
- personality: an unknown domain is accepted too (1.1.5 ignores `linux.personality`).
- memoryPolicy (runtime-spec 1.3): 1.1.5 ignores `linux.memoryPolicy`; the process keeps
  MPOL_DEFAULT.
- user namespace joined by path: config-linux.md says the runtime \"MUST place the container
  process in the namespace associated with that path\"; 1.1.5 refuses a joined user namespace
  without uidMappings (\"User namespaces enabled, but no uid mappings found\"), though the
  namespace has its maps already.
- time namespace: also joined by path (\"namespace time does not exist\").
- listed /dev/null: a config listing /dev/null itself (devices MUST be available) fails create
  in 1.1.5: \"error reopening /dev/null inside container: open /dev/null: operation not
  permitted\".
- existing file at a device path: config-linux.md says \"If a file already exists at path that
  does not match the requested device, the runtime MUST generate an error\"; 1.1.5 ignores the
  EEXIST from mknod and goes on.
- memory.kernelTCP: 1.1.5 ignores it; this v1 kernel has memory.kmem.tcp.limit_in_bytes and
  takes the value.
- cpu.burst and cpu.idle: arrived in runc 1.2; 1.1.5 leaves cpu.cfs_burst_us and cpu.idle at 0.
- seccomp errnoRet with SCMP_ACT_KILL: config-linux.md says \"When the action doesn't support an
  errno, the runtime MUST print and error and fail\"; 1.1.5 loads the filter.
- seccomp flags: 1.1.5 refuses every `flags` value (\"seccomp flags are not yet supported by
  runc\"); its features document lists none either.
- mount options ratime, rnostrictatime, remount: features.md says the runtime \"MUST recognize
  the elements\" of mountOptions; runc 1.1.5 lists them but a bind mount with each fails (the
  kernel refuses clearing one atime bit: EINVAL; remount of the fresh bind fails).
- no mount namespace: runtime.md says delete MUST delete the resources create made; runc
  1.1.5 leaves the container's proc, dev, sys (and more) mounted under the rootfs in the
  runtime's mount namespace after delete, so the next such container on that rootfs fails
  (\"mount sysfs ... device or resource busy\"). It also refuses masked and readonly paths
  without a mount namespace of the container's own (\"unable to restrict sys entries without a
  private MNT namespace\"), though config-linux.md says the namespace is then inherited.
- no process: config.md says process is OPTIONAL and \"REQUIRED when start is called\"; runc
  1.1.5 refuses a config without one at create (\"process property must not be empty\").
- idmap mounts: a mount's uidMappings/gidMappings arrived in runc 1.2; 1.1.5 ignores them, so
  in a container with its own user namespace the bind shows the overflow ids (65534).
";

/// Removes the suite's directory. A runtime that leaves mounts in this
/// mount namespace (runc 1.1.5 after a container without a mount namespace
/// of its own) has them unmounted first, deepest first; the directory is
/// kept if any stays, so that nothing is deleted through a mount.
fn remove_dir(dir: &Path) {
    let under = || -> Vec<String> {
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut v: Vec<String> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(|m| m.replace("\\040", " "))
            .filter(|m| Path::new(m).starts_with(dir))
            .collect();
        v.sort_by_key(|m| std::cmp::Reverse(Path::new(m).components().count()));
        v
    };
    for m in under() {
        let c = std::ffi::CString::new(m).unwrap();
        // SAFETY: a valid C string.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let left = under();
    if !left.is_empty() {
        eprintln!(
            "{}: {} mounts left by the runtime under it (e.g. {}); not removing it",
            dir.display(),
            left.len(),
            left[0]
        );
        return;
    }
    let _ = fs::remove_dir_all(dir);
}

fn setup(rt: &Path, tag: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("runr-spec-{}-{tag}", std::process::id()));
    remove_dir(&dir);
    let rootfs = dir.join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("a static /bin/busybox (busybox-static)");
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for app in String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| *a != "busybox")
    {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(app)).unwrap();
    }
    for d in [
        "proc", "sys", "dev", "tmp", "etc", "spec", "scratch", "hostbin", "hooks",
    ] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let checker = std::env::current_exe()
        .unwrap()
        .with_file_name("runr-spec-check");
    fs::copy(&checker, rootfs.join("spec-check"))
        .unwrap_or_else(|e| panic!("copy {}: {e}", checker.display()));
    Env {
        rt: rt.to_path_buf(),
        root: dir.join("state"),
        dir,
        rootfs,
        n: std::cell::Cell::new(0),
    }
}

fn run_all(
    rt: &Path,
    tag: &str,
    quiet: bool,
) -> Vec<(&'static str, &'static str, Result<(), String>)> {
    let env = setup(rt, tag);
    let mut out = Vec::new();
    for (i, case) in cases::all().into_iter().enumerate() {
        // A panicking case fails alone; the rest run and the cleanup below
        // still happens.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match case.check {
            Some(f) => f(&env, case.name),
            None => {
                let mut c = env.base();
                (case.patch)(&mut c, &env);
                env.run_checker(c)
            }
        }))
        .unwrap_or_else(|p| {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("the case panicked: {why}"))
        });
        if !quiet {
            match &r {
                Ok(()) => println!(
                    "ok {} - {}: {} ({})",
                    i + 1,
                    case.section,
                    case.name,
                    case.must
                ),
                Err(e) => println!(
                    "not ok {} - {}: {} ({}) # {e}",
                    i + 1,
                    case.section,
                    case.name,
                    case.must
                ),
            }
        }
        out.push((case.section, case.name, r));
    }
    // Nothing may be left: force-delete whatever a failed case left.
    if let Ok(rd) = fs::read_dir(&env.root) {
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = Command::new(&env.rt)
                .arg("--root")
                .arg(&env.root)
                .args(["delete", "--force", &id])
                .output();
        }
    }
    remove_dir(&env.dir);
    out
}

/// "runc version 1.1.5+ds1" for the report's column: the first line of
/// `RT --version`, or the path when it has none.
fn version_of(rt: &str) -> String {
    std::process::Command::new(rt)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| rt.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--report") {
        let file = args.get(1).expect("--report FILE RUNTIME...");
        let mut table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut names = Vec::new();
        let mut details = String::new();
        let mut totals = Vec::new();
        for (i, rt) in args[2..].iter().enumerate() {
            let res = run_all(Path::new(rt), &format!("r{i}"), true);
            let label = version_of(rt);
            names.push(label.clone());
            let mut by: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
            let total = res.iter().filter(|r| r.2.is_ok()).count();
            totals.push(format!("**{total} passed, {} failed**", res.len() - total));
            for (sec, name, r) in &res {
                let e = by.entry(sec).or_default();
                match r {
                    Ok(()) => e.0 += 1,
                    Err(err) => {
                        e.1 += 1;
                        details.push_str(&format!(
                            "- {label}: {sec}: {name}: {}\n",
                            err.replace('\n', " ")
                        ));
                    }
                }
            }
            for (sec, (p, f)) in by {
                table
                    .entry(sec)
                    .or_default()
                    .push(format!("{p} passed, {f} failed"));
            }
        }
        let mut md = format!("# Spec conformance: {}\n\nGenerated by `make spec-test-report` (spec-tests/driver.rs).\n\n| section | {} |\n|---|{}\n",
            names.join(" vs "), names.join(" | "), "---|".repeat(names.len()));
        for (sec, cols) in &table {
            md.push_str(&format!("| {sec} | {} |\n", cols.join(" | ")));
        }
        md.push_str(&format!("| **all** | {} |\n", totals.join(" | ")));
        md.push_str("\nFailures:\n\n");
        md.push_str(if details.is_empty() {
            "none\n"
        } else {
            &details
        });
        md.push_str(KNOWN_RUNC_DEVIATIONS);
        fs::write(file, md).expect("write the report");
        println!("wrote {file}");
        return;
    }
    let rt = PathBuf::from(
        args.first()
            .expect("usage: runr-spec-test RUNTIME | --report FILE RUNTIME..."),
    );
    let res = run_all(&rt, "one", false);
    let mut by: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (sec, _, r) in &res {
        let e = by.entry(sec).or_default();
        if r.is_ok() {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    for (sec, (p, f)) in &by {
        println!("# {sec}: {p} passed, {f} failed");
    }
    let failed = res.iter().filter(|r| r.2.is_err()).count();
    println!("{} passed, {failed} failed", res.len() - failed);
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
