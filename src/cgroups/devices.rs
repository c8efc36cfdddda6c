//! Device access rules for the v1 devices controller, in runc's order: the
//! config's rules, then the devices every container gets. A linux.devices
//! entry is not allowed by itself: config-linux.md says the allowed device
//! list MUST be applied in the listed order, so a deny there must hold
//! (runc 1.1 does the same; engines list an allow rule with each device).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// One rule: allow or deny `type major:minor access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl Rule {
    fn allow(typ: char, major: Option<i64>, minor: Option<i64>, access: &str) -> Rule {
        Rule {
            allow: true,
            typ,
            major,
            minor,
            access: access.to_string(),
        }
    }

    /// The line the devices.allow / devices.deny files take; a missing
    /// number is the wildcard `*`, never 0.
    pub fn line(&self) -> String {
        let n = |v: Option<i64>| v.map_or("*".to_string(), |v| v.to_string());
        format!(
            "{} {}:{} {}",
            self.typ,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

fn type_char(t: LinuxDeviceType) -> char {
    match t {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => 'p',
    }
}

/// The devices runc allows in every container.
pub fn default_rules() -> Vec<Rule> {
    vec![
        Rule::allow('c', None, None, "m"),
        Rule::allow('b', None, None, "m"),
        Rule::allow('c', Some(1), Some(3), "rwm"),
        Rule::allow('c', Some(1), Some(8), "rwm"),
        Rule::allow('c', Some(1), Some(7), "rwm"),
        Rule::allow('c', Some(5), Some(0), "rwm"),
        Rule::allow('c', Some(1), Some(5), "rwm"),
        Rule::allow('c', Some(1), Some(9), "rwm"),
        Rule::allow('c', Some(136), None, "rwm"),
        Rule::allow('c', Some(5), Some(2), "rwm"),
        Rule::allow('c', Some(10), Some(200), "rwm"),
    ]
}

/// The full ordered rule list for a container.
pub fn rules(cgroup_rules: &[LinuxDeviceCgroup]) -> Vec<Rule> {
    let mut out: Vec<Rule> = cgroup_rules
        .iter()
        .map(|r| Rule {
            allow: r.allow(),
            typ: r.typ().map_or('a', type_char),
            major: r.major(),
            minor: r.minor(),
            access: r.access().clone().unwrap_or_else(|| "rwm".to_string()),
        })
        .collect();
    out.extend(default_rules());
    out
}

/// Writes the rules into a v1 devices cgroup directory.
pub fn apply_v1(dir: &Path, rules: &[Rule]) -> Result<()> {
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fs::write(dir.join(file), r.line())
            .with_context(|| format!("write {:?} to {}/{file}", r.line(), dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_stars_and_order_is_runc_order() {
        let cg: Vec<LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":136}]"#,
        )
        .unwrap();
        let rs = rules(&cg);
        assert_eq!(rs[0].line(), "a *:* rwm");
        assert!(!rs[0].allow);
        assert_eq!(rs[1].line(), "c 136:* rwm");
        assert_eq!(rs[2].line(), "c *:* m");
        assert_eq!(rs.len(), 2 + default_rules().len());
    }
}
