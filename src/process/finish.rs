//! The last steps before a container process runs, shared by the init and
//! by exec: rlimits, oom score, user and capabilities, no_new_privs, cwd,
//! umask, the PATH lookup, and the execve with only the allowed fds.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Process;

use std::os::fd::AsRawFd;

use super::sync::{Channel, Message};
use crate::security::caps::CapSets;
use crate::security::seccomp::Filter;
use crate::{security, sys};

/// Loads the seccomp filter and, for notify rules, passes the listener
/// fd to the parent, which hands it to the agent.
fn load_seccomp(filter: &Filter, channel: &Channel) -> Result<()> {
    if let Some(fd) = filter.load()? {
        channel
            .send_with_fd(&Message::SeccompListener, fd.as_raw_fd())
            .context("pass the seccomp listener fd")?;
        channel
            .expect(Message::SeccompListenerDone)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Applies the process's settings; returns the resolved executable.
/// Seccomp needs no_new_privs or CAP_SYS_ADMIN: without noNewPrivileges
/// it is loaded before the capabilities are dropped, with it after, as
/// runc does.
pub fn prepare(
    process: &Process,
    caps: &CapSets,
    seccomp: Option<(&Filter, &Channel)>,
) -> Result<CString> {
    security::rlimits::apply(process.rlimits().as_deref().unwrap_or_default())?;
    if let Some(adj) = process.oom_score_adj() {
        sys::write_proc("/proc/self/oom_score_adj", &adj.to_string())
            .with_context(|| format!("set oom_score_adj to {adj}"))?;
    }
    if let Some(s) = process.scheduler() {
        security::attrs::scheduler(s)?;
    }
    if let Some(p) = process.io_priority() {
        security::attrs::io_priority(p)?;
    }
    if let Some(cpus) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().clone())
    {
        security::attrs::cpu_affinity(&cpus)?;
    }
    security::lsm::apply(
        process.apparmor_profile().as_deref(),
        process.selinux_label().as_deref(),
    )?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    if let (Some((f, ch)), false) = (seccomp, nnp) {
        load_seccomp(f, ch)?;
    }
    security::user::switch(process.user(), caps)?;
    if nnp {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).context("set no_new_privs")?;
        if let Some((f, ch)) = seccomp {
            load_seccomp(f, ch)?;
        }
    }
    std::env::set_current_dir(process.cwd()).with_context(|| {
        format!(
            "chdir to cwd ({}) set in config.json",
            process.cwd().display()
        )
    })?;
    // A cwd reached through a leaked fd (/proc/self/fd/N, CVE-2024-21626)
    // lies outside the root: the kernel reports it "(unreachable)".
    // (glibc turns that into ENOENT.)
    let inside = match std::env::current_dir() {
        Ok(p) => p.is_absolute() && !p.starts_with("(unreachable)"),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => false,
        // getcwd refused (a seccomp rule): the check cannot be made.
        Err(e) => bail!(
            "check that cwd {} is inside the container's root: getcwd: {}",
            process.cwd().display(),
            crate::logging::tidy(&e.to_string())
        ),
    };
    if !inside {
        bail!(
            "cwd {} is outside the container's root",
            process.cwd().display()
        );
    }
    let umask = process.user().umask().unwrap_or(0o022);
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(umask as libc::mode_t) };
    let args = process.args().as_deref().unwrap_or_default();
    let env = process.env().as_deref().unwrap_or_default();
    let name = args.first().context("process.args must not be empty")?;
    look_path(name, env)
}

/// args[0] looked up in the PATH of the process's own environment.
pub fn look_path(name: &str, env: &[String]) -> Result<CString> {
    let executable = |p: &Path| {
        let Ok(c) = sys::cstr(p) else { return false };
        // SAFETY: valid C string.
        p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
    };
    if name.contains('/') {
        if executable(Path::new(name)) {
            return Ok(sys::cstr(Path::new(name))?);
        }
        // Go's words, as runc prints them.
        let why = match std::fs::metadata(name) {
            Err(e) => crate::logging::tidy(&e.to_string()),
            Ok(m) if m.is_dir() => "is a directory".to_string(),
            Ok(_) => "permission denied".to_string(),
        };
        bail!("exec: {name:?}: stat {name}: {why}");
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(name);
        if executable(&cand) {
            return Ok(sys::cstr(&cand)?);
        }
    }
    bail!("exec: {name:?}: executable file not found in $PATH")
}

/// Marks every fd above stdio and the preserved ones close-on-exec, then
/// execs the process. Returns only on failure.
pub fn exec(
    process: &Process,
    exe: &CString,
    preserve_fds: u32,
) -> Result<std::convert::Infallible> {
    let cstrings = |v: &[String]| -> Result<Vec<CString>> {
        v.iter()
            .map(|s| CString::new(s.as_bytes()).context("NUL byte in args or env"))
            .collect()
    };
    let argv = cstrings(process.args().as_deref().unwrap_or_default())?;
    let envp = cstrings(process.env().as_deref().unwrap_or_default())?;
    sys::cloexec_from(3 + preserve_fds).context("close inherited fds")?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of valid C strings.
    unsafe { libc::execve(exe.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    let e = std::io::Error::last_os_error();
    Err(e).with_context(|| {
        format!(
            "exec {:?}",
            PathBuf::from(OsStr::from_bytes(exe.as_bytes()))
        )
    })
}
