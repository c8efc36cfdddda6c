//! Loading config.json: oci-spec types behind one wrapper that reports
//! serde's real error (field path, line, column), drops unknown capability
//! names with a warning as runc does, and refuses the fields runr does not
//! apply yet instead of silently ignoring them.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Process, Spec};
use serde_json::Value;

use crate::security::caps::{self, CapSets};

/// A loaded and validated bundle configuration.
#[derive(Debug)]
pub struct Config {
    pub spec: Spec,
    /// The process capability sets (none when config.json has no
    /// `process.capabilities`: then the process keeps none).
    pub caps: CapSets,
    /// The absolute bundle directory.
    pub bundle: PathBuf,
    /// The absolute root filesystem path.
    pub rootfs: PathBuf,
    /// config.json as read: saved with the state, so exec and hooks see the
    /// config this container was created from.
    pub raw: Vec<u8>,
}

/// Reads and validates `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Config> {
    let bundle =
        std::fs::canonicalize(bundle).with_context(|| format!("bundle {}", bundle.display()))?;
    let path = bundle.join("config.json");
    let bytes = match std::fs::read(&path) {
        // runc's words for it, which engines show to their users.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| {
                format!(
                    "JSON specification file config.json not found: read {}",
                    path.display()
                )
            })
        }
        r => r.with_context(|| format!("read {}", path.display()))?,
    };
    let (spec, caps) = parse(&bytes).context("config.json")?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| anyhow!("config.json: root must be set"))?;
    let root_path = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&root_path)
        .with_context(|| format!("rootfs ({})", root_path.display()))?;
    if !rootfs.is_dir() {
        bail!("rootfs ({}) is not a directory", rootfs.display());
    }
    let config = Config {
        spec,
        caps,
        bundle,
        rootfs,
        raw: bytes,
    };
    validate(&config.spec).context("config.json")?;
    Ok(config)
}

/// Parses config.json bytes into a spec and the capability masks.
pub fn parse(bytes: &[u8]) -> Result<(Spec, CapSets)> {
    let mut value: Value =
        serde_json::from_slice(bytes).map_err(|e| anyhow!("invalid JSON: {e}"))?;
    check_version(&value)?;
    let caps = take_capabilities(&mut value)?;
    fix_scheduler_flags(&mut value);
    absolute_destinations(&mut value)?;
    match serde_path_to_error::deserialize::<_, Spec>(value) {
        Ok(spec) => Ok((spec, caps)),
        Err(_) => {
            // Run again on the raw bytes to get the line and column as well.
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match serde_path_to_error::deserialize::<_, Spec>(&mut de) {
                Err(e) => bail!("field {}: {}", e.path(), e.inner()),
                Ok(_) => bail!("config.json does not match the runtime spec"),
            }
        }
    }
}

/// Reads `process.capabilities` into masks, warns about unknown names and
/// leaves only known names for oci-spec (which rejects unknown ones).
fn take_capabilities(value: &mut Value) -> Result<CapSets> {
    let mut sets = CapSets::default();
    let Some(obj) = value
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return Ok(sets);
    };
    let mut unknown_all: Vec<String> = Vec::new();
    for (key, list) in obj.iter_mut() {
        let Some(arr) = list.as_array_mut() else {
            continue;
        };
        let names: Vec<&str> = arr.iter().filter_map(Value::as_str).collect();
        if names.len() != arr.len() {
            bail!("field process.capabilities.{key}: capability names must be strings");
        }
        let (mask, unknown) = caps::mask_of(names);
        match key.as_str() {
            "bounding" => sets.bounding = mask,
            "effective" => sets.effective = mask,
            "permitted" => sets.permitted = mask,
            "inheritable" => sets.inheritable = mask,
            "ambient" => sets.ambient = mask,
            _ => {}
        }
        arr.retain(|v| !unknown.iter().any(|u| Some(u.as_str()) == v.as_str()));
        for u in unknown {
            if !unknown_all.contains(&u) {
                unknown_all.push(u);
            }
        }
    }
    if !unknown_all.is_empty() {
        crate::logging::warn(&format!(
            "ignoring unknown or unavailable capabilities: {:?}",
            unknown_all
        ));
    }
    Ok(sets)
}

