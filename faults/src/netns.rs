//! Isolation from the host: the run's private network namespace, and its
//! private mount namespace.
//!
//! Owns [`enter_private_namespace`], which the controller calls first thing
//! in `main`, and [`ensure_isolated`], which every firewall change calls
//! immediately before it spawns `iptables`; likewise
//! [`enter_private_mount_namespace`] and [`ensure_mount_isolated`], which
//! every durable mount ([`crate::disk::DurableFs`]) calls before mounting.
//!
//! Invariants:
//! - `enter_private_namespace` refuses to run once a second thread exists:
//!   `unshare(CLONE_NEWNET)` moves only the calling thread, and a thread
//!   left behind in the host's namespace could reach the host's firewall.
//!   Threads (and so tokio runtimes) created *after* the call inherit the
//!   new namespace, as do all child processes.
//! - The host's namespace is remembered at the first call; no rule is ever
//!   written while the calling thread is still in it, nor while it shares
//!   pid 1's namespace (a second, independent check).
//! - The namespace has no interfaces but `lo`, so nothing the run does can
//!   leave the machine, and it disappears, with every rule in it, when the
//!   last process in it exits.
//! - The mount namespace is entered under the same one-thread rule (its
//!   `unshare` also unshares the file system context, which the kernel
//!   refuses to a multi-threaded process), and every mount point in it is
//!   made private at once, so no mount propagates back to the host; it
//!   too disappears, with every mount in it, with its last process.

use std::{
    fmt, fs,
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    path::Path,
    sync::OnceLock,
};

use nix::{
    errno::Errno,
    sched::{CloneFlags, unshare},
    sys::socket::{AddressFamily, SockFlag, SockType, socket},
    unistd::{Gid, Uid},
};

use crate::FaultError;

/// How the process got its private network namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationMode {
    /// As root: a new network namespace only.
    Root,
    /// Without root: a new user namespace in which the user is mapped to
    /// root, and a new network namespace owned by it.
    UserNamespace {
        /// The user's id outside, mapped to 0 inside.
        outer_uid: u32,
        /// The user's group outside, mapped to 0 inside.
        outer_gid: u32,
    },
}

/// The identity of a network namespace: the device and inode of its
/// `/proc/.../ns/net` file, as `ip netns identify` and `lsns` compare them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespaceId {
    /// Device of the nsfs file.
    pub dev: u64,
    /// Inode of the nsfs file (the number in `net:[...]`).
    pub ino: u64,
}

impl fmt::Display for NamespaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net:[{}]", self.ino)
    }
}

/// The namespace the process was in before its first successful
/// [`enter_private_namespace`].
static HOST_NETNS: OnceLock<NamespaceId> = OnceLock::new();

/// The mount namespace the process was in before its first successful
/// [`enter_private_mount_namespace`].
static HOST_MNTNS: OnceLock<NamespaceId> = OnceLock::new();

