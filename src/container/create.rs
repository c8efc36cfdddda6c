//! `create`: set up the container's init and leave it blocked on the exec
//! fifo. A failure at any step removes everything made so far.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context, Result};

use super::state::{proc_stat, Locked, State, Store};
use super::OCI_VERSION;
use crate::cgroups::{devices, Cgroups};
use crate::config::{self, Config};
use crate::hooks::{self, HookState, Kind};
use crate::namespaces::{self, Plan};
use crate::process::init::{self, InitArgs};
use crate::process::sync::{self, Channel, Message};
use crate::rootfs::hostns::HostMounts;
use crate::{phase, sys, terminal};

#[derive(Debug, Default, Clone)]
pub struct CreateOpts {
    /// Rootless mode: cgroups only where the caller may make them.
    pub rootless: bool,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `create` and `run -d`: runr returns while the container runs, so a
    /// terminal needs a console socket.
    pub detach: bool,
}

/// A container whose init waits for `start`.
pub struct Created {
    pub locked: Locked,
    pub state: State,
    /// Foreground terminal (`run` without a console socket): the socket on
    /// which the init sent the pty master.
    pub console: Option<OwnedFd>,
}

/// Where the init's pty master goes, by runc's rules: the console socket
/// given, or (foreground only) a socket pair runr itself reads.
/// Returns (the init's end, runr's end).
pub fn console_for(
    terminal: bool,
    socket: Option<&Path>,
    detach: bool,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match (terminal, socket) {
        (false, Some(_)) => bail!("cannot use console socket if runr will not allocate tty"),
        (false, None) => Ok((None, None)),
        (true, Some(path)) => Ok((Some(terminal::connect(path)?), None)),
        (true, None) if detach => {
            bail!("cannot allocate tty if runr will detach without setting console socket")
        }
        (true, None) => {
            terminal::require_stdin_tty()?;
            let (ours, theirs) = terminal::pair()?;
            Ok((Some(theirs), Some(ours)))
        }
    }
}

pub fn create(store: &Store, id: &str, opts: &CreateOpts) -> Result<Created> {
    let timer = phase::start();
    let config = config::load(&opts.bundle)?;
    timer.done("parse");
    let terminal = config
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let (init_console, console) =
        console_for(terminal, opts.console_socket.as_deref(), opts.detach)?;
    let locked = store.create(id)?;
    let mut cleanup = Cleanup {
        locked: Some(locked),
        cgroups: None,
        pid: None,
        host_mounts: None,
    };
    let state = match setup(store, id, opts, &config, init_console, &mut cleanup) {
        Ok(s) => s,
        Err(e) => {
            // runtime-spec lifecycle: a failed create is destroyed (step
            // 12), then the poststop hooks run (step 13), as runc does.
            let pid = cleanup.pid.unwrap_or(0);
            drop(cleanup);
            let state = HookState {
                oci_version: OCI_VERSION,
                id,
                status: "stopped",
                pid,
                bundle: &config.bundle,
                annotations: config.spec.annotations().as_ref(),
            };
            hooks::run_warn(&config.spec, Kind::Poststop, &state);
            return Err(e);
        }
    };
    let locked = cleanup.disarm();
    Ok(Created {
        locked,
        state,
        console,
    })
}

/// Undoes a half-made container when dropped armed.
struct Cleanup {
    locked: Option<Locked>,
    cgroups: Option<Cgroups>,
    pid: Option<i32>,
    /// The rootfs and what was mounted under it before (rootfs::hostns).
    host_mounts: Option<(PathBuf, HostMounts)>,
}

impl Cleanup {
    fn disarm(mut self) -> Locked {
        self.cgroups = None;
        self.pid = None;
        self.host_mounts = None;
        self.locked.take().expect("cleanup holds the lock")
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, 0);
        }
        if let Some((rootfs, h)) = &self.host_mounts {
            if let Err(e) = crate::rootfs::hostns::remove(rootfs, h) {
                crate::logging::warn(&format!("{e:#}"));
            }
        }
        if let Some(cg) = &self.cgroups {
            let _ = cg.kill_all();
            let _ = cg.destroy();
        }
        if let Some(l) = self.locked.take() {
            let _ = l.remove();
        }
    }
}

