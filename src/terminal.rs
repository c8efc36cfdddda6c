//! Terminals: the pty made inside the container (its own devpts), the
//! master handed over a console socket with SCM_RIGHTS (runc's protocol:
//! containerd and conmon receive it), and the foreground proxy that `run`
//! and `exec -t` use when no console socket is given.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::sys;

/// Connects to an engine's console socket.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s = UnixStream::connect(path)
        .with_context(|| format!("connect to console socket {}", path.display()))?;
    Ok(OwnedFd::from(s))
}

/// A connected pair: one end for the container side, one to receive on.
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    let (a, b) = UnixStream::pair().context("create console socket pair")?;
    Ok((OwnedFd::from(a), OwnedFd::from(b)))
}

/// Sends `fd` with `name` as the payload, as runc's utils.SendFd does.
pub fn send_fd(sock: RawFd, fd: RawFd, name: &[u8]) -> io::Result<()> {
    sys::send_with_fd(sock, name, fd)
}

/// Receives one fd sent with `send_fd`; returns it and the payload.
pub fn recv_fd(sock: RawFd) -> io::Result<(OwnedFd, Vec<u8>)> {
    match sys::recv_with_fd(sock, 4096)? {
        (payload, Some(fd)) => Ok((fd, payload)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no file descriptor received",
        )),
    }
}

fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn get_winsize(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ into a zeroed winsize.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0).then_some(ws)
}

/// Container side: opens a pty on the container's /dev/ptmx, sends the
/// master over `console`, and makes the slave this process's stdio and
/// controlling terminal.
pub fn setup_pty(console: RawFd, size: Option<(u16, u16)>) -> Result<()> {
    let master =
        sys::open(c"/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY, 0).context("open /dev/ptmx")?;
    // SAFETY: plain ioctls/calls on the master fd.
    unsafe {
        if libc::unlockpt(master.as_raw_fd()) != 0 {
            return Err(io::Error::last_os_error()).context("unlockpt");
        }
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: name is a valid buffer of its length.
    if unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) } != 0 {
        return Err(io::Error::last_os_error()).context("ptsname");
    }
    // SAFETY: ptsname_r wrote a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    // Open the peer through the master: no path lookup that could be raced.
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: TIOCGPTPEER returns a new fd.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(io::Error::last_os_error()).context("open the pty slave");
    }
    // SAFETY: a new fd we own.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if let Some((rows, cols)) = size {
        set_winsize(slave.as_raw_fd(), rows, cols).context("set console size")?;
    }
    send_fd(console, master.as_raw_fd(), name.to_bytes())
        .context("send the pty master to the console socket")?;
    drop(master);
    // SAFETY: session and terminal setup on fds we own.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error()).context("setsid");
        }
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) < 0 {
            return Err(io::Error::last_os_error()).context("set controlling terminal");
        }
        for fd in 0..3 {
            if libc::dup2(slave.as_raw_fd(), fd) < 0 {
                return Err(io::Error::last_os_error()).context("make the pty stdio");
            }
        }
    }
    Ok(())
}

/// Puts a terminal in raw mode and restores it when dropped.
struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios calls on a valid fd with valid structs.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the saved attributes.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// True if stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty on fd 0.
    unsafe { libc::isatty(0) == 1 }
}

/// Refuses a foreground terminal without one to proxy.
pub fn require_stdin_tty() -> Result<()> {
    if !stdin_is_tty() {
        bail!("cannot allocate tty: stdin is not a terminal (run under a terminal or pass --console-socket)");
    }
    Ok(())
}

fn write_all(fd: RawFd, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: writing from a valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Proxies runr's terminal and the pty master until `pid` exits, forwarding
/// signals (SIGWINCH resizes the pty). All signals must be blocked (see
/// `process::forward::block_all`). Returns the exit code.
pub fn proxy(master: OwnedFd, pid: i32, set: &libc::sigset_t) -> i32 {
    let _raw = RawMode::enter(0);
    if let Some(ws) = get_winsize(0) {
        let _ = set_winsize(master.as_raw_fd(), ws.ws_row, ws.ws_col);
    }
    // SAFETY: signalfd over the blocked set.
    let sfd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) };
    let mut stdin_open = true;
    let mut master_open = true;
    let mut code: Option<i32> = None;
    let mut buf = [0u8; 8192];
    loop {
        if code.is_some() && !master_open {
            break;
        }
        let mut fds = [
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // Once the process is gone, drain what the pty still holds.
        let timeout = if code.is_some() { 100 } else { -1 };
        // SAFETY: a valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
        if n == 0 {
            break;
        }
        if n < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            // SAFETY: reading into a valid buffer.
            let r = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                write_all(1, &buf[..r as usize]);
            } else {
                master_open = false; // EIO: every slave fd is closed
            }
        }
        if fds[2].revents != 0 {
            // SAFETY: as above.
            let r = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                write_all(master.as_raw_fd(), &buf[..r as usize]);
            } else {
                stdin_open = false;
            }
        }
        if fds[0].revents != 0 {
            // SAFETY: signalfd reads whole siginfo records.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            if unsafe { libc::read(sfd, (&mut info as *mut libc::signalfd_siginfo).cast(), size) }
                != size as isize
            {
                continue;
            }
            match info.ssi_signo as i32 {
                libc::SIGCHLD => {
                    while let Ok((p, status)) = sys::waitpid(-1, libc::WNOHANG) {
                        if p <= 0 {
                            break;
                        }
                        if p == pid {
                            code = Some(sys::exit_code(status));
                        }
                    }
                }
                libc::SIGWINCH => {
                    if let Some(ws) = get_winsize(0) {
                        let _ = set_winsize(master.as_raw_fd(), ws.ws_row, ws.ws_col);
                    }
                }
                libc::SIGURG => {}
                s => {
                    let _ = sys::kill(pid, s);
                }
            }
        }
    }
    // SAFETY: closing our signalfd.
    unsafe { libc::close(sfd) };
    match code {
        Some(c) => c,
        // The pty closed first: wait for the exit status itself.
        None => sys::waitpid(pid, 0)
            .map(|(_, st)| sys::exit_code(st))
            .unwrap_or(255),
    }
}
