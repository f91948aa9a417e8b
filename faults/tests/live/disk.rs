//! Durable mounts through the real kernel: what a power loss keeps and
//! takes, `fsync-error`, and `crash-at-fsync` stopping a real writer at its
//! nth sync.
//!
//! Disk scenarios run in re-executed children that enter a private
//! network *and* mount namespace first thing, while single-threaded, as
//! the controller does (see [`scenario_main`]). They need root and
//! `/dev/fuse`, and skip (or fail under `HARNESS_REQUIRE_PRIVILEGES=1`)
//! without them.

use std::{
    fs::{self, File, OpenOptions},
    io::{BufRead, BufReader, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::Duration,
};

use faults::{
    disk::{DurableFs, FsyncTrigger, PowerLossReport},
    netns,
};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};

use crate::support::{ROLE, Verdict, describe, run_with_timeout, scenario_command, skip_or_fail};

/// A disk scenario: runs after both namespaces are entered.
pub struct DiskScenario {
    pub name: &'static str,
    pub body: fn() -> Result<(), String>,
}

pub const SCENARIOS: &[&DiskScenario] = &[
    &ROLLBACK,
    &FSYNC_FAULTS,
    &crate::disk_sigkill::CONTROLLER,
    &crate::disk_cluster::SAFE,
    &crate::disk_cluster::UNSAFE,
    &crate::disk_crash_points::SCENARIO,
    &crate::disk_nemesis::SCENARIO,
];

const ROLLBACK: DiskScenario = DiskScenario {
    name: "disk-rollback",
    body: rollback_body,
};
const FSYNC_FAULTS: DiskScenario = DiskScenario {
    name: "disk-fsync-faults",
    body: fsync_faults_body,
};

/// The writer role: append `COUNT` lines to `FILE`, each followed by an
/// `fsync`, printing `synced N` after each.
const WRITER: &str = "disk-writer";
const WRITER_FILE: &str = "FAULTS_LIVE_FILE";

/// Handle this copy's role if it is a disk one.
pub fn main_for_role() -> Option<ExitCode> {
    let role = std::env::var(ROLE).ok()?;
    if role == WRITER {
        return Some(writer_main());
    }
    if role == crate::disk_nemesis::NODE {
        return Some(crate::disk_nemesis::node_main());
    }
    let name = role.strip_prefix("scenario:")?;
    let scenario = SCENARIOS.iter().find(|s| s.name == name)?;
    Some(scenario_main(scenario))
}

/// Enter the namespaces (one thread still), then run the body.
fn scenario_main(scenario: &DiskScenario) -> ExitCode {
    netns::enter_private_namespace().expect("a private network namespace");
    netns::enter_private_mount_namespace().expect("a private mount namespace");
    println!(
        "MNTNS {}",
        netns::current_mount_namespace()
            .expect("own mount namespace")
            .ino
    );
    match (scenario.body)() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scenario {} failed: {e}", scenario.name);
            ExitCode::FAILURE
        }
    }
}

/// `Err(verdict)` unless durable mounts can work here.
pub fn require_fuse() -> Result<(), Verdict> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(skip_or_fail("durable mounts need root"));
    }
    if !Path::new("/dev/fuse").exists() {
        return Err(skip_or_fail("/dev/fuse is missing"));
    }
    Ok(())
}

/// Run disk scenario `name` in a child, within `timeout`.
pub fn run(name: &str, timeout: Duration) -> Verdict {
    if let Err(v) = require_fuse() {
        return v;
    }
    match run_with_timeout(scenario_command(name), timeout) {
        Ok(out) if out.status.success() => Verdict::Pass,
        Ok(out) => Verdict::Fail(describe(name, &out)),
        Err(e) => Verdict::Fail(e),
    }
}

pub fn rollback() -> Verdict {
    run(ROLLBACK.name, Duration::from_secs(60))
}

pub fn fsync_faults() -> Verdict {
    run(FSYNC_FAULTS.name, Duration::from_secs(60))
}

/// A fresh mount in a temp dir: `(dir guard, fs)`, data at `fs.mountpoint()`.
pub fn mount_temp(tag: &str) -> Result<(tempfile::TempDir, DurableFs), String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("faults-{tag}-"))
        .tempdir()
        .map_err(|e| e.to_string())?;
    let fs = DurableFs::mount(dir.path().join("n1.backing"), dir.path().join("n1"))
        .map_err(|e| e.to_string())?;
    Ok((dir, fs))
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what()) }
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn write(path: &Path, content: &str, sync: bool) -> Result<(), String> {
    let mut file = File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .map_err(|e| e.to_string())?;
    if sync {
        file.sync_all().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn sync_dir(path: &Path) -> Result<(), String> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("fsync dir {}: {e}", path.display()))
}