fn setup(
    store: &Store,
    id: &str,
    opts: &CreateOpts,
    config: &Config,
    console: Option<OwnedFd>,
    cleanup: &mut Cleanup,
) -> Result<State> {
    let spec = &config.spec;
    let plan = Plan::from_spec(spec)?;
    let seccomp = linux_seccomp(spec)?;
    check_process_host_side(
        spec.process().as_ref(),
        spec.linux()
            .as_ref()
            .and_then(|l| l.mount_label().as_deref()),
    )?;
    let linux = spec.linux().as_ref();
    let cgroups_path = linux.and_then(|l| l.cgroups_path().as_deref());
    let resources = linux.and_then(|l| l.resources().as_ref());
    let host_mounts = if plan.shares_mount_ns()? {
        rootfs_not_shared(store, id, &config.rootfs)?;
        Some(crate::rootfs::hostns::snapshot(&config.rootfs)?)
    } else {
        None
    };
    // A first record, before anything is made: if runr dies from here
    // on, `delete --force` finds the cgroups to remove.
    let mut state = State {
        oci_version: OCI_VERSION.to_string(),
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: config.bundle.clone(),
        rootfs: config.rootfs.clone(),
        created: crate::timefmt::rfc3339_nano(SystemTime::now()),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_paths: Cgroups::planned(cgroups_path, id)?,
        shared_pid_ns: !plan.new_pid,
        hooks: spec.hooks().is_some(),
        no_process: spec.process().is_none(),
        host_mounts: host_mounts.clone(),
    };
    cleanup.locked.as_ref().expect("locked").write(&state)?;
    cleanup.host_mounts = host_mounts.map(|h| (config.rootfs.clone(), h));
    let timer = phase::start();
    let cg = if opts.rootless {
        Cgroups::create_rootless(cgroups_path, id)?
    } else {
        Cgroups::create(cgroups_path, id)?
    };
    let rules = devices::rules(
        linux
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.devices().as_deref())
            .unwrap_or_default(),
    );
    let cgroup_paths = cg.paths.clone();
    cleanup.cgroups = Some(cg);
    let cg = cleanup.cgroups.as_ref().expect("just set");
    if let Some(r) = resources {
        cg.apply(r, false)?;
    }
    match cg.apply_devices(&rules) {
        // Device rules need privilege; a rootless container keeps the
        // devices its user namespace allows (as runc ignores them).
        Err(e) if opts.rootless => crate::logging::debug(&format!("rootless: {e:#}")),
        r => r?,
    }
    timer.done("cgroup");

    // The cgroups a rootless runr could really make.
    if state.cgroup_paths != cgroup_paths {
        state.cgroup_paths = cgroup_paths.clone();
        cleanup.locked.as_ref().expect("locked").write(&state)?;
    }
    crate::fault::point("create:after-cgroups");

    let dir = cleanup.locked.as_ref().expect("locked").dir.clone();
    let fifo_path = dir.join(super::state::EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .with_context(|| format!("create exec fifo {}", fifo_path.display()))?;
    // mkfifo honours the umask; the init may run as any user.
    std::fs::set_permissions(
        &fifo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .context("chmod exec fifo")?;
    let fifo = sys::open(&sys::cstr(&fifo_path)?, libc::O_PATH, 0).context("open exec fifo")?;
    let (parent, child) = sync::pair().context("create sync socket")?;

    let timer = phase::start();
    plan.prepare_parent(spec)?;
    let into = cleanup.cgroups.as_mut().and_then(|c| c.open_v2());
    // The init inherits non-dumpable from birth (CVE-2019-5736), except
    // in a new user namespace made by an unprivileged runr: that one must
    // open the init's /proc files to write its id maps (the init turns
    // non-dumpable itself before anything runs in the container).
    // SAFETY: geteuid cannot fail.
    if !plan.new_user || unsafe { libc::geteuid() } == 0 {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).context("set non-dumpable")?;
    }
    let forked = plan.spawn(into)?;
    let pid = match forked {
        sys::Forked::Child => {
            drop(parent);
            let console_fd = console.as_ref().map(|c| c.as_raw_fd());
            let keep = [child.raw(), fifo.as_raw_fd(), console_fd.unwrap_or(-1)];
            let _ = sys::close_fds_from_except(3 + opts.preserve_fds as i32, &keep);
            init::run(InitArgs {
                id,
                config,
                plan: &plan,
                channel: child,
                fifo,
                no_pivot: opts.no_pivot,
                host_mountns: state.host_mounts.is_some(),
                no_new_keyring: opts.no_new_keyring,
                preserve_fds: opts.preserve_fds,
                cgroup_paths: &cgroup_paths,
                console: console_fd,
                seccomp: seccomp.as_ref(),
            })
        }
        sys::Forked::Parent(pid) => pid,
    };
    timer.done("clone");
    drop(child);
    drop(fifo);
    drop(console);
    cleanup.pid = Some(pid);
    crate::fault::point("create:after-clone");
    let must_join = !opts.rootless || resources.is_some_and(crate::cgroups::has_limits);
    parent_side(
        &parent,
        id,
        pid,
        config,
        cleanup,
        must_join,
        plan.in_userns(),
    )?;
    crate::fault::point("create:after-ready");

    let stat =
        proc_stat(pid).ok_or_else(|| anyhow!("container init {pid} exited during create"))?;
    state.pid = pid;
    state.pid_start = stat.start_time;
    let locked = cleanup.locked.as_ref().expect("locked");
    // exec builds its process from the config as it was at create.
    std::fs::write(locked.dir.join("config.json"), &config.raw)
        .context("save config.json in the state directory")?;
    locked.write(&state)?;
    if let Some(pf) = &opts.pid_file {
        write_pid_file(pf, pid)?;
    }
    crate::fault::point("create:after-state");
    parent.send_recorded().context("release the init")?;
    parent.expect(Message::Released).map_err(|e| anyhow!(e))?;
    Ok(state)
}

