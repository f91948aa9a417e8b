//! `harness report RUN_DIR`: re-render a stored run's report.html and
//! junit.xml.

use std::path::Path;

use rundir::RunDir;

use crate::exit_code;

pub fn report_command(dir: &Path) -> u8 {
    match report::write_all(&RunDir::open(dir)) {
        Ok(written) => {
            println!("{}", written.html.display());
            println!("{}", written.junit.display());
            exit_code::VALID
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::HARNESS_FAILED
        }
    }
}
