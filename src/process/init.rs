//! The container's init, from clone3 to execve. Runs single-threaded in the
//! new namespaces; every failure goes back to the parent as one message.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use super::finish;
use super::sync::{Channel, Message};
use crate::config::Config;
use crate::hooks::{self, Kind};
use crate::namespaces::Plan;
use crate::{phase, rootfs, sys};

/// What the init needs, prepared by the parent before clone3.
pub struct InitArgs<'a> {
    pub id: &'a str,
    pub config: &'a Config,
    pub plan: &'a Plan,
    pub channel: Channel,
    /// O_PATH fd of `<state>/exec.fifo`, opened on the host side.
    pub fifo: OwnedFd,
    pub no_pivot: bool,
    /// In runr's own mount namespace (rootfs::hostns).
    pub host_mountns: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub cgroup_paths: &'a std::collections::BTreeMap<String, PathBuf>,
    /// The compiled linux.seccomp filter.
    pub seccomp: Option<&'a crate::security::seccomp::Filter>,
    /// A socket to send the pty master on (process.terminal).
    pub console: Option<std::os::fd::RawFd>,
}

/// Runs the init; never returns.
pub fn run(args: InitArgs) -> ! {
    sys::reset_signals();
    let code = match setup(&args) {
        Ok(exe) => match wait_and_exec(&args, exe) {
            Ok(never) => match never {},
            Err(e) => {
                // The parent is gone by now: stderr is all that is left.
                eprintln!("runr init: {e:#}");
                127
            }
        },
        Err(e) => {
            let _ = args.channel.send_failed(&format!("{e:#}"));
            1
        }
    };
    // SAFETY: leave without running the parent's atexit handlers.
    unsafe { libc::_exit(code) }
}

/// Everything that can fail and be reported at create time. Returns the
/// resolved executable (none without a process).
fn setup(a: &InitArgs) -> Result<Option<CString>> {
    // With a joined user namespace the init's parent is an intermediate that
    // exits at once; then a closed channel is what tells of the parent's death.
    if a.plan.join_user.is_none() {
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)
            .context("set parent death signal")?;
    }
    // Runtime code must not be inspectable from inside the container
    // (CVE-2019-5736). A new user namespace's maps are written by runr
    // before Proceed, through /proc/PID files that a non-dumpable process
    // hands to root: an unprivileged runr could not open them. Nothing
    // runs in a new user namespace before then.
    if !a.plan.new_user {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).context("set non-dumpable")?;
    }
    // The idmapped mounts' trees, made on the host side; closed when
    // setup returns, before the exec.
    let idmapped = a.channel.expect_proceed().map_err(|e| anyhow!(e))?;
    if a.plan.new_user {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).context("set non-dumpable")?;
    }
    let spec = &a.config.spec;
    // None: the container is made but cannot be started (`start` refuses).
    let process = spec.process().as_ref();

    if a.plan.in_userns() {
        // SAFETY: plain syscalls; root of the namespace is mapped by now.
        if unsafe { libc::setresgid(0, 0, 0) } != 0 || unsafe { libc::setresuid(0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error())
                .context("become root in the user namespace");
        }
    }
    a.plan.join_in_child()?;
    if a.plan.new_cgroup {
        // Only now that the parent has moved the init into its cgroups does
        // a new cgroup namespace get them as its root.
        sys::unshare(libc::CLONE_NEWCGROUP).context("unshare cgroup namespace")?;
    }
    if !a.no_new_keyring {
        join_session_keyring(a.id)?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("set hostname {h}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: pointer and length of a valid buffer.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("set domainname {d}"));
        }
    }
    let setup = rootfs::Setup {
        spec,
        rootfs: &a.config.rootfs,
        bundle: &a.config.bundle,
        no_pivot: a.no_pivot,
        host_mountns: a.host_mountns,
        userns: a.plan.in_userns(),
        cgroupns: a.plan.new_cgroup,
        cgroup_paths: a.cgroup_paths,
        mount_label: spec
            .linux()
            .as_ref()
            .and_then(|l| l.mount_label().as_deref()),
        idmapped: &idmapped,
    };
    let timer = phase::start();
    rootfs::prepare(&setup)?;
    timer
        .send("mounts", &a.channel)
        .context("report a timing")?;
    if !hooks::of(spec, Kind::Prestart).is_empty()
        || !hooks::of(spec, Kind::CreateRuntime).is_empty()
    {
        a.channel
            .send(&Message::CreateHooks)
            .context("ask for create hooks")?;
        a.channel
            .expect(Message::CreateHooksDone)
            .map_err(|e| anyhow!(e))?;
    }
    hooks::run(spec, Kind::CreateContainer, &hook_state(a, "creating"))?;
    let timer = phase::start();
    rootfs::enter(&setup)?;
    timer
        .send("pivot_root", &a.channel)
        .context("report a timing")?;
    if let Some(fd) = a.console {
        crate::terminal::setup_pty(fd, process.and_then(console_size))?;
        // SAFETY: the console socket is ours and used no more.
        unsafe { libc::close(fd) };
        // The pty slave is stdin now.
        rootfs::devices::console(0)?;
    }
    let linux = spec.linux().as_ref();
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        write_sysctls(sysctl)?;
    }
    if let Some(l) = linux {
        rootfs::readonly_paths(l.readonly_paths().as_deref().unwrap_or_default())?;
        rootfs::mask_paths(l.masked_paths().as_deref().unwrap_or_default())?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        rootfs::readonly_root()?;
    }
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        crate::security::attrs::personality(p)?;
    }
    if let Some(m) = linux.and_then(|l| l.memory_policy().as_ref()) {
        crate::security::attrs::memory_policy(m)?;
    }
    let timer = phase::start();
    let exe = match process {
        Some(p) => Some(finish::prepare(
            p,
            &a.config.caps,
            a.seccomp.map(|f| (f, &a.channel)),
        )?),
        None => None,
    };
    timer.send("exec", &a.channel).context("report a timing")?;
    a.channel.send_ready().context("report ready")?;
    a.channel
        .expect(Message::Recorded)
        .map_err(|e| anyhow!(e))?;
    // From here on the init outlives `runr create`.
    sys::prctl(libc::PR_SET_PDEATHSIG, 0).context("clear parent death signal")?;
    a.channel.send_released().context("report release")?;
    Ok(exe)
}

