//! `exec`: run a new process in a running (or created) container.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{Process, Spec};

use super::state::{Locked, State, Status, Store};
use crate::cgroups::Cgroups;
use crate::config;
use crate::namespaces::Plan;
use crate::process::exec::{self as child, ExecArgs};
use crate::process::forward;
use crate::process::sync::{self, Message};
use crate::security::caps::{self, CapSets};
use crate::sys;

/// `runr exec` flags.
#[derive(Debug, Default, Clone)]
pub struct ExecOpts {
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub cgroup: Option<String>,
}

/// Runs the process; returns the exit code runr should exit with.
pub fn exec(store: &Store, id: &str, opts: &ExecOpts) -> Result<i32> {
    let (locked, state) = store.open(id)?;
    match locked.status(&state) {
        Status::Stopped => bail!("cannot exec in a stopped container"),
        Status::Paused if !opts.ignore_paused => {
            bail!("cannot exec in a paused container (use --ignore-paused to override)")
        }
        _ => {}
    }
    if opts.apparmor.is_some() || opts.process_label.is_some() {
        bail!("exec --apparmor and --process-label are not supported by runr yet");
    }
    let (process, caps) = build_process(&locked, opts)?;
    // exec'd processes get the container's seccomp filter, as with runc.
    let spec = locked.saved_spec()?;
    let seccomp = super::create::linux_seccomp(&spec)?;
    config::validate_process(&process)?;
    super::create::check_process_host_side(Some(&process), None)?;
    let plan = Plan::for_exec(state.pid)?;
    // In runr's own mount namespace there is none to join: the process is
    // chrooted where the init is.
    let root = state
        .host_mounts
        .as_ref()
        .map(|_| {
            let path = format!("/proc/{}/root", state.pid);
            sys::open(
                &sys::cstr(std::path::Path::new(&path))?,
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )
            .with_context(|| format!("open {path}"))
        })
        .transpose()?;
    let mut cgroups = cgroups_for(&state, opts.cgroup.as_deref())?;
    let terminal = process.terminal().unwrap_or(false);
    let (child_console, console) =
        super::create::console_for(terminal, opts.console_socket.as_deref(), opts.detach)?;

    let set = (!opts.detach).then(forward::block_all);
    let (parent, ch) = sync::pair().context("create sync socket")?;
    let into = cgroups.open_v2();
    // The child is in the container's pid namespace from birth: it must
    // be non-dumpable from its first instruction, not from its first
    // prctl (CVE-2019-5736). It inherits this; execve resets it.
    sys::prctl(libc::PR_SET_DUMPABLE, 0).context("set non-dumpable")?;
    let pid = match plan.spawn(into)? {
        sys::Forked::Child => {
            drop(parent);
            let console_fd = child_console.as_ref().map(|c| c.as_raw_fd());
            let root_fd = root.as_ref().map(|r| r.as_raw_fd());
            let keep = [ch.raw(), console_fd.unwrap_or(-1), root_fd.unwrap_or(-1)];
            let _ = sys::close_fds_from_except(3 + opts.preserve_fds as i32, &keep);
            child::run(ExecArgs {
                plan: &plan,
                channel: ch,
                process: &process,
                caps: &caps,
                preserve_fds: opts.preserve_fds,
                console: console_fd,
                seccomp: seccomp.as_ref(),
                root: root_fd,
            })
        }
        sys::Forked::Parent(pid) => pid,
    };
    drop(ch);
    drop(child_console);
    drop(root);
    crate::fault::point("exec:after-clone");
    if let Err(e) = start_child(&parent, pid, &cgroups, &spec, &state) {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::waitpid(pid, 0);
        return Err(e);
    }
    if let Some(pf) = &opts.pid_file {
        super::create::write_pid_file(pf, pid)?;
    }
    let Some(set) = set else { return Ok(0) };
    drop(locked);
    Ok(match console {
        Some(sock) => {
            let (master, _) =
                crate::terminal::recv_fd(sock.as_raw_fd()).context("receive the pty master")?;
            crate::terminal::proxy(master, pid, &set)
        }
        None => forward::wait_forwarding(pid, &set),
    })
}

