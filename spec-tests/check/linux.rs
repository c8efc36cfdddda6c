//! config-linux.md: devices, sysctl, seccomp, personality.

use std::fs;

use serde_json::Value;

use crate::{status_field, Tap};

type Utsname = [u8; 390];

/// The machine field of uname(2), without a libc crate.
fn uname_machine(buf: &mut Utsname) -> String {
    extern "C" {
        fn uname(buf: *mut u8) -> i32;
    }
    // SAFETY: struct utsname is six 65-byte fields: 390 bytes.
    if unsafe { uname(buf.as_mut_ptr()) } != 0 {
        return String::new();
    }
    let field = &buf[4 * 65..5 * 65];
    String::from_utf8_lossy(&field[..field.iter().position(|b| *b == 0).unwrap_or(65)]).into_owned()
}

pub fn check(t: &mut Tap, cfg: &Value) {
    let linux = &cfg["linux"];
    for d in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
    ] {
        use std::os::unix::fs::FileTypeExt;
        let ok = fs::metadata(d)
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false);
        t.check(ok, &format!("config-linux.md default device {d}"), || {
            "missing".into()
        });
    }
    for dev in linux["devices"].as_array().into_iter().flatten() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let path = dev["path"].as_str().unwrap_or("");
        let m = fs::metadata(path);
        let ok = m.as_ref().is_ok_and(|m| {
            let rdev = m.rdev();
            let (maj, min) = (
                ((rdev >> 8) & 0xfff) as i64,
                ((rdev & 0xff) | ((rdev >> 12) & 0xfff00)) as i64,
            );
            let typ_ok = match dev["type"].as_str() {
                Some("c") | Some("u") => m.file_type().is_char_device(),
                Some("b") => m.file_type().is_block_device(),
                Some("p") => m.file_type().is_fifo(),
                _ => false,
            };
            let mode_ok = dev["fileMode"]
                .as_u64()
                .is_none_or(|fm| (m.mode() & 0o7777) as u64 == fm);
            let own_ok = dev["uid"].as_u64().is_none_or(|u| m.uid() as u64 == u)
                && dev["gid"].as_u64().is_none_or(|g| m.gid() as u64 == g);
            typ_ok
                && mode_ok
                && own_ok
                && (dev["type"] == "p"
                    || (Some(maj) == dev["major"].as_i64() && Some(min) == dev["minor"].as_i64()))
        });
        t.check(ok, &format!("config-linux.md devices {path}"), || {
            format!("{m:?}")
        });
    }
    for (k, v) in linux["sysctl"].as_object().into_iter().flatten() {
        let got =
            fs::read_to_string(format!("/proc/sys/{}", k.replace('.', "/"))).unwrap_or_default();
        t.check(
            got.trim() == v.as_str().unwrap_or(""),
            &format!("config-linux.md sysctl {k}"),
            || format!("got {got:?}"),
        );
    }
    if !linux["seccomp"].is_null() {
        t.check(
            status_field("Seccomp") == "2",
            "config-linux.md seccomp loaded (filter mode)",
            || status_field("Seccomp"),
        );
    }
    if linux["personality"]["domain"] == "LINUX32" {
        let mut u: Utsname = [0; 390];
        let m = uname_machine(&mut u);
        t.check(m == "i686", "config-linux.md personality LINUX32", || {
            m.clone()
        });
    }
}
