//! The controller is SIGKILLed while a node writes into its durable
//! mount: afterwards the host never saw the mount, no node or FUSE server
//! process remains, and the run's mount namespace (with the mount) is gone.

use std::{path::PathBuf, time::Duration};

use faults::{Nemesis, NodeName, NodeSpec, disk::mounted_in, net::LoopbackIptables};

use crate::{
    disk::{DiskScenario, mount_temp, require_fuse},
    support::{
        Verdict, eventually, pid_alive, sigkill_controller, spawn_until_ready, tasks_in_namespace,
    },
};

pub const CONTROLLER: DiskScenario = DiskScenario {
    name: "disk-sigkill-controller",
    body: controller_body,
};

/// Mount, start a node appending to a file in the mount, report, then
/// wait to be killed.
fn controller_body() -> Result<(), String> {
    let (dir, fs) = mount_temp("sigkill")?;
    println!("DIR {}", dir.path().display());
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
        let spec = NodeSpec::new(NodeName::from("n1"), "sh", dir.path().join("n1.log"))
            .args([
                "-c",
                "while :; do echo x >> data; sync data 2>/dev/null; sleep 0.02; done",
            ])
            .cwd(fs.mountpoint());
        let pid = nemesis.start_node(spec).await.map_err(|e| e.to_string())?;
        let data = fs.mountpoint().join("data");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0) < 4 {
            if tokio::time::Instant::now() > deadline {
                return Err("the node never wrote into the mount".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("MOUNT {}", fs.mountpoint().display());
        println!("PIDS {pid}");
        println!("READY");
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Err("the test kills this process long before".to_owned())
    })
}

fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
}

pub fn controller_killed() -> Verdict {
    if let Err(v) = require_fuse() {
        return v;
    }
    if mounted_in(&host_mountinfo(), None) {
        return Verdict::Fail("the host already shows a durable mount before the test".into());
    }
    let (mut pid, mut mntns, mut dir, mut mount) = (None::<u32>, None::<u64>, None, None);
    let spawned = spawn_until_ready(CONTROLLER.name, |line| {
        if let Some(rest) = line.strip_prefix("PIDS ") {
            pid = rest.parse().ok();
        } else if let Some(rest) = line.strip_prefix("MNTNS ") {
            mntns = rest.parse().ok();
        } else if let Some(rest) = line.strip_prefix("DIR ") {
            dir = Some(PathBuf::from(rest));
        } else if let Some(rest) = line.strip_prefix("MOUNT ") {
            mount = Some(PathBuf::from(rest));
        }
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(verdict) => return verdict,
    };
    let verdict = (|| {
        let (Some(pid), Some(mntns), Some(mount)) = (pid, mntns, mount.as_deref()) else {
            return Verdict::Fail("the controller did not report pid, namespace and mount".into());
        };
        let inside =
            std::fs::read_to_string(format!("/proc/{}/mountinfo", child.id())).unwrap_or_default();
        if !mounted_in(&inside, Some(mount)) {
            return Verdict::Fail(format!("the controller does not see its mount:\n{inside}"));
        }
        if mounted_in(&host_mountinfo(), None) {
            return Verdict::Fail("the durable mount is visible on the host".into());
        }
        if !pid_alive(pid) {
            return Verdict::Fail(format!("the node {pid} is not running before the kill"));
        }
        if let Err(verdict) = sigkill_controller(&mut child) {
            return verdict;
        }
        if !eventually(Duration::from_secs(5), || !pid_alive(pid)) {
            return Verdict::Fail(format!("node {pid} survived the controller"));
        }
        if !eventually(Duration::from_secs(5), || {
            tasks_in_namespace("mnt", mntns).is_empty()
        }) {
            return Verdict::Fail(format!(
                "tasks still hold the run's mount namespace (and its mount): {:?}",
                tasks_in_namespace("mnt", mntns)
            ));
        }
        if mounted_in(&host_mountinfo(), None) {
            return Verdict::Fail("a durable mount is on the host after the run".into());
        }
        Verdict::Pass
    })();
    let _ = child.kill();
    let _ = child.wait();
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    verdict
}
