//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with
//! a copy of what the directory held (podman uses it for /run, /tmp...).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};

fn openat(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: valid fd and C string; the result is a new fd we own.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            mode,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: valid pointers.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn names(dir: RawFd) -> io::Result<Vec<CString>> {
    // A second fd: reading the directory moves its offset.
    let d = openat(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut out = Vec::new();
    // SAFETY: fdopendir takes the fd; closedir releases it.
    unsafe {
        let dp = libc::fdopendir(d.as_raw_fd());
        if dp.is_null() {
            return Err(io::Error::last_os_error());
        }
        std::mem::forget(d);
        loop {
            let e = libc::readdir(dp);
            if e.is_null() {
                break;
            }
            let n = CStr::from_ptr((*e).d_name.as_ptr());
            if n != c"." && n != c".." {
                out.push(n.to_owned());
            }
        }
        libc::closedir(dp);
    }
    Ok(out)
}

/// Copies the tree under `src` into `dst` (both directory fds), keeping
/// modes and owners; never following symlinks.
pub fn copy_tree(src: RawFd, dst: RawFd) -> Result<()> {
    for name in names(src).context("read the directory to copy up")? {
        let st = stat_at(src, &name)?;
        let kind = st.st_mode & libc::S_IFMT;
        let mode = st.st_mode & 0o7777;
        // SAFETY: *at calls with valid fds and names.
        unsafe {
            match kind {
                libc::S_IFDIR => {
                    if libc::mkdirat(dst, name.as_ptr(), 0o700) < 0 {
                        return Err(io::Error::last_os_error()).context("mkdir");
                    }
                    let s = openat(src, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                    let d = openat(dst, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                    copy_tree(s.as_raw_fd(), d.as_raw_fd())?;
                }
                libc::S_IFREG => {
                    let s = openat(src, &name, libc::O_RDONLY, 0)?;
                    let d = openat(
                        dst,
                        &name,
                        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                        0o600,
                    )?;
                    let mut from = std::fs::File::from(s);
                    let mut to = std::fs::File::from(d);
                    std::io::copy(&mut from, &mut to).context("copy a file up")?;
                }
                libc::S_IFLNK => {
                    let mut buf = vec![0u8; 4096];
                    let n =
                        libc::readlinkat(src, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len());
                    if n < 0 {
                        return Err(io::Error::last_os_error()).context("readlink");
                    }
                    buf.truncate(n as usize);
                    let target = CString::new(buf).context("symlink target")?;
                    if libc::symlinkat(target.as_ptr(), dst, name.as_ptr()) < 0 {
                        return Err(io::Error::last_os_error()).context("symlink");
                    }
                }
                _ => {
                    if libc::mknodat(dst, name.as_ptr(), st.st_mode, st.st_rdev) < 0 {
                        return Err(io::Error::last_os_error()).context("mknod");
                    }
                }
            }
            libc::fchownat(
                dst,
                name.as_ptr(),
                st.st_uid,
                st.st_gid,
                libc::AT_SYMLINK_NOFOLLOW,
            );
            if kind != libc::S_IFLNK {
                libc::fchmodat(dst, name.as_ptr(), mode, 0);
            }
        }
    }
    Ok(())
}
