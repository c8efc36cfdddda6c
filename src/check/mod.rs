//! `runr check`: what this host offers for containers, one line per item
//! with its result and the evidence behind it (the file read, the syscall
//! and what it returned). The exit code says whether runr can run a
//! container here: 0 when every item runr needs is there, 1 otherwise.

mod cgroup;
mod host;
mod mounts;
mod namespaces;
mod probe;
mod security;
mod syscalls;

use serde::Serialize;

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: String,
    /// What was found, e.g. `yes`, `no`, `v1 hybrid (...)`.
    pub result: String,
    /// Why: the file read or the syscall made, and what came back.
    pub evidence: String,
    /// False when the item is missing or a probe failed.
    pub ok: bool,
    /// runr cannot run containers here when a required item is not ok.
    pub required: bool,
}

impl Item {
    fn new(name: &str, ok: bool, result: impl Into<String>, evidence: impl Into<String>) -> Item {
        Item {
            name: name.to_string(),
            result: result.into(),
            evidence: evidence.into(),
            ok,
            required: false,
        }
    }

    /// Marks the item as one runr cannot do without.
    fn required(mut self, yes: bool) -> Item {
        self.required = yes;
        self
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    /// runr can run containers here.
    pub ok: bool,
    /// Why not, one entry per required item that failed.
    pub missing: Vec<String>,
}

/// Probes the host. `rootless`: runr would run without privileges, so a
/// user namespace is needed and cgroups are optional.
pub fn report(rootless: bool) -> Report {
    let mut items = vec![host::kernel(), host::root(rootless)];
    items.extend(cgroup::items(rootless));
    items.extend(namespaces::items(rootless));
    items.extend([
        security::seccomp(),
        security::seccomp_notify(),
        security::apparmor(),
        security::selinux(),
        mounts::overlayfs(),
        mounts::idmapped_mounts(),
        syscalls::pidfd(),
        syscalls::clone3().required(true),
        host::helper("newuidmap"),
        host::helper("newgidmap"),
    ]);
    verdict(items)
}

/// The report of `items`: ok unless a required one is missing.
fn verdict(items: Vec<Item>) -> Report {
    let missing: Vec<String> = items
        .iter()
        .filter(|i| i.required && !i.ok)
        .map(|i| format!("{}: {}", i.name, i.result))
        .collect();
    Report {
        ok: missing.is_empty(),
        missing,
        items,
    }
}

/// One line per item: `name: result [evidence]`, then the verdict.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    for i in &r.items {
        out.push_str(&format!("{}: {} [{}]\n", i.name, i.result, i.evidence));
    }
    if r.ok {
        out.push_str("verdict: runr can run containers on this host\n");
    } else {
        out.push_str(&format!(
            "verdict: runr cannot run containers on this host: {}\n",
            r.missing.join("; ")
        ));
    }
    out
}

/// `runr check [--format text|json]`: prints the report; returns the exit
/// code.
pub fn main(format: &str, rootless: bool) -> anyhow::Result<i32> {
    if !matches!(format, "text" | "json") {
        anyhow::bail!("invalid format option {format:?}: use text or json");
    }
    let r = report(rootless);
    let text = match format {
        "json" => format!("{}\n", serde_json::to_string_pretty(&r)?),
        _ => render_text(&r),
    };
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())?;
    Ok(if r.ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_required_item_fails_the_verdict() {
        let items = vec![
            Item::new("clone3", false, "no", "clone3(NULL, 0): ENOSYS").required(true),
            Item::new("apparmor", false, "no", "absent").required(false),
        ];
        let r = verdict(items);
        assert!(!r.ok);
        let text = render_text(&r);
        assert!(
            text.starts_with("clone3: no [clone3(NULL, 0): ENOSYS]\n"),
            "{text}"
        );
        assert!(
            text.ends_with("verdict: runr cannot run containers on this host: clone3: no\n"),
            "{text}"
        );
    }
}
