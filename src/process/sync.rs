//! The typed channel between `runr create` (parent, on the host) and the
//! container's init (child). A SOCK_SEQPACKET socketpair: one datagram is
//! one JSON-encoded message, so no framing is needed.
//!
//! ```text
//!  parent                                   init
//!    | clone3 -------------------------------> | (blocks in recv)
//!    | uid/gid maps, cgroup.procs, devices     |
//!    | idmapped mounts as detached trees       |
//!    | ------ IdmapMount{index} (+fd) -------> | (one per idmapped bind
//!    |                                         |  mount, kept for the mounts)
//!    | ---------------- Proceed -------------> |
//!    |                                         | namespaces, mounts
//!    | <------ Phase (--debug only) ---------- | after mounts, pivot_root
//!    |                                         | and exec's preparation
//!    | <------------ CreateHooks ------------- | (only if there are
//!    | prestart, createRuntime hooks           |  such hooks)
//!    | ------------ CreateHooksDone ---------> |
//!    |                                         | createContainer hooks, pivot,
//!    |                                         | sysctl, rlimits, user, caps,
//!    |                                         | seccomp
//!    | <--- SeccompListener (+fd) ------------ | (only for notify rules)
//!    | fd and state to the agent               |
//!    | --------- SeccompListenerDone --------> |
//!    | <-------- Ready | Failed(msg) --------- |
//!    | state.json, pid file                    |
//!    | ---------------- Recorded ------------> |
//!    |                                         | clear pdeathsig
//!    | <--------------- Released ------------- |
//!    | exit 0                                  | block on exec.fifo until
//!                                              | `runr start`
//! ```

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// parent → init, with a detached mount tree attached: the idmapped
    /// bind mount for config.json's mounts[index], to be attached there.
    IdmapMount { index: usize },
    /// parent → init: the init's id maps and cgroups are in place.
    Proceed,
    /// init → parent: the mounts are done; run the prestart and
    /// createRuntime hooks now, before pivot_root.
    CreateHooks,
    /// parent → init: those hooks ran.
    CreateHooksDone,
    /// init (or exec child) → parent, with the seccomp listener fd
    /// attached: hand it to the agent at listenerPath.
    SeccompListener,
    /// parent → init: the agent has the fd.
    SeccompListenerDone,
    /// init → parent: everything is set up; only the exec is left.
    Ready,
    /// parent → init: the state is recorded; wait for `start`.
    Recorded,
    /// init → parent: the init no longer dies with the parent, which may
    /// exit now.
    Released,
    /// init → parent: setup failed; the message carries the whole context.
    Failed(String),
    /// init → parent, with `--debug` only: how long one phase of the
    /// init's setup took, for the parent to log (see `crate::phase`).
    Phase { name: String, nanos: u64 },
}

/// One end of the channel.
pub struct Channel {
    fd: OwnedFd,
}

/// Creates the pair: (parent end, child end). Both are close-on-exec.
pub fn pair() -> io::Result<(Channel, Channel)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid two-element array.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel gave us two new fds.
    unsafe {
        Ok((
            Channel {
                fd: OwnedFd::from_raw_fd(fds[0]),
            },
            Channel {
                fd: OwnedFd::from_raw_fd(fds[1]),
            },
        ))
    }
}