/// The network namespace of the namespace file at `path`, such as
/// `/proc/1234/ns/net`.
pub fn namespace_of(path: &Path) -> Result<NamespaceId, FaultError> {
    let meta =
        fs::metadata(path).map_err(|e| FaultError::io(format!("reading {}", path.display()), e))?;
    Ok(NamespaceId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// The network namespace of the calling thread.
pub fn current_namespace() -> Result<NamespaceId, FaultError> {
    namespace_of(Path::new("/proc/thread-self/ns/net"))
}

/// The namespace the process started in, if [`enter_private_namespace`]
/// has moved it.
pub fn host_namespace() -> Option<NamespaceId> {
    HOST_NETNS.get().copied()
}

/// Move the process into a fresh network namespace with only `lo`, up.
///
/// Call it first thing in `main`, before any async runtime, thread or
/// child exists; it fails with [`FaultError::ThreadsRunning`] otherwise.
/// As root it unshares the network namespace; otherwise (or when root
/// lacks `CAP_SYS_ADMIN`, as in a container) it unshares a user namespace
/// too, mapping the user to root inside. When neither is allowed, the
/// error says what to do.
pub fn enter_private_namespace() -> Result<IsolationMode, FaultError> {
    let threads = thread_count()?;
    if threads > 1 {
        return Err(FaultError::ThreadsRunning { threads });
    }
    let before = current_namespace()?;
    let mode = if Uid::effective().is_root() {
        match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => IsolationMode::Root,
            Err(Errno::EPERM) => enter_user_namespace()?,
            Err(source) => {
                return Err(FaultError::NamespaceDenied {
                    attempt: "unshare(CLONE_NEWNET) as root",
                    source,
                });
            }
        }
    } else {
        enter_user_namespace()?
    };
    // Keep the first host seen: a second call must not bless the first
    // private namespace as the "host".
    let _ = HOST_NETNS.set(before);
    loopback_up()?;
    ensure_isolated()?;
    tracing::info!(?mode, namespace = %current_namespace()?, "entered a private network namespace");
    Ok(mode)
}

/// Succeeds only if the calling thread is in a network namespace other than
/// the one the process started in and other than pid 1's.
///
/// # Correctness
/// Call it on the thread that spawns the firewall command, with no `.await`
/// between the check and the spawn, so that the check and the child see the
/// same namespace.
pub fn ensure_isolated() -> Result<(), FaultError> {
    check_private(current_namespace()?)
}

/// The check behind [`ensure_isolated`] and [`NetNamespace::ensure_private`]:
/// `here` is neither the namespace the process started in nor pid 1's.
fn check_private(here: NamespaceId) -> Result<(), FaultError> {
    let not_isolated = |detail: String| Err(FaultError::NotIsolated { detail });
    if let Some(host) = host_namespace()
        && here == host
    {
        return not_isolated(format!(
            "it is still in the namespace the process started in, {host}"
        ));
    }
    if std::process::id() == 1 {
        // We are pid 1 (a container's entrypoint): pid 1's namespace is our
        // own, and only the recorded host namespace can vouch for us.
        return match host_namespace() {
            Some(_) => Ok(()),
            None => {
                not_isolated("the process is pid 1 and never entered a private namespace".into())
            }
        };
    }
    match namespace_of(Path::new("/proc/1/ns/net")) {
        Ok(init) if init == here => not_isolated(format!("it shares pid 1's namespace, {init}")),
        Ok(_) => Ok(()),
        // Unreadable without privileges over pid 1 (as in a user
        // namespace): the recorded host namespace must then vouch for us.
        Err(_) if host_namespace().is_some() => Ok(()),
        Err(e) => not_isolated(format!("pid 1's namespace cannot be compared: {e}")),
    }
}

/// Move the process into a private copy of its mount namespace, in which
/// every mount is private (`mount --make-rprivate /`): mounts made from
/// now on (a [`crate::disk::DurableFs`]) are seen by this process and its
/// children only, and end with the last of them.
///
/// Call it first thing in `main` (after [`enter_private_namespace`]),
/// before any thread starts; it fails with [`FaultError::ThreadsRunning`]
/// otherwise. Needs `CAP_SYS_ADMIN` (root, or the user namespace that
/// [`enter_private_namespace`] may have entered).
pub fn enter_private_mount_namespace() -> Result<(), FaultError> {
    let threads = thread_count()?;
    if threads > 1 {
        return Err(FaultError::ThreadsRunning { threads });
    }
    let before = current_mount_namespace()?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|source| FaultError::NamespaceDenied {
        attempt: "unshare(CLONE_NEWNS)",
        source,
    })?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|source| FaultError::NamespaceDenied {
        attempt: "mount --make-rprivate / in the new mount namespace",
        source,
    })?;
    let _ = HOST_MNTNS.set(before);
    ensure_mount_isolated()?;
    tracing::info!(
        namespace = current_mount_namespace()?.ino,
        "entered a private mount namespace"
    );
    Ok(())
}

/// The mount namespace of the calling thread.
pub fn current_mount_namespace() -> Result<NamespaceId, FaultError> {
    namespace_of(Path::new("/proc/thread-self/ns/mnt"))
}

/// Succeeds only if the calling thread is in a mount namespace that
/// [`enter_private_mount_namespace`] entered: not the one the process
/// started in, and not pid 1's.
pub fn ensure_mount_isolated() -> Result<(), FaultError> {
    let here = current_mount_namespace()?;
    let not_isolated = |detail: String| Err(FaultError::MountNotIsolated { detail });
    let Some(host) = HOST_MNTNS.get().copied() else {
        return not_isolated("the process never entered a private mount namespace".into());
    };
    if here == host {
        return not_isolated(format!(
            "it is still in the mount namespace the process started in, mnt:[{}]",
            host.ino
        ));
    }
    match namespace_of(Path::new("/proc/1/ns/mnt")) {
        Ok(init) if init == here && std::process::id() != 1 => not_isolated(format!(
            "it shares pid 1's mount namespace, mnt:[{}]",
            init.ino
        )),
        _ => Ok(()),
    }
}

/// The number of threads of this process.
fn thread_count() -> Result<usize, FaultError> {
    let tasks = fs::read_dir("/proc/self/task")
        .map_err(|e| FaultError::io("listing /proc/self/task", e))?;
    Ok(tasks.count())
}

/// Unshare a user namespace with the user mapped to root, and a network
/// namespace owned by it.
fn enter_user_namespace() -> Result<IsolationMode, FaultError> {
    let (uid, gid) = (Uid::current().as_raw(), Gid::current().as_raw());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(|source| {
        FaultError::NamespaceDenied {
            attempt: "unshare(CLONE_NEWUSER | CLONE_NEWNET) as an unprivileged user",
            source,
        }
    })?;
    let write = |file: &str, content: String| {
        fs::write(file, content).map_err(|e| FaultError::io(format!("writing {file}"), e))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(IsolationMode::UserNamespace {
        outer_uid: uid,
        outer_gid: gid,
    })
}

/// Bring the loopback interface of the current namespace up
/// (`ip link set lo up`, by ioctl).
fn loopback_up() -> Result<(), FaultError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| FaultError::io("opening a socket to configure lo", e.into()))?;
    // SAFETY: `ifreq` is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    let ioctl = |request: libc::Ioctl, req: &mut libc::ifreq, what: &str| {
        // SAFETY: `req` is a valid, initialised `ifreq` for the lifetime of
        // the call, as SIOCGIFFLAGS/SIOCSIFFLAGS require.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request, req as *mut libc::ifreq) };
        if rc < 0 {
            return Err(FaultError::io(
                what.to_owned(),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    };
    ioctl(
        libc::SIOCGIFFLAGS as libc::Ioctl,
        &mut req,
        "reading the flags of lo",
    )?;
    // SAFETY: SIOCGIFFLAGS filled in the `ifru_flags` member of the union.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    ioctl(
        libc::SIOCSIFFLAGS as libc::Ioctl,
        &mut req,
        "bringing lo up",
    )
}

