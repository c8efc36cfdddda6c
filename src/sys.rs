//! Thin wrappers over the syscalls that nix does not wrap (or wraps in a way
//! that does not fit), all returning `std::io::Error` so callers add context.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

pub fn cstr(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What `clone3` returned in the calling process.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// `clone3` without a new stack: behaves like `fork` with namespace flags.
/// The caller must be single-threaded.
pub fn clone3(flags: u64, cgroup_fd: Option<RawFd>) -> io::Result<Forked> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= 0x200000000; // CLONE_INTO_CGROUP
        args.cgroup = fd as u64;
    }
    // SAFETY: args is a valid clone_args of the size we pass; no CLONE_VM, so
    // the child gets a copy of the address space as with fork().
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// Plain fork, for the cases clone3 flags cannot express.
pub fn fork() -> io::Result<Forked> {
    clone3(0, None)
}

pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |c: Option<&CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is a valid NUL-terminated string or null.
    let ret = unsafe {
        libc::mount(
            p(source),
            target.as_ptr(),
            p(fstype),
            flags,
            p(data) as *const libc::c_void,
        )
    };
    check_int(ret).map(|_| ())
}

pub fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: valid C string.
    check_int(unsafe { libc::umount2(target.as_ptr(), flags) }).map(|_| ())
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> io::Result<()> {
    // SAFETY: valid C strings.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    check(ret).map(|_| ())
}

// openat2's resolve flags (linux/openat2.h).
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// `openat2(dirfd, path, flags, RESOLVE_*)`.
pub fn openat2(
    dirfd: RawFd,
    path: &CStr,
    flags: u64,
    mode: u64,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    // SAFETY: how is a valid open_how and path a valid C string.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    let fd = check(ret)?;
    // SAFETY: the kernel returned a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: valid C string.
    let fd = check_int(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, mode) })?;
    // SAFETY: new fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(option, arg2, 0, 0, 0) }).map(|_| ())
}

pub fn setns(fd: &impl AsRawFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall on a valid fd.
    check_int(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(|_| ())
}

pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall.
    check_int(unsafe { libc::unshare(flags) }).map(|_| ())
}

pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall.
    check_int(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

/// Marks every fd from `from` upwards close-on-exec. It runs after seccomp
/// is loaded: a profile that predates close_range (5.9) makes it fail with
/// EPERM or ENOSYS, and then each fd listed in /proc/self/fd is marked with
/// fcntl, the calls every profile allows (runc does only that).
pub fn cloexec_from(from: libc::c_uint) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    match check(ret) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => {
            cloexec_listed(from)
        }
        Err(e) => Err(e),
    }
}

/// cloexec_from by /proc/self/fd. The fd of the listing itself is marked
/// too, which is harmless: it is closed when the listing is dropped.
fn cloexec_listed(from: libc::c_uint) -> io::Result<()> {
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let name = entry?.file_name();
        let Some(fd) = name.to_str().and_then(|n| n.parse::<RawFd>().ok()) else {
            continue;
        };
        if fd < from as RawFd {
            continue;
        }
        // SAFETY: F_GETFD/F_SETFD only read and set the fd's flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            // The listing's own fd, closed since.
            continue;
        }
        // SAFETY: as above.
        check_int(unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
    }
    Ok(())
}

/// Resets every signal to its default action and unblocks all of them; used
/// by a freshly forked child before it runs container code.
pub fn reset_signals() {
    // SAFETY: resetting dispositions and the mask is always valid.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Waits for `pid`, returning its wait status; retries on EINTR.
pub fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> io::Result<(libc::pid_t, libc::c_int)> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out pointer.
        let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        return Ok((ret, status));
    }
}

