//! Mount options of config.json, split the way mount(2) wants them: flags,
//! propagation changes and the filesystem's data string.

use libc::c_ulong;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    /// Flags for the mount call (MS_RDONLY, MS_NOSUID, ...).
    pub flags: c_ulong,
    /// Flags explicitly cleared (`rw`, `suid`, ...), so a remount does not
    /// keep them from the source.
    pub cleared: c_ulong,
    /// Propagation changes, applied one by one after the mount.
    pub propagation: Vec<c_ulong>,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// Everything mount(2) does not know as a flag, joined with commas.
    pub data: String,
    /// Recursive attributes (`rro`, `rnosuid`, ...): MOUNT_ATTR_* to set
    /// and to clear with mount_setattr(AT_RECURSIVE).
    pub rec_set: u64,
    pub rec_clr: u64,
    /// `idmap` / `ridmap`: an idmapped mount (recursive for ridmap).
    pub idmap: bool,
    pub ridmap: bool,
    /// `tmpcopyup`: a tmpfs starts with the contents of what it covers.
    pub tmpcopyup: bool,
}

pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
pub const ATTR_ATIME: u64 = 0x70;
pub const ATTR_RELATIME: u64 = 0x0;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;
pub const ATTR_IDMAP: u64 = 0x10_0000;
pub const ATTR_NOSYMFOLLOW: u64 = 0x20_0000;

/// (option, attributes to set, attributes to clear)
const RECURSIVE: &[(&str, u64, u64)] = &[
    ("rro", ATTR_RDONLY, 0),
    ("rrw", 0, ATTR_RDONLY),
    ("rnosuid", ATTR_NOSUID, 0),
    ("rsuid", 0, ATTR_NOSUID),
    ("rnodev", ATTR_NODEV, 0),
    ("rdev", 0, ATTR_NODEV),
    ("rnoexec", ATTR_NOEXEC, 0),
    ("rexec", 0, ATTR_NOEXEC),
    ("rnodiratime", ATTR_NODIRATIME, 0),
    ("rdiratime", 0, ATTR_NODIRATIME),
    ("rrelatime", ATTR_RELATIME, ATTR_ATIME),
    ("rnorelatime", 0, ATTR_ATIME),
    ("rnoatime", ATTR_NOATIME, ATTR_ATIME),
    // Leaving noatime/strictatime means the default mode, relatime: the
    // kernel takes an atime change only as the whole field (EINVAL else).
    ("ratime", ATTR_RELATIME, ATTR_ATIME),
    ("rstrictatime", ATTR_STRICTATIME, ATTR_ATIME),
    ("rnostrictatime", ATTR_RELATIME, ATTR_ATIME),
    ("rnosymfollow", ATTR_NOSYMFOLLOW, 0),
    ("rsymfollow", 0, ATTR_NOSYMFOLLOW),
];

const FLAGS: &[(&str, bool, c_ulong)] = &[
    // (name, clears the flag, flag)
    ("ro", false, libc::MS_RDONLY),
    ("rw", true, libc::MS_RDONLY),
    ("nosuid", false, libc::MS_NOSUID),
    ("suid", true, libc::MS_NOSUID),
    ("nodev", false, libc::MS_NODEV),
    ("dev", true, libc::MS_NODEV),
    ("noexec", false, libc::MS_NOEXEC),
    ("exec", true, libc::MS_NOEXEC),
    ("sync", false, libc::MS_SYNCHRONOUS),
    ("async", true, libc::MS_SYNCHRONOUS),
    ("dirsync", false, libc::MS_DIRSYNC),
    ("remount", false, libc::MS_REMOUNT),
    ("mand", false, libc::MS_MANDLOCK),
    ("nomand", true, libc::MS_MANDLOCK),
    ("noatime", false, libc::MS_NOATIME),
    ("atime", true, libc::MS_NOATIME),
    ("nodiratime", false, libc::MS_NODIRATIME),
    ("diratime", true, libc::MS_NODIRATIME),
    ("relatime", false, libc::MS_RELATIME),
    ("norelatime", true, libc::MS_RELATIME),
    ("strictatime", false, libc::MS_STRICTATIME),
    ("nostrictatime", true, libc::MS_STRICTATIME),
    ("lazytime", false, libc::MS_LAZYTIME),
    ("nolazytime", true, libc::MS_LAZYTIME),
    ("silent", false, libc::MS_SILENT),
    ("loud", true, libc::MS_SILENT),
    ("nosymfollow", false, 0x100), // MS_NOSYMFOLLOW
    ("symfollow", true, 0x100),
];

const PROPAGATION: &[(&str, c_ulong)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

/// A propagation option name (also used by linux.rootfsPropagation).
pub fn propagation(name: &str) -> Option<c_ulong> {
    PROPAGATION
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Splits options. Recursive attribute options (`rro`, ...) need
/// mount_setattr and are refused by name until they are implemented.
pub fn parse(opts: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in opts {
        let opt = opt.as_str();
        if let Some((_, clear, flag)) = FLAGS.iter().find(|(n, _, _)| *n == opt) {
            if *clear {
                o.flags &= !flag;
                o.cleared |= flag;
            } else {
                o.flags |= flag;
                o.cleared &= !flag;
            }
        } else if let Some(p) = propagation(opt) {
            o.propagation.push(p);
        } else if opt == "bind" {
            o.bind = true;
            o.flags |= libc::MS_BIND;
        } else if opt == "rbind" {
            o.bind = true;
            o.flags |= libc::MS_BIND | libc::MS_REC;
        } else if let Some((_, set, clr)) = RECURSIVE.iter().find(|(n, _, _)| *n == opt) {
            o.rec_set = (o.rec_set & !clr) | set;
            o.rec_clr = (o.rec_clr & !set) | clr;
        } else if opt == "idmap" {
            o.idmap = true;
        } else if opt == "ridmap" {
            o.idmap = true;
            o.ridmap = true;
        } else if opt == "defaults" {
            // No flags: what mount(8) means by it.
        } else if opt == "tmpcopyup" {
            o.tmpcopyup = true;
        } else {
            data.push(opt);
        }
    }
    o.data = data.join(",");
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Options {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_data_and_propagation_are_split() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, vec![libc::MS_SLAVE | libc::MS_REC]);
        assert!(!o.bind);
    }

    #[test]
    fn later_options_win_and_rbind_is_recursive() {
        let o = p(&["ro", "rw", "rbind"]);
        assert_eq!(o.flags & libc::MS_RDONLY, 0);
        assert_eq!(o.cleared, libc::MS_RDONLY);
        assert!(o.bind && o.flags & libc::MS_REC != 0);
    }

    #[test]
    fn recursive_attributes_and_idmap() {
        let o = p(&["rbind", "rro", "rnosuid", "rnoatime", "ridmap"]);
        assert_eq!(o.rec_set, ATTR_RDONLY | ATTR_NOSUID | ATTR_NOATIME);
        assert_eq!(o.rec_clr, ATTR_ATIME);
        assert!(o.idmap && o.ridmap);
        let o = p(&["rro", "rrw"]);
        assert_eq!((o.rec_set, o.rec_clr), (0, ATTR_RDONLY));
        assert!(p(&["tmpcopyup"]).tmpcopyup);
    }
}
