//! `harness validate PLAN...` and `harness schema`.

use std::path::PathBuf;

use crate::{exit_code, plans};

pub fn validate_command(paths: &[PathBuf]) -> u8 {
    let mut failed = false;
    for path in paths {
        match plans::load(path) {
            Ok(plan) => println!("{}: ok ({})", path.display(), plan.name),
            Err(e) => {
                failed = true;
                eprintln!("error: {}", e.render());
            }
        }
    }
    if failed {
        eprintln!(
            "systems: {}; workloads: {}; faults: {}",
            systems::names().join(", "),
            workloads::names().join(", "),
            crate::nemesis::ALL
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        exit_code::HARNESS_FAILED
    } else {
        exit_code::VALID
    }
}

pub fn schema_command() -> u8 {
    println!(
        "{}",
        serde_json::to_string_pretty(&plan::schema()).expect("schemas serialize")
    );
    exit_code::VALID
}
