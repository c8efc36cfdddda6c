//! The longer texts of `--help` and the man pages: what each command does
//! and an example, kept apart from the flag definitions in mod.rs.

pub const RUNR: &str = "\
runr runs containers from OCI bundles, as the Open Container Initiative runtime
specification defines them. Its command line is runc's, so container engines
(containerd, Docker, podman, Kubernetes through containerd) can call it where
they call runc.

A bundle is a directory holding the container's configuration, config.json,
and usually its root filesystem; `runr spec` writes a default config.json.
Each container has an id, your name for it, unique among the containers under
the state root (--root).";

pub const RUNR_EXAMPLES: &str = "\
Examples:
  Run the bundle in the current directory in the foreground:
    runr run <container-id>
  The same bundle elsewhere, as an engine does it:
    runr create -b /path/to/bundle <container-id>
    runr start <container-id>
    runr delete <container-id>

`runr <command> --help` tells more about each command; man pages: runr(8),
runr-create(8), ...";

pub const CREATE: &str = "\
Creates the container that the bundle's config.json describes: its namespaces,
cgroup, root filesystem and mounts, with the prestart, createRuntime and
createContainer hooks run. Its process is set up and waits: `runr start` runs
it. The container's status is then \"created\".";

pub const CREATE_EXAMPLES: &str = "\
Example:
  runr create -b /path/to/bundle --pid-file /run/app1.pid app1
  runr start app1";

pub const START: &str = "\
Runs the process of a container made by `runr create` (the startContainer
hook first, then poststart), and returns at once. Its status becomes
\"running\".";

pub const RUN: &str = "\
Creates the container from the bundle and starts its process, as `create`
then `start` would. runr stays in the foreground, forwards the signals it
receives to the process, exits with the process's exit status and deletes
the container. With --detach it returns once the process has started.

When config.json has process.terminal true, the process gets a new
pseudoterminal: runr relays it to its own terminal in the foreground, or sends
it to --console-socket.";

pub const RUN_EXAMPLES: &str = "\
Example:
  runr spec -b /path/to/bundle      # then edit process.args in config.json
  runr run -b /path/to/bundle app1";

pub const STATE: &str = "\
Prints the state of the container as JSON: ociVersion, id, status (created,
running, paused or stopped), pid, bundle and annotations, as the OCI runtime
specification defines it, with runc's rootfs, created and owner fields.";

pub const KILL: &str = "\
Sends <signal> to the container's init process, or to every process of the
container with --all. The signal is a name with or without SIG (KILL,
SIGKILL) or a number (9); the default is SIGTERM. Flags must come before
<container-id>.";

pub const KILL_EXAMPLES: &str = "\
Examples:
  runr kill app1            # SIGTERM
  runr kill app1 KILL
  runr kill --all app1 9";

pub const DELETE: &str = "\
Deletes a stopped or created container: its processes (a created container's
waiting process is killed), its cgroup and its state, and runs the poststop
hooks. A running or paused container is refused unless --force, which kills
it with SIGKILL first; with --force, a container that does not exist is not an
error.";

pub const DELETE_EXAMPLES: &str = "\
Example:
  runr delete app1
  runr delete --force app1";

pub const LIST: &str = "\
Lists the containers whose state is under the state root (--root, default
/run/runr): as a table of ID, PID, STATUS, BUNDLE, CREATED and OWNER, as a
JSON array with --format json, or their ids alone with --quiet.";

pub const LIST_EXAMPLES: &str = "\
Examples:
  runr list
  runr --root /run/containerd/runc/default list --format json";

pub const SPEC: &str = "\
Writes config.json, a default configuration, into the bundle directory (the
current directory unless --bundle). It runs `sh` on a terminal, in namespaces
of its own, with the root filesystem in `rootfs` beside config.json, read-only.
Edit process.args (and process.terminal) for your program. An existing
config.json is never overwritten.

--rootless writes one for a container an unprivileged user runs: a user
namespace that maps the caller's uid and gid to root, and no network
namespace.";

pub const SPEC_EXAMPLES: &str = "\
Example:
  mkdir -p bundle/rootfs && tar -C bundle/rootfs -xf image.tar
  cd bundle && runr spec
  sed -i 's/\"sh\"/\"\\/bin\\/hello\"/' config.json
  runr run hello1";

pub const EXEC: &str = "\
Starts a new process in a running container: it joins the namespaces and the
cgroup of the container's init. Give the command and its arguments after
<container-id>, or a whole process (a JSON object like config.json's
`process`) with --process. Flags must come before <container-id>: everything
after it belongs to the command.

runr waits for the process and exits with its exit status (255 when it could
not be started), or returns once it has started with --detach.";

pub const EXEC_EXAMPLES: &str = "\
Examples:
  runr exec app1 ps -ef
  runr exec -t -e TERM=xterm -u 1000:1000 --cwd /tmp app1 sh
  runr exec --detach --pid-file /run/e1.pid --process process.json app1";

pub const PS: &str = "\
Lists the processes of a running container: the lines of ps(1) (run on the
host with the options given after <container-id>, default -ef) that belong to
the container, or with --format json the host pids of its processes as a JSON
array.";

pub const PS_EXAMPLES: &str = "\
Examples:
  runr ps app1
  runr ps app1 -o pid,comm
  runr ps --format json app1";

pub const PAUSE: &str = "\
Freezes every process of the container (its cgroup's freezer) until
`runr resume`. The container's status becomes \"paused\".";

pub const RESUME: &str = "\
Thaws the processes of a container that `runr pause` froze. Its status
becomes \"running\" again.";

pub const EVENTS: &str = "\
Prints the container's events as JSON, one object a line: OOM notifications
when the container reaches its memory limit, and its resource usage (cpu,
memory, pids, blkio, hugetlb) every --interval. --stats prints the usage once
and exits.";

pub const UPDATE: &str = "\
Changes the resource limits of a running, paused or created container. Give
the limits as flags, or as JSON in the form of config.json's linux.resources
with --resources (a file, or - for standard input), as in the last example.
With --resources, the other limit flags are ignored. Omitted values are left
as they are.";

pub const UPDATE_EXAMPLES: &str = "\
Examples:
  runr update --memory 256m --pids-limit 200 app1
  echo '{\"cpu\": {\"shares\": 256}}' | runr update --resources - app1
  runr update -r limits.json app1, with limits.json like:
    {\"memory\": {\"limit\": 134217728, \"swap\": 268435456},
     \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1\"},
     \"pids\": {\"limit\": 100}, \"blockIO\": {\"weight\": 500}}";

pub const FEATURES: &str = "\
Prints, as JSON in the form the OCI runtime specification defines
(features.md), what this runr supports: OCI versions, hooks, mount options,
namespaces, capabilities, cgroup drivers, seccomp actions and the like.";

pub const UNSUPPORTED: &str = "\
runr does not implement checkpoint and restore (they need CRIU): the command
fails with an error and exit status 1.";