/// Turns a wait status into the shell convention: exit code, or 128+signal.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// Closes every fd from `from` upwards except those in `keep`; used right
/// after clone3, when the child holds copies of the parent's fds (such as
/// the container lock, which must not outlive `runr create`).
pub fn close_fds_from_except(from: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut fds: Vec<RawFd> = Vec::new();
    for e in std::fs::read_dir("/proc/self/fd")? {
        if let Some(fd) = e?.file_name().to_str().and_then(|s| s.parse().ok()) {
            fds.push(fd);
        }
    }
    for fd in fds {
        if fd >= from && !keep.contains(&fd) {
            // SAFETY: closing an fd this process owns; nothing else uses it
            // in the child.
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

/// The parent pid of a process (field 4 of /proc/PID/stat).
pub fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// struct mount_attr (the libc crate does not have it).
#[repr(C)]
#[derive(Default)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

pub const AT_RECURSIVE: libc::c_uint = 0x8000;
pub const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// mount_setattr on the mount `fd` refers to (AT_EMPTY_PATH).
pub fn mount_setattr(fd: RawFd, recursive: bool, attr: &MountAttr) -> io::Result<()> {
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: empty path string, valid attr of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r).map(|_| ())
}

/// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`.
pub fn open_tree_clone(path: &CStr, recursive: bool) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE
        | libc::O_CLOEXEC as libc::c_uint
        | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid C string.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    let fd = check(r)?;
    // SAFETY: a new fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount of the detached tree `from` onto the inode `to` refers to.
pub fn move_mount_fds(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: empty paths with the EMPTY_PATH flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from,
            c"".as_ptr(),
            to,
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r).map(|_| ())
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of a procfs root directory.
const PROC_ROOT_INO: u64 = 1;

/// True when `fd` is on a procfs.
pub fn is_procfs(fd: RawFd) -> io::Result<bool> {
    // SAFETY: fstatfs into a zeroed struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_type as i64 == PROC_SUPER_MAGIC)
}

/// Writes to a file of procfs (sysctls, oom_score_adj, LSM attributes,
/// id maps), refusing when the path does not lead to the real procfs: an
/// image can put a fake /proc in the rootfs, and a mount can cover a
/// procfs file with another file, even another procfs file
/// (CVE-2019-16884, CVE-2025-52881). So /proc must be the root of a
/// procfs, the file is resolved beneath it without crossing any mount
/// point or magic link, and it is checked with fstatfs before the write.
pub fn write_proc(path: &str, value: &str) -> io::Result<()> {
    let refuse =
        |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, format!("{path} {why}"));
    let rest = path
        .strip_prefix("/proc/")
        .ok_or_else(|| refuse("is not under /proc"))?;
    let proc = open(
        c"/proc",
        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )?;
    // SAFETY: fstat into a zeroed struct on a valid fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(proc.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if !is_procfs(proc.as_raw_fd())? || st.st_ino != PROC_ROOT_INO {
        return Err(refuse(
            "is not on procfs: /proc is not the root of a procfs",
        ));
    }
    let rel = CString::new(rest).map_err(|_| refuse("has a NUL byte"))?;
    let f = openat2(
        proc.as_raw_fd(),
        &rel,
        (libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64,
        0,
        RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::EXDEV) => refuse("is covered by a mount: refusing to write through it"),
        _ => e,
    })?;
    if !is_procfs(f.as_raw_fd())? {
        return Err(refuse("is not on procfs"));
    }
    let mut f = std::fs::File::from(f);
    // One write: id maps must arrive whole.
    let n = io::Write::write(&mut f, value.as_bytes())?;
    if n != value.len() {
        return Err(refuse("took a short write"));
    }
    Ok(())
}

/// sendmsg of `payload` with `fd` attached (SCM_RIGHTS).
pub fn send_with_fd(sock: RawFd, payload: &[u8], fd: RawFd) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut _,
        iov_len: payload.len(),
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: msghdr and the control buffer are valid for the call; the
    // CMSG macros stay inside cbuf.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd);
        if libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// recvmsg of one message (up to `max` bytes) and the fd sent with it, if
/// any (close-on-exec). End of file is an UnexpectedEof error.
pub fn recv_with_fd(sock: RawFd, max: usize) -> io::Result<(Vec<u8>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; max];
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr points at valid buffers for the call; the fd taken
        // from the control message is new and ours.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = space;
            let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the other side exited",
                ));
            }
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            let fd = if !cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                Some(OwnedFd::from_raw_fd(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg) as *const RawFd,
                )))
            } else {
                None
            };
            buf.truncate(n as usize);
            return Ok((buf, fd));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount over a /proc file (the lxcfs case, or an attack) is never
    /// written through: checked in a child with a mount namespace of its
    /// own, so the host's /proc is not touched. Needs root.
    #[test]
    fn write_proc_refuses_a_file_covered_by_a_mount() {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root");
            return;
        }
        let fake = std::env::temp_dir().join(format!("runr-unit-proc-{}", std::process::id()));
        std::fs::write(&fake, "untouched\n").unwrap();
        let target = c"/proc/sys/kernel/domainname";
        let src = cstr(&fake).unwrap();
        // glibc's fork (not clone3): the test runner has other threads,
        // and the child allocates.
        // SAFETY: the child only mounts, writes and exits.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: a forked child that only mounts, writes and exits.
                let code = unsafe {
                    if libc::unshare(libc::CLONE_NEWNS) != 0 {
                        libc::_exit(2);
                    }
                    let none = std::ptr::null();
                    if libc::mount(
                        none,
                        c"/".as_ptr(),
                        none,
                        libc::MS_REC | libc::MS_PRIVATE,
                        none.cast(),
                    ) != 0
                        || libc::mount(
                            src.as_ptr(),
                            target.as_ptr(),
                            none,
                            libc::MS_BIND,
                            none.cast(),
                        ) != 0
                    {
                        libc::_exit(3);
                    }
                    match write_proc("/proc/sys/kernel/domainname", "evil") {
                        Err(e) if e.to_string().contains("is covered by a mount") => 0,
                        _ => 1,
                    }
                };
                unsafe { libc::_exit(code) }
            }
            pid => {
                assert!(pid > 0, "fork failed");
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                let content = std::fs::read_to_string(&fake).unwrap();
                let _ = std::fs::remove_file(&fake);
                assert_eq!(libc::WEXITSTATUS(status), 0, "status {status:#x}");
                assert_eq!(content, "untouched\n");
            }
        }
    }
}
