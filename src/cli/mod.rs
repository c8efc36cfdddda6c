//! The command line: runc's flags and subcommands, parsed by clap after the
//! argv pre-pass, each subcommand a thin call into the library.

pub mod argv;
mod commands;
mod help;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use commands::dispatch;

#[derive(Parser, Debug)]
#[command(
    name = "runr",
    about = "Open Container Initiative runtime, compatible with runc",
    long_about = help::RUNR,
    after_long_help = help::RUNR_EXAMPLES,
    override_usage = "runr [global options] <command> [command options] [arguments...]",
    disable_version_flag = true
)]
pub struct Cli {
    /// directory for the containers' state (best on a tmpfs)
    /// [default: /run/runr, or $XDG_RUNTIME_DIR/runr for a user other than root]
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub root: Option<PathBuf>,
    /// write runr's log lines to FILE (default: standard error)
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub log: Option<PathBuf>,
    /// format of the log lines: text, or json (one object a line, as engines read it)
    #[arg(
        long = "log-format",
        global = true,
        value_enum,
        default_value = "text",
        value_name = "FORMAT",
        help_heading = GLOBAL
    )]
    pub log_format: LogFormat,
    /// log debug messages too
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub debug: bool,
    /// manage cgroups through systemd (not supported by runr: fails)
    #[arg(long = "systemd-cgroup", global = true, help_heading = GLOBAL)]
    pub systemd_cgroup: bool,
    /// rootless mode: use cgroups only where permitted (true, false, or auto: true when not root)
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub rootless: String,
    /// path to the criu binary used for checkpoint and restore
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// print the version, commit and OCI spec version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The heading of the global options in each command's help.
const GLOBAL: &str = "Global options";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CreateArgs {
    /// the bundle directory, holding config.json
    #[arg(short = 'b', long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// AF_UNIX socket to send the master end of the container's pseudoterminal to
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// write the container's init pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// enter the root filesystem without pivot_root (needed when it is on a ramdisk)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// keep the caller's session keyring instead of making a new one for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// pass N more file descriptors to the container (after stdio and $LISTEN_FDS)
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// your name for the new container, unique under --root
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// create a container from a bundle; `start` runs its process
    #[command(long_about = help::CREATE, after_long_help = help::CREATE_EXAMPLES)]
    Create(CreateArgs),
    /// run the process of a created container
    #[command(long_about = help::START)]
    Start {
        /// the container to start
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// create and start a container, in the foreground unless --detach
    #[command(long_about = help::RUN, after_long_help = help::RUN_EXAMPLES)]
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// return once the process has started, leaving the container running
        #[arg(short = 'd', long)]
        detach: bool,
        /// do not delete the container after its process exits (not supported by runr: fails)
        #[arg(long)]
        keep: bool,
        /// accepted for runc's command line: runr run is never a subreaper of the container's processes
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
    },
    /// print the state of a container as JSON
    #[command(long_about = help::STATE)]
    State {
        /// the container to describe
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// send a signal to a container's init process (default: SIGTERM)
    #[command(long_about = help::KILL, after_long_help = help::KILL_EXAMPLES)]
    Kill {
        /// send the signal to every process of the container
        #[arg(short = 'a', long)]
        all: bool,
        /// the container to signal
        #[arg(value_name = "container-id")]
        id: String,
        /// signal name (TERM, SIGKILL) or number (9)
        #[arg(
            default_value = "SIGTERM",
            allow_hyphen_values = true,
            value_name = "signal"
        )]
        signal: String,
    },
    /// delete a container and what it holds (cgroup, state)
    #[command(long_about = help::DELETE, after_long_help = help::DELETE_EXAMPLES)]
    Delete {
        /// kill a running container with SIGKILL first; a missing container is not an error
        #[arg(short = 'f', long)]
        force: bool,
        /// the container to delete
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// list the containers under the state root (--root)
    #[command(long_about = help::LIST, after_long_help = help::LIST_EXAMPLES)]
    List {
        /// output format: table or json
        #[arg(short = 'f', long, default_value = "table", value_name = "FORMAT")]
        format: String,
        /// print the container ids only
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// write a default config.json for a bundle
    #[command(long_about = help::SPEC, after_long_help = help::SPEC_EXAMPLES)]
    Spec {
        /// the bundle directory to write config.json into [default: .]
        #[arg(short = 'b', long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// write a configuration for a container run by an unprivileged user
        #[arg(long)]
        rootless: bool,
    },
    /// run a new process inside a running container
    #[command(
        long_about = help::EXEC,
        after_long_help = help::EXEC_EXAMPLES,
        override_usage = "runr exec [OPTIONS] <container-id> <command> [args]...\n       \
                          runr exec [OPTIONS] --process <FILE> <container-id>"
    )]
    Exec(ExecArgs),
    /// list the processes of a container
    #[command(long_about = help::PS, after_long_help = help::PS_EXAMPLES)]
    Ps {
        /// output format: table (ps's lines) or json (host pids)
        #[arg(short = 'f', long, default_value = "table", value_name = "FORMAT")]
        format: String,
        /// the container whose processes to list
        #[arg(value_name = "container-id")]
        id: String,
        /// options for ps(1) [default: -ef]
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ps options"
        )]
        ps_args: Vec<String>,
    },
    /// suspend every process of a container
    #[command(long_about = help::PAUSE)]
    Pause {
        /// the container to pause
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// resume the processes of a paused container
    #[command(long_about = help::RESUME)]
    Resume {
        /// the container to resume
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// print a container's OOM events and resource usage as JSON
    #[command(long_about = help::EVENTS)]
    Events {
        /// time between two usage reports (Go duration: 5s, 500ms, 1m)
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        interval: String,
        /// print the resource usage once and exit
        #[arg(long)]
        stats: bool,
        /// the container to watch
        #[arg(value_name = "container-id")]
        id: String,
    },
    /// change the resource limits of a container
    #[command(long_about = help::UPDATE, after_long_help = help::UPDATE_EXAMPLES)]
    Update(UpdateArgs),
    /// print the features runr supports, as JSON
    #[command(long_about = help::FEATURES)]
    Features(Unsupported),
    /// report what this host supports for containers, and whether runr can run them
    Check {
        /// output format: text (a line per item) or json
        #[arg(short = 'f', long, default_value = "text", value_name = "FORMAT")]
        format: String,
    },
    /// checkpoint a running container (not supported by runr)
    #[command(long_about = help::UNSUPPORTED)]
    Checkpoint(Unsupported),
    /// restore a container from a checkpoint (not supported by runr)
    #[command(long_about = help::UNSUPPORTED)]
    Restore(Unsupported),
}

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// AF_UNIX socket to send the master end of the process's pseudoterminal to (with --tty)
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// working directory of the process, inside the container
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// set an environment variable (repeatable)
    #[arg(short = 'e', long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// give the process a new pseudoterminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// run as this user: <uid>[:<gid>]
    #[arg(short = 'u', long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// an additional group id of the process (repeatable)
    #[arg(short = 'g', long = "additional-gids", value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// read the process (config.json's process object) from FILE instead of the command line
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// return once the process has started instead of waiting for it
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// write the process's pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// SELinux label of the process
    #[arg(long = "process-label", value_name = "LABEL")]
    pub process_label: Option<String>,
    /// AppArmor profile of the process
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// add a capability (CAP_NET_ADMIN) to the process's sets (repeatable)
    #[arg(short = 'c', long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// pass N more file descriptors to the process (after stdio and $LISTEN_FDS)
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// run the process in an existing sub-cgroup of the container: [<controller>:]<path>
    #[arg(long, value_name = "CGROUP")]
    pub cgroup: Option<String>,
    /// the container, then the command and its arguments
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_names = ["container-id", "command"]
    )]
    pub args: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    /// read the limits as linux.resources JSON from FILE, or - for standard input
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<String>,
    /// memory limit in bytes (suffixes k, m, g allowed)
    #[arg(long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// limit of memory + swap in bytes; -1 for unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// memory soft limit (reservation) in bytes
    #[arg(long = "memory-reservation", value_name = "BYTES")]
    pub memory_reservation: Option<String>,
    /// (obsolete: ignored by the kernel; do not use)
    #[arg(long = "kernel-memory", value_name = "BYTES", hide = true)]
    pub kernel_memory: Option<String>,
    /// (obsolete: ignored by the kernel; do not use)
    #[arg(long = "kernel-memory-tcp", value_name = "BYTES", hide = true)]
    pub kernel_memory_tcp: Option<String>,
    /// CPU shares: weight relative to other containers
    #[arg(long = "cpu-share", value_name = "SHARES")]
    pub cpu_share: Option<u64>,
    /// CPU time allowed in each --cpu-period, in microseconds (-1: no limit)
    #[arg(long = "cpu-quota", allow_hyphen_values = true, value_name = "USECS")]
    pub cpu_quota: Option<i64>,
    /// CFS period for --cpu-quota, in microseconds (0: the system default)
    #[arg(long = "cpu-period", value_name = "USECS")]
    pub cpu_period: Option<u64>,
    /// realtime scheduling period, in microseconds (0: the system default)
    #[arg(long = "cpu-rt-period", value_name = "USECS")]
    pub cpu_rt_period: Option<u64>,
    /// realtime CPU time allowed in each --cpu-rt-period, in microseconds
    #[arg(
        long = "cpu-rt-runtime",
        value_name = "USECS",
        allow_hyphen_values = true
    )]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the container may use (0-3,5)
    #[arg(long = "cpuset-cpus", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// memory nodes the container may use (0-1)
    #[arg(long = "cpuset-mems", value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// maximum number of processes in the container (-1: no limit)
    #[arg(long = "pids-limit", allow_hyphen_values = true, value_name = "N")]
    pub pids_limit: Option<i64>,
    /// block IO weight, from 10 to 1000
    #[arg(long = "blkio-weight", value_name = "WEIGHT")]
    pub blkio_weight: Option<u16>,
    /// Intel RDT/CAT L3 cache schema (needs resctrl)
    #[arg(long = "l3-cache-schema", value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (needs resctrl)
    #[arg(long = "mem-bw-schema", value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,
    /// the container to update
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// A subcommand that is part of runc's contract but not built yet: its
/// arguments are accepted so the error can name the command.
#[derive(clap::Args, Debug)]
pub struct Unsupported {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}