/// Write, sync, rename and power-lose through the mount, and check each
/// rule of the model against what the kernel then serves.
fn rollback_body() -> Result<(), String> {
    let (_dir, fs) = mount_temp("rollback")?;
    let m = fs.mountpoint().to_owned();

    // Synced content and names survive; unsynced writes and names do not.
    write(&m.join("kept"), "synced", true)?;
    sync_dir(&m)?;
    write(
        &m.join("unsynced-name"),
        "synced data, name never synced",
        true,
    )?;
    let mut f = OpenOptions::new()
        .append(true)
        .open(m.join("kept"))
        .map_err(|e| e.to_string())?;
    f.write_all(b" + lost tail").map_err(|e| e.to_string())?;
    drop(f);
    check(
        read(&m.join("kept")).as_deref() == Some("synced + lost tail"),
        || "the mount does not serve what was written".into(),
    )?;
    let report = fs.power_loss().map_err(|e| e.to_string())?;
    check(
        report
            == PowerLossReport {
                // "kept" lost its appended tail; "unsynced-name" was synced
                // (no data to roll back) but its name goes.
                files_rolled_back: 1,
                bytes_lost: " + lost tail".len() as u64,
                names_undone: 1,
            },
        || format!("unexpected report {report:?}"),
    )?;
    check(read(&m.join("kept")).as_deref() == Some("synced"), || {
        format!("kept file after power loss: {:?}", read(&m.join("kept")))
    })?;
    check(!m.join("unsynced-name").exists(), || {
        "a file whose directory was never synced survived".into()
    })?;

    // The atomic-replace pattern: durable only once the directory is synced.
    write(&m.join("tmp"), "new", true)?;
    fs::rename(m.join("tmp"), m.join("kept")).map_err(|e| e.to_string())?;
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&m.join("kept")).as_deref() == Some("synced"), || {
        "a rename without a directory sync survived".into()
    })?;
    check(!m.join("tmp").exists(), || "tmp came back".into())?;
    write(&m.join("tmp"), "new", true)?;
    fs::rename(m.join("tmp"), m.join("kept")).map_err(|e| e.to_string())?;
    sync_dir(&m)?;
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&m.join("kept")).as_deref() == Some("new"), || {
        "a rename with a directory sync was lost".into()
    })?;

    // Unlink without a directory sync: back, with its synced content.
    fs::remove_file(m.join("kept")).map_err(|e| e.to_string())?;
    check(!m.join("kept").exists(), || "unlink did not unlink".into())?;
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&m.join("kept")).as_deref() == Some("new"), || {
        "an unlink without a directory sync was not undone".into()
    })?;

    // Directories, and the hidden graveyard.
    fs::create_dir(m.join("d")).map_err(|e| e.to_string())?;
    write(&m.join("d/x"), "x", true)?;
    sync_dir(&m.join("d"))?;
    let names: Vec<_> = fs::read_dir(&m)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    check(names.len() == 2, || format!("listing shows {names:?}"))?;
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&m.join("d/x")).as_deref() == Some("x"), || {
        "syncing d did not commit the journal up to its last operation".into()
    })?;
    fs.unmount().map_err(|e| e.to_string())
}

/// `fsync-error` fails syncs and makes nothing durable; `crash-at-fsync`
/// kills a real writer inside its third `fsync`, before it returns.
fn fsync_faults_body() -> Result<(), String> {
    let (_dir, fs) = mount_temp("fsync")?;
    let m = fs.mountpoint().to_owned();
    write(&m.join("f"), "before", true)?;
    sync_dir(&m)?;
    fs.set_fsync_error(true);
    let mut f = OpenOptions::new()
        .write(true)
        .open(m.join("f"))
        .map_err(|e| e.to_string())?;
    f.write_all(b"AFTER!").map_err(|e| e.to_string())?;
    let err = f.sync_all().expect_err("fsync fails in an error window");
    check(err.raw_os_error() == Some(libc::EIO), || {
        format!("fsync failed with {err}, not EIO")
    })?;
    drop(f);
    fs.set_fsync_error(false);
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&m.join("f")).as_deref() == Some("before"), || {
        "a failed fsync made the write durable".into()
    })?;

    let log = m.join("log");
    fs.crash_at_fsync(FsyncTrigger::nth(3).of_path("log"), |point| {
        // The writer leads its own process group.
        let _ = killpg(Pid::from_raw(point.pid as i32), Signal::SIGKILL);
    });
    let mut writer = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .env(ROLE, WRITER)
        .env(WRITER_FILE, &log)
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    let lines: Vec<String> = BufReader::new(writer.stdout.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = writer.wait().map_err(|e| e.to_string())?;
    check(status.signal() == Some(9), || {
        format!("the writer was not killed: {status}, printed {lines:?}")
    })?;
    check(lines == ["synced 1", "synced 2"], || {
        format!("the writer returned from its third fsync: {lines:?}")
    })?;
    check(!fs.stats().crash_armed, || {
        "the trigger is still armed".into()
    })?;
    // Killed is not enough: the third line is still there until the power
    // goes, and then only the two synced lines remain.
    check(read(&log).is_some_and(|l| l.lines().count() == 3), || {
        format!("before power loss: {:?}", read(&log))
    })?;
    fs.power_loss().map_err(|e| e.to_string())?;
    check(read(&log).as_deref() == Some("line 1\nline 2\n"), || {
        format!("after power loss: {:?}", read(&log))
    })?;
    fs.unmount().map_err(|e| e.to_string())
}

/// The writer: `COUNT` lines (5), each followed by `fsync` and a report.
fn writer_main() -> ExitCode {
    let path = PathBuf::from(std::env::var_os(WRITER_FILE).expect("file"));
    let mut file = File::create(&path).expect("create the log");
    // The name must be durable too, or a power loss takes the whole file.
    File::open(path.parent().expect("a parent"))
        .and_then(|d| d.sync_all())
        .expect("sync the directory");
    for i in 1..=5 {
        file.write_all(format!("line {i}\n").as_bytes())
            .expect("write");
        if file.sync_all().is_err() {
            return ExitCode::FAILURE;
        }
        println!("synced {i}");
        let _ = std::io::stdout().flush();
    }
    std::thread::sleep(Duration::from_millis(10));
    ExitCode::SUCCESS
}