impl Channel {
    pub fn raw(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Message) -> io::Result<()> {
        let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
        // SAFETY: buf is a valid buffer; MSG_NOSIGNAL avoids SIGPIPE.
        let r = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends a message with a file descriptor attached (SCM_RIGHTS).
    pub fn send_with_fd(&self, msg: &Message, fd: std::os::fd::RawFd) -> io::Result<()> {
        let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
        crate::sys::send_with_fd(self.fd.as_raw_fd(), &buf, fd)
    }

    /// Receives one message and the file descriptor sent with it, if any;
    /// end of file (the peer died or exec'd) is an UnexpectedEof error.
    pub fn recv_any(&self) -> io::Result<(Message, Option<OwnedFd>)> {
        let (payload, fd) = crate::sys::recv_with_fd(self.fd.as_raw_fd(), 64 * 1024)?;
        let m = serde_json::from_slice(&payload).map_err(io::Error::other)?;
        Ok((m, fd))
    }

    /// Receives one message; end of file (the peer died) is an error.
    pub fn recv(&self) -> io::Result<Message> {
        self.recv_any().map(|(m, _)| m)
    }

    /// Receives a message and checks it is the one the protocol expects
    /// here; a `Failed` from the peer becomes the error.
    pub fn expect(&self, want: Message) -> Result<(), String> {
        match self.recv() {
            Ok(m) if m == want => Ok(()),
            Ok(Message::Failed(msg)) => Err(msg),
            Ok(other) => Err(format!("sync: expected {want:?}, got {other:?}")),
            Err(e) => Err(format!("sync: waiting for {want:?}: {e}")),
        }
    }

    pub fn send_idmap_mount(&self, index: usize, tree: std::os::fd::RawFd) -> io::Result<()> {
        self.send_with_fd(&Message::IdmapMount { index }, tree)
    }

    /// Init side: waits for Proceed, keeping the idmapped mount trees sent
    /// before it, by mount index.
    pub fn expect_proceed(&self) -> Result<BTreeMap<usize, OwnedFd>, String> {
        let mut trees = BTreeMap::new();
        loop {
            match self.recv_any() {
                Ok((Message::IdmapMount { index }, Some(fd))) => {
                    trees.insert(index, fd);
                }
                Ok((Message::Proceed, _)) => return Ok(trees),
                Ok((Message::Failed(msg), _)) => return Err(msg),
                Ok((other, _)) => return Err(format!("sync: expected Proceed, got {other:?}")),
                Err(e) => return Err(format!("sync: waiting for Proceed: {e}")),
            }
        }
    }

    pub fn send_proceed(&self) -> io::Result<()> {
        self.send(&Message::Proceed)
    }
    pub fn send_ready(&self) -> io::Result<()> {
        self.send(&Message::Ready)
    }
    pub fn send_recorded(&self) -> io::Result<()> {
        self.send(&Message::Recorded)
    }
    pub fn send_released(&self) -> io::Result<()> {
        self.send(&Message::Released)
    }
    pub fn send_phase(&self, name: &str, took: std::time::Duration) -> io::Result<()> {
        self.send(&Message::Phase {
            name: name.to_string(),
            nanos: took.as_nanos().min(u64::MAX as u128) as u64,
        })
    }
    pub fn send_failed(&self, msg: &str) -> io::Result<()> {
        // One datagram must hold it: an error quoting huge input is cut.
        let mut m = msg.to_string();
        if m.len() > 8192 {
            let mut end = 8192;
            while !m.is_char_boundary(end) {
                end -= 1;
            }
            m.truncate(end);
            m.push_str("...");
        }
        self.send(&Message::Failed(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_and_unexpected_ones_are_named() {
        let (a, b) = pair().unwrap();
        a.send_proceed().unwrap();
        assert_eq!(b.expect(Message::Proceed), Ok(()));
        b.send_failed("mount /proc: permission denied").unwrap();
        assert_eq!(
            a.expect(Message::Ready),
            Err("mount /proc: permission denied".to_string())
        );
        b.send_recorded().unwrap();
        let e = a.expect(Message::Ready).unwrap_err();
        assert!(e.contains("expected Ready, got Recorded"), "{e}");
        drop(b);
        assert!(a.expect(Message::Ready).unwrap_err().contains("exited"));
    }

    #[test]
    fn idmapped_trees_arrive_before_proceed() {
        let (a, b) = pair().unwrap();
        let f = std::fs::File::open("/").unwrap();
        a.send_idmap_mount(3, f.as_raw_fd()).unwrap();
        a.send_idmap_mount(7, f.as_raw_fd()).unwrap();
        a.send_proceed().unwrap();
        let trees = b.expect_proceed().unwrap();
        assert_eq!(trees.keys().copied().collect::<Vec<_>>(), vec![3, 7]);
        a.send_recorded().unwrap();
        let e = b.expect_proceed().unwrap_err();
        assert!(e.contains("expected Proceed, got Recorded"), "{e}");
    }
}