/// A network namespace held open by a file descriptor: no process needs to
/// live in it, and no bind mount under `/run/netns` names it.
///
/// This is how per-node namespaces are kept (see
/// [`crate::net::namespaces`]): the namespace lives as long as any clone of
/// this handle, or any process inside it, and the kernel destroys it (with
/// its interfaces and rules) when the last of those goes. Nothing is ever
/// written to the file system, so nothing survives the controller.
///
/// Clones share the descriptor.
#[derive(Clone, Debug)]
pub struct NetNamespace {
    fd: std::sync::Arc<std::os::fd::OwnedFd>,
    id: NamespaceId,
}

impl NetNamespace {
    /// A fresh network namespace with only `lo`, up, created from inside
    /// the run's private namespace (it refuses anywhere else).
    ///
    /// A short-lived thread unshares its own network namespace (which
    /// moves only that thread), opens it, brings `lo` up and exits; the
    /// descriptor keeps the namespace alive.
    pub fn create() -> Result<Self, FaultError> {
        ensure_isolated()?;
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("faults-netns".into())
                .spawn_scoped(scope, || {
                    unshare(CloneFlags::CLONE_NEWNET).map_err(|source| {
                        FaultError::NamespaceDenied {
                            attempt: "unshare(CLONE_NEWNET) on a thread, for a node's namespace",
                            source,
                        }
                    })?;
                    loopback_up()?;
                    Self::open(Path::new("/proc/thread-self/ns/net"))
                })
                .map_err(|e| FaultError::io("starting a thread to create a namespace", e))?
                .join()
                .unwrap_or_else(|_| {
                    Err(FaultError::io(
                        "creating a network namespace",
                        std::io::Error::other("the namespace thread panicked"),
                    ))
                })
        })
    }

    /// The namespace of the calling thread, held open.
    pub fn current() -> Result<Self, FaultError> {
        Self::open(Path::new("/proc/thread-self/ns/net"))
    }

    /// Hold the namespace of the nsfs file at `path` open.
    pub fn open(path: &Path) -> Result<Self, FaultError> {
        let file = fs::File::open(path)
            .map_err(|e| FaultError::io(format!("opening {}", path.display()), e))?;
        let meta = file
            .metadata()
            .map_err(|e| FaultError::io(format!("reading {}", path.display()), e))?;
        Ok(Self {
            fd: std::sync::Arc::new(file.into()),
            id: NamespaceId {
                dev: meta.dev(),
                ino: meta.ino(),
            },
        })
    }

    /// The namespace's identity.
    pub fn id(&self) -> NamespaceId {
        self.id
    }

    /// The raw descriptor, valid while `self` lives (for `setns` in a
    /// child between fork and exec).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// A path that names the namespace for other programs, such as `ip link
    /// ... netns PATH` (iproute2 opens any name containing a `/` as a
    /// file): `/proc/<our pid>/fd/<fd>`. Valid while `self` lives.
    pub fn proc_path(&self) -> std::path::PathBuf {
        format!("/proc/{}/fd/{}", std::process::id(), self.raw_fd()).into()
    }

    /// Refuse unless this namespace is a private one: neither the namespace
    /// the process started in nor pid 1's (see [`ensure_isolated`]).
    pub fn ensure_private(&self) -> Result<(), FaultError> {
        check_private(self.id)
    }

    /// Run `f` on a fresh thread that has joined this namespace (the
    /// calling thread stays where it is). For tests and probes: sockets
    /// the closure opens live in this namespace.
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, FaultError> {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("faults-in-netns".into())
                .spawn_scoped(scope, || {
                    nix::sched::setns(&*self.fd, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| FaultError::io(format!("joining {}", self.id), e.into()))?;
                    Ok(f())
                })
                .map_err(|e| FaultError::io("starting a thread to join a namespace", e))?
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        })
    }

    /// Move the calling process into this namespace. Only for the child
    /// side of a fork, before exec (`Command::pre_exec`): it is
    /// async-signal-safe and allocates nothing.
    pub fn enter_in_child(&self) -> std::io::Result<()> {
        // SAFETY: setns takes a descriptor we own for the duration of the
        // call and a flag; it touches no memory of ours.
        if unsafe { libc::setns(self.raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