/// process.consoleSize as (rows, columns).
pub fn console_size(p: &oci_spec::runtime::Process) -> Option<(u16, u16)> {
    p.console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16))
}

/// The state hooks run from the init see (its pid as the init sees it).
fn hook_state<'a>(a: &'a InitArgs, status: &'a str) -> hooks::HookState<'a> {
    hooks::HookState {
        oci_version: crate::container::OCI_VERSION,
        id: a.id,
        status,
        // SAFETY: getpid cannot fail.
        pid: unsafe { libc::getpid() },
        bundle: &a.config.bundle,
        annotations: a.config.spec.annotations().as_ref(),
    }
}

/// A fresh session keyring, so containers do not share the host's keys.
fn join_session_keyring(name: &str) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let n = CString::new(format!("_ses.{name}")).unwrap_or_default();
    // SAFETY: keyctl with a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, n.as_ptr()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        // Keyrings may be unavailable (ENOSYS) or denied to a user namespace.
        if !matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS) | Some(libc::EACCES) | Some(libc::EPERM)
        ) {
            return Err(e).context("join session keyring");
        }
    }
    Ok(())
}

fn write_sysctls(sysctl: &std::collections::HashMap<String, String>) -> Result<()> {
    for (key, value) in sysctl {
        if key.contains("..") || key.starts_with('/') {
            bail!("invalid sysctl key {key:?}");
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        sys::write_proc(&path, value).with_context(|| format!("write sysctl {key}={value}"))?;
    }
    Ok(())
}

/// Blocks on the exec fifo until `runr start`, runs the startContainer
/// hooks, reports to `start` through the fifo ("0", or "1" and the error),
/// then execs the process (a failed exec adds "1" and the error).
fn wait_and_exec(a: &InitArgs, exe: Option<CString>) -> Result<std::convert::Infallible> {
    let fifo_path = CString::new(format!("/proc/self/fd/{}", a.fifo.as_raw_fd()))?;
    let w = sys::open(&fifo_path, libc::O_WRONLY, 0).context("open exec fifo")?;
    let report = |msg: &[u8]| {
        // SAFETY: writing from a valid buffer.
        unsafe { libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) }
    };
    // `start` refuses a container without a process before it opens the
    // fifo; whoever opened it anyway is told why nothing runs.
    let (Some(exe), Some(process)) = (exe, a.config.spec.process().as_ref()) else {
        let msg = "config.json has no process to start";
        report(format!("1{msg}").as_bytes());
        bail!(msg);
    };
    if let Err(e) = hooks::run(
        &a.config.spec,
        Kind::StartContainer,
        &hook_state(a, "created"),
    ) {
        report(format!("1{e:#}").as_bytes());
        return Err(e);
    }
    if report(b"0") != 1 {
        return Err(std::io::Error::last_os_error()).context("write exec fifo");
    }
    // The write end stays open (close-on-exec) until the execve: `runr
    // start` sees end-of-file exactly when the process has been exec'd.
    let r = finish::exec(process, &exe, a.preserve_fds);
    if let Err(e) = &r {
        // `start` has read "0" and reads on until end-of-file: what
        // follows tells it the exec failed, and why.
        report(format!("1{e:#}").as_bytes());
    }
    drop(w);
    r
}