/// config.md: ociVersion is REQUIRED and MUST be SemVer 2.0.0.
fn check_version(value: &Value) -> Result<()> {
    match value.get("ociVersion") {
        None => bail!("field ociVersion: missing (it is required)"),
        Some(Value::String(v)) if is_semver(v) => Ok(()),
        Some(v) => bail!("field ociVersion: {v} is not a SemVer 2.0.0 version"),
    }
}

/// MAJOR.MINOR.PATCH[-pre.release][+build.meta], as semver.org defines it.
fn is_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric(i)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// config.md: a relative mount destination (deprecated) MUST be
/// interpreted as relative to "/".
fn absolute_destinations(value: &mut Value) -> Result<()> {
    let Some(mounts) = value.get_mut("mounts").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for m in mounts {
        if let Some(Value::String(d)) = m.get_mut("destination") {
            if d.is_empty() {
                bail!("field mounts: a mount destination is empty");
            }
            if !d.starts_with('/') {
                d.insert(0, '/');
            }
        }
    }
    Ok(())
}

/// oci-spec 0.10 names two scheduler flags differently from the spec.
fn fix_scheduler_flags(value: &mut Value) {
    if let Some(flags) = value
        .pointer_mut("/process/scheduler/flags")
        .and_then(Value::as_array_mut)
    {
        for f in flags.iter_mut() {
            let fixed = match f.as_str() {
                Some("SCHED_FLAG_RESET_ON_FORK") => "SCHED_RESET_ON_FORK",
                Some("SCHED_FLAG_DL_OVERRUN") => "SCHED_FLAG_D_L_OVERRUN",
                _ => continue,
            };
            *f = Value::String(fixed.to_string());
        }
    }
}

fn unsupported(field: &str) -> anyhow::Error {
    anyhow!("{field} is not supported by runr yet")
}

/// Semantic checks, and refusal of fields runr does not apply yet.
/// `process` may be absent: config.md requires it only when start is
/// called (`start` refuses then).
pub fn validate(spec: &Spec) -> Result<()> {
    if let Some(process) = spec.process() {
        validate_process(process)?;
    }
    validate_rest(spec)
}

/// Parses a process.json (`exec --process`): the process and its
/// capability masks, with the same error reporting as config.json.
pub fn parse_process(bytes: &[u8]) -> Result<(Process, CapSets)> {
    let mut value: Value =
        serde_json::from_slice(bytes).map_err(|e| anyhow!("invalid JSON: {e}"))?;
    let mut wrapped = serde_json::json!({ "process": value.take() });
    let caps = take_capabilities(&mut wrapped)?;
    fix_scheduler_flags(&mut wrapped);
    let value = wrapped["process"].take();
    match serde_path_to_error::deserialize::<_, Process>(value) {
        Ok(p) => Ok((p, caps)),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match serde_path_to_error::deserialize::<_, Process>(&mut de) {
                Err(e) => bail!("field {}: {}", e.path(), e.inner()),
                Ok(_) => bail!("process.json does not match the runtime spec"),
            }
        }
    }
}

/// Checks on a process, shared by create and exec.
pub fn validate_process(process: &Process) -> Result<()> {
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => bail!("process.args must not be empty"),
    }
    if !process.cwd().is_absolute() {
        bail!("process.cwd {:?} must be an absolute path", process.cwd());
    }
    Ok(())
}