/// Puts the child in the container's cgroups, lets it go, and waits for
/// the execve (the channel closes) or its error.
fn start_child(
    parent: &sync::Channel,
    pid: i32,
    cgroups: &Cgroups,
    spec: &Spec,
    state: &State,
) -> Result<()> {
    cgroups.add(pid)?;
    crate::fault::point("exec:after-cgroups");
    parent.send_proceed().context("start the exec process")?;
    loop {
        match parent.recv_any() {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok((Message::SeccompListener, Some(fd))) => {
                let mut hs = state.hook_state("running");
                hs.pid = pid;
                super::create::seccomp_agent(spec, &hs, fd.as_raw_fd())?;
                parent
                    .send(&Message::SeccompListenerDone)
                    .context("resume the exec process")?;
            }
            Ok((Message::Failed(msg), _)) => return Err(anyhow!(msg)),
            Ok((other, _)) => bail!("sync: unexpected {other:?} from the exec process"),
            Err(e) => return Err(e).context("sync with the exec process"),
        }
    }
}

/// The container's cgroups, or a sub-cgroup of them (`--cgroup PATH`, or
/// `--cgroup CONTROLLER:PATH` for one hierarchy).
fn cgroups_for(state: &State, sub: Option<&str>) -> Result<Cgroups> {
    let mut cg = Cgroups::from_paths(&state.cgroup_paths);
    if let Some(sub) = sub {
        let (ctrl, path) = match sub.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, sub),
        };
        let rel = path.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            bail!("invalid --cgroup {sub:?}: must stay inside the container's cgroup");
        }
        for (mount, p) in cg.paths.iter_mut() {
            let name = std::path::Path::new(mount)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            if ctrl.is_none() || name.as_deref() == ctrl {
                *p = p.join(rel);
            }
        }
    }
    Ok(cg)
}

/// The process to run: process.json as given, or the container's own
/// process with exec's flags applied.
fn build_process(locked: &Locked, opts: &ExecOpts) -> Result<(Process, CapSets)> {
    if let Some(file) = &opts.process_file {
        let bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
        return config::parse_process(&bytes)
            .with_context(|| format!("process {}", file.display()));
    }
    if opts.args.is_empty() {
        bail!("exec: no command given: pass ARGS or --process");
    }
    let saved = locked.dir.join("config.json");
    let bytes = std::fs::read(&saved).with_context(|| format!("read {}", saved.display()))?;
    let (spec, mut caps) = config::parse(&bytes)?;
    let mut p = spec
        .process()
        .clone()
        .context("the container's config.json has no process: pass --process")?;
    p.set_args(Some(opts.args.clone()));
    p.set_terminal(Some(opts.tty));
    if let Some(cwd) = &opts.cwd {
        p.set_cwd(cwd.clone());
    }
    if !opts.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for e in &opts.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|old| old.split('=').next() != Some(key));
            env.push(e.clone());
        }
        p.set_env(Some(env));
    }
    let mut user = p.user().clone();
    if let Some(u) = &opts.user {
        let (uid, gid) = parse_user(u)?;
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    if !opts.additional_gids.is_empty() {
        user.set_additional_gids(Some(opts.additional_gids.clone()));
    }
    p.set_user(user);
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    let (mask, unknown) = caps::mask_of(opts.caps.iter().map(String::as_str));
    if !unknown.is_empty() {
        bail!("unknown capabilities: {unknown:?}");
    }
    caps.bounding |= mask;
    caps.effective |= mask;
    caps.permitted |= mask;
    // Never inheritable (CVE-2022-29162); ambient only where inheritable
    // bits already exist, as runc does.
    if caps.inheritable != 0 {
        caps.ambient |= mask;
    }
    Ok((p, caps))
}

/// `--user uid[:gid]`, numeric only.
pub fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || anyhow!("invalid --user {s:?}: runr takes a numeric uid[:gid]");
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_numeric_uid_and_optional_gid() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:50").unwrap(), (1000, Some(50)));
        assert!(parse_user("nobody")
            .unwrap_err()
            .to_string()
            .contains("numeric"));
        assert!(parse_user("1:x").is_err());
    }
}
