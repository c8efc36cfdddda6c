//! runr-recvtty: a small console-socket receiver, for tests and for trying
//! terminal containers by hand (the role of runc's recvtty).
//!
//!   runr-recvtty [--mode single|null] [--pid-file FILE] SOCKET
//!
//! It listens on SOCKET. `single` (the default) takes one pty master and
//! copies it to and from its own stdio until the container side closes;
//! `null` takes masters forever and discards their output.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

fn main() {
    if let Err(e) = run() {
        eprintln!("runr-recvtty: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut mode = "single".to_string();
    let mut pid_file: Option<PathBuf> = None;
    let mut socket: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" | "-m" => mode = args.next().context("--mode needs a value")?,
            "--pid-file" => {
                pid_file = Some(args.next().context("--pid-file needs a value")?.into())
            }
            "-h" | "--help" => {
                println!("usage: runr-recvtty [--mode single|null] [--pid-file FILE] SOCKET");
                return Ok(());
            }
            s if s.starts_with('-') => bail!("unknown flag {s}"),
            s => socket = Some(s.into()),
        }
    }
    let socket =
        socket.context("usage: runr-recvtty [--mode single|null] [--pid-file FILE] SOCKET")?;
    let _ = std::fs::remove_file(&socket);
    let listener =
        UnixListener::bind(&socket).with_context(|| format!("listen on {}", socket.display()))?;
    if let Some(pf) = pid_file {
        std::fs::write(&pf, std::process::id().to_string())
            .with_context(|| format!("write {}", pf.display()))?;
    }
    match mode.as_str() {
        "single" => {
            let (conn, _) = listener.accept().context("accept")?;
            let (master, _) =
                runr::terminal::recv_fd(conn.as_raw_fd()).context("receive the pty master")?;
            copy_both(master)
        }
        "null" => loop {
            let (conn, _) = listener.accept().context("accept")?;
            let (master, _) =
                runr::terminal::recv_fd(conn.as_raw_fd()).context("receive the pty master")?;
            std::thread::spawn(move || {
                let mut f = std::fs::File::from(master);
                let _ = std::io::copy(&mut f, &mut std::io::sink());
            });
        },
        other => bail!("unknown mode {other:?}: use single or null"),
    }
}

/// stdin → master in a thread; master → stdout here until the pty closes.
fn copy_both(master: OwnedFd) -> Result<()> {
    let mut reader = std::fs::File::from(master);
    let mut writer = reader.try_clone()?;
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || writer.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return Ok(()), // EIO once every slave fd closed
            Ok(n) => {
                out.write_all(&buf[..n])?;
                out.flush()?;
            }
        }
    }
}
