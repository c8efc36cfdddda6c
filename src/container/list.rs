//! `list`: every container under --root, as runc's table or JSON.

use std::os::unix::fs::MetadataExt;

use anyhow::Result;

use super::state::Store;

pub struct Row {
    pub json: serde_json::Value,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: String,
    pub created: String,
    pub owner: String,
}

fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

pub fn rows(store: &Store) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for id in store.ids()? {
        // A container being created or deleted right now is skipped.
        let Ok((locked, state)) = store.open(&id) else {
            continue;
        };
        let status = locked.status(&state);
        let owner = std::fs::metadata(&locked.dir)
            .map(|m| user_name(m.uid()))
            .unwrap_or_default();
        let mut public = state.public(status);
        public.owner = &owner;
        out.push(Row {
            json: serde_json::to_value(&public)?,
            id: state.id.clone(),
            pid: public.pid,
            status: status.to_string(),
            bundle: state.bundle.display().to_string(),
            created: state.created.clone(),
            owner: owner.clone(),
        });
    }
    Ok(out)
}

/// Formats like Go's tabwriter(minwidth 12, padding 3, ' ').
pub fn table(rows: &[Row]) -> String {
    let mut cells: Vec<[String; 6]> =
        vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for r in rows {
        cells.push([
            r.id.clone(),
            r.pid.to_string(),
            r.status.clone(),
            r.bundle.clone(),
            r.created.clone(),
            r.owner.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &cells {
        for (i, c) in row.iter().enumerate().take(5) {
            widths[i] = widths[i].max((c.chars().count() + 3).max(12));
        }
    }
    let mut s = String::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if i < 5 {
                s.push_str(&format!("{c:<w$}", w = widths[i]));
            } else {
                s.push_str(c);
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_is_runc_header() {
        assert_eq!(
            table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }
}
