//! OCI hooks: each runs with the container state as JSON on stdin, its
//! own args and env, and an optional timeout. Where each kind runs (the
//! runtime's or the container's namespaces) is up to the caller:
//! prestart and createRuntime in `create`'s parent before pivot_root,
//! createContainer in the init before pivot_root, startContainer in the
//! init before execve, poststart in `start`, poststop in `delete`. A
//! failing poststart or poststop hook is a warning; any other is an error.

use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{Hook, Hooks, Spec};
use serde::Serialize;

/// The state a hook reads on stdin (runtime-spec state.md).
#[derive(Debug, Serialize)]
pub struct HookState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    /// 0 (left out) once a failed create has no process.
    #[serde(skip_serializing_if = "no_pid")]
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<&'a std::collections::HashMap<String, String>>,
}

fn no_pid(pid: &i32) -> bool {
    *pid == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    fn list(self, h: &Hooks) -> &[Hook] {
        let v = match self {
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        v.as_deref().unwrap_or_default()
    }
}

/// The hooks of one kind in a spec.
pub fn of(spec: &Spec, kind: Kind) -> &[Hook] {
    spec.hooks()
        .as_ref()
        .map(|h| kind.list(h))
        .unwrap_or_default()
}

/// Runs every hook of a kind, in order; the first failure stops them.
pub fn run(spec: &Spec, kind: Kind, state: &HookState) -> Result<()> {
    let hooks = of(spec, kind);
    if hooks.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_vec(state)?;
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &json)
            .with_context(|| format!("{} hook #{i} ({})", kind.name(), h.path().display()))?;
    }
    Ok(())
}

/// Runs every hook of a kind, in order, logging a warning for each one
/// that fails: the rest still run (runtime-spec lifecycle: poststart and
/// poststop failures are warnings, "the remaining hooks and lifecycle
/// continue as if the hook had succeeded").
pub fn run_warn(spec: &Spec, kind: Kind, state: &HookState) {
    let hooks = of(spec, kind);
    if hooks.is_empty() {
        return;
    }
    let json = match serde_json::to_vec(state) {
        Ok(j) => j,
        Err(e) => return crate::logging::warn(&format!("{} hooks: state: {e}", kind.name())),
    };
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, &json) {
            crate::logging::warn(&format!(
                "{} hook #{i} ({}): {e:#}",
                kind.name(),
                h.path().display()
            ));
        }
    }
}

fn memfd(name: &str) -> Result<std::fs::File> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: valid C string; the fd is new and owned by the File.
    let fd = unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    Ok(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

fn run_one(h: &Hook, state: &[u8]) -> Result<()> {
    let args = h.args().as_deref().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for e in h.env().as_deref().unwrap_or_default() {
        match e.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => cmd.env(e, ""),
        };
    }
    let mut out = memfd("hook-stdout")?;
    let mut err = memfd("hook-stderr")?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(err.try_clone()?));
    let mut child = cmd.spawn().context("start")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state);
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(st) = child.try_wait().context("wait")? {
            break st;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {}s", h.timeout().unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if status.success() {
        return Ok(());
    }
    let read = |f: &mut std::fs::File| {
        let mut s = String::new();
        let _ = f.rewind();
        let _ = f.read_to_string(&mut s);
        s.trim().to_string()
    };
    Err(anyhow!(
        "{status}, stdout: {:?}, stderr: {:?}",
        read(&mut out),
        read(&mut err)
    ))
}
