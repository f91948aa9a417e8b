//! Reading plans from files or strings, with errors that point at the
//! file, line and column.

use std::{fmt, path::Path};

use crate::{model::Plan, problem::Problem, validate};

/// The default plan, embedded so that `harness run` works anywhere.
pub const DEFAULT_PLAN: &str = include_str!("../../plans/default.yaml");

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// YAML that does not parse, or does not fit the plan's shape.
    #[error("{}", Located { file, problems: std::slice::from_ref(problem) })]
    Syntax {
        file: String,
        problem: Problem,
        /// The offending lines, with a caret under the place.
        snippet: String,
    },
    /// A well-formed plan that cannot run as written.
    #[error("{}", Located { file, problems })]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl PlanError {
    /// The error with the source lines around it, for terminals.
    pub fn render(&self) -> String {
        match self {
            PlanError::Syntax { snippet, .. } if !snippet.is_empty() => {
                format!("{self}\n{snippet}")
            }
            _ => self.to_string(),
        }
    }
}

struct Located<'a> {
    file: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.line == 0 {
                write!(f, "{}: {}", self.file, p.message)?;
            } else {
                write!(f, "{}:{}:{}: {}", self.file, p.line, p.column, p.message)?;
            }
        }
        Ok(())
    }
}

/// Checks a plan further than this crate can: what the plan's system,
/// workload and fault kinds accept. The harness composes one from the
/// crates that own those (`systems`, `workloads`, its fault kinds).
pub type Rules<'a> = &'a dyn Fn(&Plan, &mut Vec<Problem>);

/// Largest plan file read: plans are written by hand.
pub const MAX_PLAN_BYTES: u64 = 1 << 20;

/// Reads, parses and validates the plan at `path` (generic checks and
/// `rules`).
pub fn load_with(path: &Path, rules: Rules<'_>) -> Result<Plan, PlanError> {
    let file = path.display().to_string();
    let read_error = |source| PlanError::Read {
        file: file.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_PLAN_BYTES {
        return Err(read_error(std::io::Error::other(format!(
            "{size} bytes; a plan is at most {MAX_PLAN_BYTES} bytes"
        ))));
    }
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    load_str_with(&text, &file, rules)
}

/// Parses and validates plan text; `file` names it in errors.
pub fn load_str_with(text: &str, file: &str, rules: Rules<'_>) -> Result<Plan, PlanError> {
    let plan: Plan = serde_saphyr::from_str(text).map_err(|e| syntax_error(&e, file))?;
    let mut problems = Vec::new();
    validate::check(&plan, &mut problems);
    rules(&plan, &mut problems);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::Invalid {
            file: file.to_owned(),
            problems,
        })
    }
}

fn syntax_error(error: &serde_saphyr::Error, file: &str) -> PlanError {
    let rendered = error.to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    // serde-saphyr renders "error: line L column C: message" then a snippet.
    let message = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .split_once(": ")
        .filter(|(place, _)| place.starts_with("line "))
        .map_or(first, |(_, message)| message);
    let snippet: Vec<String> = lines.map(|l| l.replace("<input>", file)).collect();
    let problem = match error.location() {
        Some(location) => Problem::at(&location, message),
        None => Problem::anywhere(message),
    };
    PlanError::Syntax {
        file: file.to_owned(),
        problem,
        snippet: snippet.join("\n"),
    }
}

/// The plan as YAML, for storing it in the run directory.
pub fn to_yaml(plan: &Plan) -> String {
    serde_saphyr::to_string(plan).unwrap_or_else(|e| format!("# cannot serialize the plan: {e}\n"))
}
