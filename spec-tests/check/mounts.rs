//! config.md root and mounts; config-linux.md masked and read-only paths.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::Tap;

/// (mount point, options, fstype) of /proc/self/mountinfo.
fn mounts() -> Vec<(String, String, String)> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some((
                f.get(4)?.replace("\\040", " "),
                f.get(5)?.to_string(),
                f.get(sep + 1)?.to_string(),
            ))
        })
        .collect()
}

fn last_mount<'a>(
    ms: &'a [(String, String, String)],
    dest: &str,
) -> Option<&'a (String, String, String)> {
    ms.iter().rev().find(|m| m.0 == dest)
}

pub fn check(t: &mut Tap, cfg: &Value) {
    let linux = &cfg["linux"];
    let ms = mounts();
    if cfg["root"]["readonly"].as_bool() == Some(true) {
        let root = last_mount(&ms, "/");
        t.check(
            root.is_some_and(|m| m.1.split(',').any(|o| o == "ro")),
            "config.md root.readonly",
            || format!("{root:?}"),
        );
    }
    for m in cfg["mounts"].as_array().into_iter().flatten() {
        let dest = m["destination"].as_str().unwrap_or("");
        let found = last_mount(&ms, dest);
        let opts: Vec<&str> = m["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let typ = m["type"].as_str().unwrap_or("");
        let bind = typ == "bind" || opts.iter().any(|o| *o == "bind" || *o == "rbind");
        let typ_ok = bind || typ == "cgroup" || found.is_some_and(|f| f.2 == typ);
        t.check(
            found.is_some() && typ_ok,
            &format!("config.md mounts {dest} ({typ})"),
            || format!("{found:?}"),
        );
        // (The cgroup mount's own read-only check is a case of its own.)
        if opts.contains(&"ro") && typ != "cgroup" {
            t.check(
                found.is_some_and(|f| f.1.split(',').any(|o| o == "ro")),
                &format!("config.md mounts {dest} ro"),
                || format!("{found:?}"),
            );
        }
        for flag in ["nosuid", "nodev", "noexec"] {
            if opts.contains(&flag) && typ != "cgroup" {
                t.check(
                    found.is_some_and(|f| f.1.split(',').any(|o| o == flag)),
                    &format!("config.md mounts {dest} {flag}"),
                    || format!("{found:?}"),
                );
            }
        }
    }
    for mp in linux["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Ok(meta) = fs::metadata(mp) else { continue };
        let masked = if meta.is_dir() {
            fs::read_dir(mp)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true)
        } else {
            fs::read(mp).map(|b| b.is_empty()).unwrap_or(true)
        };
        t.check(masked, &format!("config-linux.md maskedPaths {mp}"), || {
            "readable".into()
        });
    }
    for rp in linux["readonlyPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !Path::new(rp).exists() {
            continue;
        }
        let m = last_mount(&ms, rp);
        t.check(
            m.is_some_and(|m| m.1.split(',').any(|o| o == "ro")),
            &format!("config-linux.md readonlyPaths {rp}"),
            || format!("{m:?}"),
        );
    }
}
