//! features.md: the features document.

use crate::harness::*;
use serde_json::Value;

pub fn cases() -> Vec<Case> {
    vec![
        Case { section: "features.md", name: "features JSON", must: "features MUST print ociVersionMin/Max and the supported hooks, mount options and namespaces", patch: nothing, check: Some(|env, _| {
            let o = env.rt(&["features"]);
            let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("{e}: {}", o.stderr.trim()))?;
            for k in ["ociVersionMin", "ociVersionMax", "hooks", "mountOptions"] {
                if v.get(k).is_none() { return Err(format!("missing {k}")); }
            }
            if v["linux"]["namespaces"].as_array().is_none_or(|a| a.is_empty()) { return Err("no namespaces".into()); }
            Ok(())
        }) },
    ]
}
