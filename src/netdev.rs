//! linux.netDevices: a host network interface moved into the container's
//! network namespace (renamed on the way, one RTM_NEWLINK), keeping its
//! addresses and its up state, which the kernel drops on the move.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxNetDevice;

use crate::sys;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_EXCL: u16 = 0x200;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFF_UP: u32 = 1;

struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn attr(buf: &mut Vec<u8>, typ: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align(buf.len()), 0);
}

/// Walks the rtattrs of a message body.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let typ = u16::from_ne_bytes([b[2], b[3]]);
        if len < 4 || len > b.len() {
            break;
        }
        out.push((typ, &b[4..len]));
        b = &b[align(len).min(b.len())..];
    }
    out
}

impl Netlink {
    fn open() -> io::Result<Netlink> {
        // SAFETY: plain socket call; the fd is ours.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Netlink {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            seq: 0,
        })
    }

    /// Sends one request (header added here) and returns the reply
    /// messages (type, body) until ACK or DONE; an error reply is an error.
    fn request(&mut self, typ: u16, flags: u16, body: &[u8]) -> io::Result<Vec<(u16, Vec<u8>)>> {
        self.seq += 1;
        let len = 16 + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&typ.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: sending a valid buffer.
        if unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: receiving into a valid buffer.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut b = &buf[..n as usize];
            while b.len() >= 16 {
                let mlen = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
                let mtyp = u16::from_ne_bytes([b[4], b[5]]);
                if mlen < 16 || mlen > b.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "short netlink message",
                    ));
                }
                let body = &b[16..mlen];
                match mtyp {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let err = i32::from_ne_bytes(body[0..4].try_into().unwrap());
                        if err != 0 {
                            return Err(io::Error::from_raw_os_error(-err));
                        }
                        return Ok(out); // ACK
                    }
                    t => out.push((t, body.to_vec())),
                }
                b = &b[align(mlen).min(b.len())..];
            }
        }
    }
}

fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// (index, flags) of a link by name, in this process's network namespace.
fn link(nl: &mut Netlink, name: &str) -> Result<(i32, u32)> {
    for (t, body) in nl.request(RTM_GETLINK, NLM_F_DUMP, &ifinfomsg(0, 0, 0))? {
        if t != RTM_NEWLINK || body.len() < 16 {
            continue;
        }
        let index = i32::from_ne_bytes(body[4..8].try_into().unwrap());
        let flags = u32::from_ne_bytes(body[8..12].try_into().unwrap());
        let found = attrs(&body[16..]).iter().any(|(t, v)| {
            *t == IFLA_IFNAME && v.split(|c| *c == 0).next() == Some(name.as_bytes())
        });
        if found {
            return Ok((index, flags));
        }
    }
    bail!("network device {name:?} not found")
}

/// The addresses of a link: the ifaddrmsg header and its attributes.
fn addresses(nl: &mut Netlink, index: i32) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for (t, body) in nl.request(RTM_GETADDR, NLM_F_DUMP, &[0u8; 8])? {
        if t != RTM_NEWADDR || body.len() < 8 {
            continue;
        }
        if i32::from_ne_bytes(body[4..8].try_into().unwrap()) == index {
            out.push(body);
        }
    }
    Ok(out)
}

/// Moves each device into the network namespace `netns` (of the
/// container's init), renamed, with its addresses and up state.
pub fn move_all(devices: &HashMap<String, LinuxNetDevice>, netns: &std::fs::File) -> Result<()> {
    let mut nl = Netlink::open().context("open a netlink socket")?;
    for (host_name, dev) in devices {
        let new_name = dev.name().clone().unwrap_or_else(|| host_name.clone());
        if new_name.is_empty() || new_name.len() > 15 || new_name.contains(['/', ' ']) {
            bail!("invalid name {new_name:?} for network device {host_name}");
        }
        let (index, flags) = link(&mut nl, host_name)?;
        let addrs = addresses(&mut nl, index)?;
        let mut body = ifinfomsg(index, 0, 0);
        attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        let mut name = new_name.clone().into_bytes();
        name.push(0);
        attr(&mut body, IFLA_IFNAME, &name);
        nl.request(RTM_NEWLINK, NLM_F_ACK, &body).with_context(|| {
            format!("move network device {host_name} into the container as {new_name}")
        })?;
        restore_in(netns.as_raw_fd(), &new_name, flags & IFF_UP != 0, &addrs)
            .with_context(|| format!("restore the addresses of {new_name} in the container"))?;
    }
    Ok(())
}

/// In a child that enters the namespace: addresses back, link up again.
fn restore_in(netns: RawFd, name: &str, up: bool, addrs: &[Vec<u8>]) -> Result<()> {
    if !up && addrs.is_empty() {
        return Ok(());
    }
    let (mut r, w) = std::os::unix::net::UnixStream::pair()?;
    match sys::fork()? {
        sys::Forked::Child => {
            let res = (|| -> Result<()> {
                // SAFETY: this child only enters the namespace and talks netlink.
                if unsafe { libc::setns(netns, libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error().into());
                }
                let mut nl = Netlink::open()?;
                let (index, _) = link(&mut nl, name)?;
                for a in addrs {
                    let mut body = a[..8].to_vec();
                    body[4..8].copy_from_slice(&index.to_ne_bytes());
                    for (t, v) in attrs(&a[8..]) {
                        if t == IFA_ADDRESS || t == IFA_LOCAL {
                            attr(&mut body, t, v);
                        }
                    }
                    nl.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &body)?;
                }
                if up {
                    nl.request(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index, IFF_UP, IFF_UP))?;
                }
                Ok(())
            })();
            let mut w = w;
            use std::io::Write;
            let _ = w.write_all(
                match &res {
                    Ok(()) => b"ok".to_vec(),
                    Err(e) => format!("{e:#}").into_bytes(),
                }
                .as_slice(),
            );
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(0) }
        }
        sys::Forked::Parent(pid) => {
            drop(w);
            let mut s = String::new();
            use std::io::Read;
            let _ = r.read_to_string(&mut s);
            let _ = sys::waitpid(pid, 0);
            if s != "ok" {
                bail!("{s}");
            }
            Ok(())
        }
    }
}
