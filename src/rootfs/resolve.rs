//! The one door into the container's root: every path inside the rootfs
//! (mount destinations, device nodes, masked and readonly paths, links) is
//! resolved here with openat2(RESOLVE_IN_ROOT), so a symlink in the image
//! can never lead out of it. Mounts then target /proc/self/fd/N.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use crate::sys::{self, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};

/// A directory that paths are resolved in, as if it were `/`.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

/// A path inside the root, opened with O_PATH.
pub struct Handle {
    pub fd: OwnedFd,
}

impl Handle {
    /// The magic link through which mount(2) reaches this very inode.
    pub fn proc_path(&self) -> CString {
        CString::new(format!("/proc/self/fd/{}", self.fd.as_raw_fd())).expect("no NUL in a number")
    }
}

/// Only the normal components of a path: `/`, `.` and leading `..` carry no
/// meaning inside the root (`..` is clamped at it by the kernel anyway).
fn rel(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| {
            !matches!(
                c,
                Component::RootDir | Component::CurDir | Component::Prefix(_)
            )
        })
        .collect()
}

fn c(p: &Path) -> io::Result<CString> {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    sys::cstr(p)
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Root> {
        let fd = sys::open(&sys::cstr(path)?, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn openat(&self, path: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        sys::openat2(
            self.fd.as_raw_fd(),
            &c(&rel(path))?,
            (flags | libc::O_CLOEXEC) as u64,
            mode as u64,
            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Opens an existing path (O_PATH; symlinks followed inside the root).
    pub fn open_path(&self, path: &Path) -> io::Result<Handle> {
        Ok(Handle {
            fd: self.openat(path, libc::O_PATH, 0)?,
        })
    }

    /// Opens a path without following its last component.
    pub fn open_nofollow(&self, path: &Path) -> io::Result<Handle> {
        Ok(Handle {
            fd: self.openat(path, libc::O_PATH | libc::O_NOFOLLOW, 0)?,
        })
    }

    /// Opens an existing directory for reading.
    pub fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        self.openat(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// Opens a directory, creating every missing level (mode 0755).
    pub fn mkdir_all(&self, path: &Path) -> io::Result<Handle> {
        let r = rel(path);
        match self.openat(&r, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => return Ok(Handle { fd }),
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(e),
            Err(_) => {}
        }
        // Walk it by hand: symlinks (dangling ones too) are followed inside
        // the root, and every missing directory is made where it belongs.
        let mut todo: std::collections::VecDeque<std::ffi::OsString> =
            r.components().map(|c| c.as_os_str().to_owned()).collect();
        let mut cur = PathBuf::new();
        let mut links = 0;
        while let Some(part) = todo.pop_front() {
            if part == ".." {
                cur.pop();
                continue;
            }
            let cand = cur.join(&part);
            match self.openat(&cand, libc::O_PATH | libc::O_NOFOLLOW, 0) {
                Ok(fd) => {
                    // SAFETY: fstat into a zeroed struct on a valid fd.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    match st.st_mode & libc::S_IFMT {
                        libc::S_IFDIR => cur = cand,
                        libc::S_IFLNK => {
                            links += 1;
                            if links > 40 {
                                return Err(io::Error::from_raw_os_error(libc::ELOOP));
                            }
                            let mut buf = vec![0u8; 4096];
                            // SAFETY: readlinkat on the O_PATH fd with an empty path.
                            let n = unsafe {
                                libc::readlinkat(
                                    fd.as_raw_fd(),
                                    c"".as_ptr(),
                                    buf.as_mut_ptr().cast(),
                                    buf.len(),
                                )
                            };
                            if n < 0 {
                                return Err(io::Error::last_os_error());
                            }
                            buf.truncate(n as usize);
                            let target: PathBuf =
                                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(
                                    buf,
                                )
                                .into();
                            if target.is_absolute() {
                                cur = PathBuf::new();
                            }
                            for c in target.components().rev() {
                                if !matches!(c, Component::RootDir | Component::CurDir) {
                                    todo.push_front(c.as_os_str().to_owned());
                                }
                            }
                        }
                        _ => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let parent = self.openat(&cur, libc::O_PATH | libc::O_DIRECTORY, 0)?;
                    let name = sys::cstr(Path::new(&part))?;
                    // SAFETY: valid fd and C string.
                    if unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755) } < 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(e);
                        }
                    }
                    cur = cand;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Handle {
            fd: self.openat(&cur, libc::O_PATH | libc::O_DIRECTORY, 0)?,
        })
    }

    /// Opens a file, creating it (and its parents) if missing: the target
    /// of a bind mount of a file.
    pub fn create_file(&self, path: &Path) -> io::Result<Handle> {
        if let Ok(h) = self.open_path(path) {
            return Ok(h);
        }
        if let Some(parent) = rel(path).parent() {
            self.mkdir_all(parent)?;
        }
        drop(self.openat(path, libc::O_CREAT | libc::O_WRONLY, 0o644)?);
        self.open_path(path)
    }

    /// The parent directory (created if missing) and the last name, for the
    /// *at() calls that must not follow the last component.
    pub fn parent_of(&self, path: &Path) -> io::Result<(Handle, CString)> {
        let r = rel(path);
        let name = r.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "path has no last component")
        })?;
        let parent = self.mkdir_all(r.parent().unwrap_or(Path::new("")))?;
        Ok((parent, sys::cstr(Path::new(name))?))
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("runr-unit-resolve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn real(h: &Handle) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", h.fd.as_raw_fd())).unwrap()
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let d = tmp("escape");
        let root = d.join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        symlink("/etc", root.join("abs")).unwrap();
        symlink("../../../../etc", root.join("dotdot")).unwrap();
        let r = Root::open(&root).unwrap();
        assert_eq!(
            real(&r.open_path(Path::new("/abs")).unwrap()),
            root.join("etc")
        );
        assert_eq!(
            real(&r.open_path(Path::new("dotdot")).unwrap()),
            root.join("etc")
        );
        // Creating through an escaping link creates inside the root.
        let h = r.mkdir_all(Path::new("/abs/newdir/x")).unwrap();
        assert_eq!(real(&h), root.join("etc/newdir/x"));
        let f = r.create_file(Path::new("/dotdot/f")).unwrap();
        assert_eq!(real(&f), root.join("etc/f"));
        // A dangling link: its target is made inside the root.
        symlink("/missing/deeper", root.join("dangling")).unwrap();
        let h = r.mkdir_all(Path::new("/dangling/x")).unwrap();
        assert_eq!(real(&h), root.join("missing/deeper/x"));
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        assert_eq!(
            r.mkdir_all(Path::new("/loop1/x"))
                .err()
                .unwrap()
                .raw_os_error(),
            Some(libc::ELOOP)
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