fn validate_rest(spec: &Spec) -> Result<()> {
    use crate::hooks::Kind;
    for kind in [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ] {
        for h in crate::hooks::of(spec, kind) {
            // config.md: "path MUST be absolute" (no PATH search).
            if !h.path().is_absolute() {
                bail!(
                    "{} hook path {:?} must be an absolute path",
                    kind.name(),
                    h.path()
                );
            }
        }
    }
    for m in spec.mounts().iter().flatten() {
        if !m.destination().is_absolute() {
            bail!(
                "mount destination {:?} must be an absolute path",
                m.destination()
            );
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if linux.intel_rdt().is_some() {
        if !std::path::Path::new("/sys/fs/resctrl/schemata").exists() {
            bail!("linux.intelRdt is set but this host has no resctrl filesystem (Intel RDT)");
        }
        return Err(unsupported("linux.intelRdt"));
    }
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    for (i, ns) in namespaces.iter().enumerate() {
        if namespaces[..i].iter().any(|o| o.typ() == ns.typ()) {
            bail!("namespace {:?} is listed twice", ns.typ());
        }
    }
    let has = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    let has_any = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty())
        && !has_any(LinuxNamespaceType::Uts)
    {
        bail!("unable to set hostname without a private UTS namespace");
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty())
        && !has_any(LinuxNamespaceType::Uts)
    {
        bail!("unable to set domainname without a private UTS namespace");
    }
    for (field, v) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if v.as_ref().is_some_and(|h| h.len() > 64) {
            bail!("{field} is longer than 64 bytes");
        }
    }
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if has(LinuxNamespaceType::User) && !maps {
        bail!("user namespaces enabled, but no uid and gid mappings found");
    }
    if !has_any(LinuxNamespaceType::User) && maps {
        bail!("uid/gid mappings need a user namespace");
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && !has(LinuxNamespaceType::Time)
    {
        bail!("time offsets need a new time namespace");
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty())
        && !has_any(LinuxNamespaceType::Network)
    {
        bail!("linux.netDevices needs a network namespace");
    }
    // Without a mount namespace the rootfs's mount is the host's: its
    // propagation is not the container's to set.
    if !has_any(LinuxNamespaceType::Mount)
        && linux
            .rootfs_propagation()
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    {
        bail!("linux.rootfsPropagation needs a mount namespace");
    }
    for key in linux.sysctl().iter().flat_map(|m| m.keys()) {
        validate_sysctl(key, namespaces)?;
    }
    Ok(())
}

/// A sysctl is written inside the container, so it must belong to a
/// namespace the container does not share with the host; anything else
/// would change the host (runc and crun refuse the same keys).
fn validate_sysctl(key: &str, namespaces: &[LinuxNamespace]) -> Result<()> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let (typ, proc_name) = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        (LinuxNamespaceType::Ipc, "ipc")
    } else if key.starts_with("net.") {
        (LinuxNamespaceType::Network, "net")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        (LinuxNamespaceType::Uts, "uts")
    } else {
        bail!("sysctl {key:?} is not in a separate kernel namespace");
    };
    let host = std::fs::read_link(format!("/proc/self/ns/{proc_name}")).ok();
    let own = namespaces.iter().find(|n| n.typ() == typ).is_some_and(|n| {
        n.path()
            .as_ref()
            .is_none_or(|p| std::fs::read_link(p).ok() != host)
    });
    if !own {
        bail!(
            "sysctl {key:?} needs a {proc_name} namespace of the container's own, not the host's"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
        "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},
          "capabilities":{"bounding":["CAP_KILL","CAP_NOPE"]}},
        "linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}}"#;

    #[test]
    fn unknown_capability_is_dropped_not_fatal() {
        let (spec, caps) = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(caps.bounding, 1 << 5);
        validate(&spec).unwrap();
    }

    #[test]
    fn wrong_type_names_field_line_and_column() {
        let bad = MINIMAL.replace(r#""cwd":"/""#, r#""cwd":"/","terminal":"yes""#);
        let err = format!("{:#}", parse(bad.as_bytes()).unwrap_err());
        assert!(err.contains("process.terminal"), "{err}");
        assert!(err.contains("line 2 column"), "{err}");
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = format!("{:#}", parse(b"{\"ociVersion\": ").unwrap_err());
        assert!(err.contains("invalid JSON"), "{err}");
    }

    #[test]
    fn unsupported_fields_are_refused_by_name() {
        let cases = [(
            r#""linux":{"#,
            r#""linux":{"intelRdt":{"closID":"x"},"#,
            "linux.intelRdt",
        )];
        for (from, to, field) in cases {
            let (spec, _) = parse(MINIMAL.replace(from, to).as_bytes()).unwrap();
            let err = validate(&spec).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn oci_version_is_required_and_semver() {
        let missing = MINIMAL.replace(r#""ociVersion":"1.0.2","#, "");
        let err = format!("{:#}", parse(missing.as_bytes()).unwrap_err());
        assert!(err.contains("ociVersion"), "{err}");
        for bad in ["1.0", "v1.0.2", "1.0.02", "1.0.2-", "1.0.2-a..b", ""] {
            let s = MINIMAL.replace("1.0.2", bad);
            assert!(parse(s.as_bytes()).is_err(), "{bad:?} accepted");
        }
        for good in ["1.0.2-dev", "1.3.0", "1.0.0-rc.1+build.5", "10.20.30"] {
            let s = MINIMAL.replace("1.0.2", good);
            assert!(parse(s.as_bytes()).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn relative_mount_destination_is_relative_to_root() {
        let s = MINIMAL.replace(
            r#""linux":"#,
            r#""mounts":[{"destination":"data/x","type":"tmpfs","source":"t"}],"linux":"#,
        );
        let (spec, _) = parse(s.as_bytes()).unwrap();
        let dest = spec.mounts().as_ref().unwrap()[0].destination().clone();
        assert_eq!(dest, std::path::PathBuf::from("/data/x"));
    }

    #[test]
    fn sysctls_outside_the_containers_namespaces_are_refused() {
        let with = |ns: &str, key: &str| {
            let s = MINIMAL.replace(r#"{"type":"pid"}"#, ns).replace(
                r#""linux":{"#,
                &format!(r#""linux":{{"sysctl":{{"{key}":"1"}},"#),
            );
            let (spec, _) = parse(s.as_bytes()).unwrap();
            validate(&spec).map_err(|e| e.to_string())
        };
        assert!(with(r#"{"type":"network"}"#, "net.ipv4.ip_forward").is_ok());
        assert!(with(r#"{"type":"pid"}"#, "net.ipv4.ip_forward")
            .unwrap_err()
            .contains("net namespace"));
        let host_net = r#"{"type":"network","path":"/proc/self/ns/net"}"#;
        assert!(with(host_net, "net.ipv4.ip_forward").is_err());
        assert!(with(r#"{"type":"ipc"}"#, "kernel.shmmax").is_ok());
        assert!(with(r#"{"type":"ipc"}"#, "fs.mqueue.msg_max").is_ok());
        assert!(with(r#"{"type":"pid"}"#, "kernel.shmmax").is_err());
        assert!(with(r#"{"type":"ipc"}"#, "vm.swappiness")
            .unwrap_err()
            .contains("separate kernel namespace"));
    }

    #[test]
    fn relative_hook_path_is_refused() {
        let s = MINIMAL.replace(
            r#""linux":"#,
            r#""hooks":{"poststop":[{"path":"true"}]},"linux":"#,
        );
        let (spec, _) = parse(s.as_bytes()).unwrap();
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("poststop hook path"), "{err}");
    }

    #[test]
    fn empty_args_are_refused() {
        let (spec, _) = parse(MINIMAL.replace(r#"["sh"]"#, "[]").as_bytes()).unwrap();
        assert!(validate(&spec).unwrap_err().to_string().contains("args"));
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let s = MINIMAL.replace(r#"{"type":"pid"}"#, r#"{"type":"pid"},{"type":"user"}"#);
        let (spec, _) = parse(s.as_bytes()).unwrap();
        assert!(validate(&spec)
            .unwrap_err()
            .to_string()
            .contains("mappings"));
    }
}
