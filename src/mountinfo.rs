//! /proc/PID/mountinfo, parsed once for everyone who reads it (cgroup
//! hierarchies, the rootfs's parent mount, a host-namespace container's
//! own mounts).

use std::path::PathBuf;

use anyhow::{Context, Result};

/// One line of mountinfo (proc(5)): the fields runr uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The mount's ID (field 1), as in /proc/PID/fdinfo's `mnt_id`.
    pub id: u32,
    /// The directory of the filesystem that is the mount's root (field 4):
    /// `/` unless it is a bind of a subdirectory.
    pub root: PathBuf,
    /// Where it is mounted, as this process sees it.
    pub mount_point: PathBuf,
    pub fstype: String,
    /// The superblock options (field after the source).
    pub super_options: String,
}

/// Parses a mountinfo text; lines that are not mountinfo are skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Entry> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let id = l.next()?.parse().ok()?;
    let root = PathBuf::from(unescape(l.nth(2)?));
    let mount_point = PathBuf::from(unescape(l.next()?));
    let mut r = right.split(' ');
    let fstype = r.next()?.to_string();
    let super_options = r.nth(1).unwrap_or("").to_string();
    Some(Entry {
        id,
        root,
        mount_point,
        fstype,
        super_options,
    })
}

/// The kernel writes space, tab, newline and backslash as octal escapes.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// This process's mounts.
pub fn own() -> Result<Vec<Entry>> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_escapes() {
        let text =
            "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                    garbage line\n\
                    41 36 0:5 / /mnt/a\\040b/proc rw shared:2 - proc proc rw\n";
        let e = parse(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].id, 36);
        assert_eq!(e[0].root, PathBuf::from("/"));
        assert_eq!(e[0].mount_point, PathBuf::from("/mnt/a b"));
        assert_eq!(e[0].fstype, "ext3");
        assert_eq!(e[0].super_options, "rw,errors=continue");
        assert_eq!(e[1].mount_point, PathBuf::from("/mnt/a b/proc"));
        assert_eq!(e[1].fstype, "proc");
    }
}