/// Two containers in runr's mount namespace on one rootfs would mount on
/// the same paths, and the first deleted would unmount the other's.
fn rootfs_not_shared(store: &Store, id: &str, rootfs: &Path) -> Result<()> {
    for other in store.ids()?.into_iter().filter(|o| o != id) {
        let Ok(bytes) = std::fs::read(store.root().join(&other).join(super::state::STATE_FILE))
        else {
            continue;
        };
        let Ok(st) = super::state::parse(&bytes) else {
            continue;
        };
        if st.host_mounts.is_some() && st.rootfs == rootfs {
            bail!(
                "rootfs {} is in use by container {other}, which has no mount namespace either: delete it first",
                rootfs.display()
            );
        }
    }
    Ok(())
}

fn parent_side(
    ch: &Channel,
    id: &str,
    pid: i32,
    config: &Config,
    cleanup: &Cleanup,
    must_join: bool,
    userns: bool,
) -> Result<()> {
    namespaces::write_id_maps(pid, &config.spec)?;
    // Idmapping needs privilege over the host's user namespace, which the
    // init in its own lacks: the trees are made here and attached there.
    for (index, tree) in crate::rootfs::idmap::trees(&config.spec, &config.bundle, pid, userns)? {
        ch.send_idmap_mount(index, tree.as_raw_fd())
            .context("hand an idmapped mount to the init")?;
    }
    if let Some(devs) = config
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
    {
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
            .context("open the container's network namespace")?;
        crate::netdev::move_all(devs, &ns)?;
    }
    if let Some(cg) = &cleanup.cgroups {
        match cg.add(pid) {
            Err(e) if !must_join => crate::logging::debug(&format!("rootless: {e:#}")),
            r => r?,
        }
    }
    ch.send_proceed().context("start the init")?;
    let state = HookState {
        oci_version: OCI_VERSION,
        id,
        status: "creating",
        pid,
        bundle: &config.bundle,
        annotations: config.spec.annotations().as_ref(),
    };
    loop {
        match ch.recv_any().context("sync: waiting for the init")? {
            (Message::CreateHooks, _) => {
                hooks::run(&config.spec, Kind::Prestart, &state)?;
                hooks::run(&config.spec, Kind::CreateRuntime, &state)?;
                ch.send(&Message::CreateHooksDone)
                    .context("resume the init")?;
            }
            (Message::SeccompListener, Some(fd)) => {
                seccomp_agent(&config.spec, &state, fd.as_raw_fd())?;
                ch.send(&Message::SeccompListenerDone)
                    .context("resume the init")?;
            }
            (Message::Phase { name, nanos }, _) => {
                phase::log(&name, std::time::Duration::from_nanos(nanos))
            }
            (Message::Ready, _) => return Ok(()),
            (Message::Failed(msg), _) => bail!("{msg}"),
            (other, _) => bail!("sync: expected Ready, got {other:?}"),
        }
    }
}

/// Hands a seccomp listener fd to the agent at linux.seccomp.listenerPath.
pub fn seccomp_agent(
    spec: &oci_spec::runtime::Spec,
    state: &HookState,
    fd: std::os::fd::RawFd,
) -> Result<()> {
    let sc = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .context("no linux.seccomp")?;
    let path = sc
        .listener_path()
        .as_ref()
        .context("no linux.seccomp.listenerPath")?;
    let meta = sc.listener_metadata().as_deref().unwrap_or("");
    crate::security::seccomp::send_to_agent(path, meta, state, fd)
}

/// What must hold on the host before a process is started: the LSM it
/// asks for is running; its initial CPU affinity (which the parent takes,
/// so the child starts on those CPUs) is valid.
pub fn check_process_host_side(
    p: Option<&oci_spec::runtime::Process>,
    mount_label: Option<&str>,
) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    crate::security::lsm::check(
        p.apparmor_profile().as_deref(),
        p.selinux_label().as_deref(),
        mount_label,
    )?;
    if let Some(initial) = p
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
    {
        crate::security::attrs::cpu_affinity(&initial)
            .context("process.execCPUAffinity.initial")?;
    }
    Ok(())
}

/// The compiled linux.seccomp, if any.
pub fn linux_seccomp(
    spec: &oci_spec::runtime::Spec,
) -> Result<Option<crate::security::seccomp::Filter>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(crate::security::seccomp::Filter::new)
        .transpose()
}

/// The pid file, written atomically as runc does.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, pid.to_string().as_bytes()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| format!("write pid file {}", path.display()))
}
