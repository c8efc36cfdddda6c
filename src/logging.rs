//! The `--log` / `--log-format` sink. Only the runr process on the host side
//! writes it; child processes report errors back over the sync channel.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Text,
    Json,
}

struct Sink {
    file: Option<std::fs::File>,
    format: Format,
}

/// `--debug`, readable without the lock (phase timers check it).
static DEBUG: AtomicBool = AtomicBool::new(false);

static SINK: Mutex<Sink> = Mutex::new(Sink {
    file: None,
    format: Format::Text,
});

/// Opens the log file (append, created if missing).
pub fn init(path: Option<&std::path::Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    let mut s = SINK.lock().unwrap_or_else(|e| e.into_inner());
    *s = Sink { file, format };
    DEBUG.store(debug, Ordering::Relaxed);
    Ok(())
}

fn line(format: Format, level: &str, msg: &str) -> String {
    let time = crate::timefmt::rfc3339(SystemTime::now());
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => format!("time={time:?} level={level} msg={msg:?}\n"),
    }
}

fn emit(level: &str, msg: &str, to_stderr: bool) {
    let mut s = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let format = s.format;
    match s.file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line(format, level, msg).as_bytes());
            if to_stderr {
                let _ = writeln!(std::io::stderr(), "{msg}");
            }
        }
        None => {
            let _ = std::io::stderr().write_all(line(format, level, msg).as_bytes());
        }
    }
}

/// The one error line a failed command prints (stderr, and the log file).
pub fn error(msg: &str) {
    emit("error", &tidy(msg), true);
}

/// Writes OS errors the way runc (Go) does: `no such file or directory`,
/// not `No such file or directory (os error 2)`.
pub fn tidy(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(pos) = rest.find(" (os error ") {
        let Some(end) = rest[pos..].find(')') else {
            break;
        };
        let head = &rest[..pos];
        let seg_start = head.rfind(": ").map_or(0, |i| i + 2);
        out.push_str(&head[..seg_start]);
        let mut chars = head[seg_start..].chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_lowercase());
            out.push_str(chars.as_str());
        }
        rest = &rest[pos + end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn warn(msg: &str) {
    emit("warning", msg, false);
}

pub fn debug(msg: &str) {
    if debug_enabled() {
        emit("debug", msg, false);
    }
}

/// True with `--debug`.
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_runc_keys() {
        let l = line(Format::Json, "error", "container does not exist");
        let v: serde_json::Value = serde_json::from_str(l.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn os_errors_read_like_go() {
        assert_eq!(
            tidy("bundle /x: No such file or directory (os error 2)"),
            "bundle /x: no such file or directory"
        );
        assert_eq!(
            tidy("a: Permission denied (os error 13): b: EOF (os error 5)"),
            "a: permission denied: b: eOF"
        );
        assert_eq!(
            tidy("File config.json exists. Remove it first"),
            "File config.json exists. Remove it first"
        );
    }

    #[test]
    fn text_line_quotes_message() {
        let l = line(Format::Text, "error", "a \"b\"");
        assert!(l.contains(r#"level=error msg="a \"b\"""#), "{l}");
    }
}
