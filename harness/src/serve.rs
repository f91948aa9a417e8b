//! `harness serve`: a small local web UI over a runs directory.
//!
//! `/` lists the runs (`<dir>/<plan>/<timestamp>/`) newest first, coloured
//! by verdict, with links to each run's report, history, results, JUnit
//! file and node logs. `/runs/<path>` serves files and directory listings
//! from inside the runs directory; a missing `report.html` is rendered on
//! the fly from the run's history and results.
//!
//! Invariants (the UI has no authentication):
//! - it binds `127.0.0.1` unless told otherwise, and warns when told to
//!   listen beyond loopback;
//! - a request path is percent-decoded once, then refused (403) if any
//!   segment is `.`, `..` or empty, or holds `\` or NUL; the resolved path
//!   is canonicalized (following symlinks) and refused unless it is still
//!   inside the canonical runs directory, so no encoding and no symlink
//!   reaches a file outside it;
//! - files are served read-only with `nosniff` and, for HTML, a Content
//!   Security Policy that forbids scripts and fetches.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use checker::Verdict;
use percent_encoding::percent_decode_str;

use report::{faults::natural_cmp, svg::esc};
use rundir::{RunDir, RunMeta};

use crate::exit_code;

/// `harness serve` flags.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The runs directory to browse.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub dir: PathBuf,
    /// Address to listen on. The UI has no authentication: keep it on
    /// loopback unless the network is trusted.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "IP:PORT")]
    pub addr: SocketAddr,
}

/// Runs the server until Ctrl-C.
pub fn serve_command(args: &ServeArgs) -> u8 {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::HARNESS_FAILED;
        }
    };
    runtime.block_on(async {
        let router = match router(&args.dir) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot serve {}: {e}", args.dir.display());
                return exit_code::HARNESS_FAILED;
            }
        };
        if !args.addr.ip().is_loopback() {
            eprintln!(
                "warning: listening on {}, beyond loopback; anyone who can reach it can read the runs",
                args.addr
            );
        }
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.addr);
                return exit_code::HARNESS_FAILED;
            }
        };
        let bound = listener.local_addr().unwrap_or(args.addr);
        println!("serving {} at http://{bound}/", args.dir.display());
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => exit_code::VALID,
            Err(e) => {
                eprintln!("error: server failed: {e}");
                exit_code::HARNESS_FAILED
            }
        }
    })
}

struct Served {
    /// The canonical runs directory.
    root: PathBuf,
}

/// The UI's routes over the runs directory `dir` (which must exist).
pub fn router(dir: &Path) -> std::io::Result<Router> {
    let root = std::fs::canonicalize(dir)?;
    if !root.is_dir() {
        return Err(std::io::Error::other("not a directory"));
    }
    let state = Arc::new(Served { root });
    Ok(Router::new()
        .route("/", get(index))
        .fallback(files)
        .with_state(state))
}

/// One run directory, as the index shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEntry {
    pub plan: String,
    /// The run directory's name (its UTC timestamp).
    pub name: String,
    /// `None` while the run has no readable results.json.
    pub verdict: Option<Verdict>,
    pub summary: String,
    pub seed: Option<u64>,
    pub has_report: bool,
    pub logs: Vec<String>,
}

impl RunEntry {
    /// Path of the run below the runs directory, URL-safe.
    pub fn href(&self) -> String {
        format!("/runs/{}/{}/", encode(&self.plan), encode(&self.name))
    }
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
}

/// The runs under `root` (`<plan>/<run>/`), newest first. Symlinks (such
/// as `latest`) are skipped so each run is listed once.
pub fn list_runs(root: &Path) -> Vec<RunEntry> {
    let mut runs = Vec::new();
    let Ok(plans) = std::fs::read_dir(root) else {
        return runs;
    };
    for plan in plans.filter_map(Result::ok) {
        if !plan.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(dirs) = std::fs::read_dir(plan.path()) else {
            continue;
        };
        for run in dirs.filter_map(Result::ok) {
            if !run.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = run.path();
            if !RunDir::is_run(&path) {
                continue;
            }
            let dir = RunDir::open(&path);
            let results = rundir::read_results(&path).ok();
            let mut logs: Vec<String> = dir
                .node_logs()
                .into_iter()
                .map(|(name, _)| format!("{name}.log"))
                .collect();
            logs.sort_by(|a, b| natural_cmp(a, b));
            runs.push(RunEntry {
                plan: plan.file_name().to_string_lossy().into_owned(),
                name: run.file_name().to_string_lossy().into_owned(),
                verdict: results.as_ref().map(|r| r.verdict),
                summary: results
                    .as_ref()
                    .map(|r| {
                        r.checkers
                            .iter()
                            .map(|(n, c)| format!("{n}: {}", c.summary))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_else(|| "no results.json (running, or the harness failed)".into()),
                seed: results
                    .as_ref()
                    .and_then(RunMeta::from_results)
                    .and_then(|m| m.seed),
                has_report: dir.report().is_file(),
                logs,
            });
        }
    }
    // Timestamps sort as text; `-2` suffixes (two runs in a second) sort
    // naturally.
    runs.sort_by(|a, b| natural_cmp(&b.name, &a.name).then_with(|| a.plan.cmp(&b.plan)));
    runs
}

/// The index page.
pub fn index_html(root: &Path, runs: &[RunEntry]) -> String {
    let mut out = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>runs · harness</title><style>{INDEX_CSS}</style></head><body><h1>Runs in <code>{}</code></h1><p class="note">{} runs, newest first. Re-render a report with <code>harness report DIR</code>.</p><table><tr><th>run</th><th>plan</th><th>verdict</th><th>summary</th><th>seed</th><th>files</th></tr>"#,
        esc(&root.display().to_string()),
        runs.len()
    );
    for run in runs {
        let (class, verdict) = match run.verdict {
            Some(v) => (v.to_string(), v.to_string()),
            None => ("none".to_owned(), "no result".to_owned()),
        };
        let base = run.href();
        let mut files = format!(
            r#"<a href="{base}{}"><b>report</b></a> <a href="{base}{}">history</a> <a href="{base}{}">results</a> <a href="{base}{}">junit</a> <a href="{base}{}">plan</a>"#,
            rundir::REPORT,
            rundir::HISTORY,
            rundir::RESULTS,
            rundir::JUNIT,
            rundir::PLAN
        );
        for log in &run.logs {
            files += &format!(
                r#" <a href="{base}{}/{}">{}</a>"#,
                rundir::NODES,
                encode(log),
                esc(log.trim_end_matches(".log"))
            );
        }
        out += &format!(
            r#"<tr class="{class}"><td><a href="{base}">{}</a></td><td>{}</td><td><span class="badge">{verdict}</span></td><td>{}</td><td>{}</td><td>{files}</td></tr>"#,
            esc(&run.name),
            esc(&run.plan),
            esc(&run.summary),
            run.seed.map_or(String::new(), |s| s.to_string()),
        );
    }
    out += "</table></body></html>";
    out
}

const INDEX_CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse}th,td{padding:5px 12px 5px 6px;text-align:left;border-bottom:1px solid #eaeef2}th{color:#57606a}tr.valid{background:#ebfbee}tr.invalid{background:#fff0f0}tr.unknown{background:#fff4e6}tr.none{background:#f6f8fa}.badge{font-weight:700;text-transform:uppercase;font-size:12px;padding:1px 8px;border-radius:10px;color:#fff;background:#868e96}tr.valid .badge{background:#2b8a3e}tr.invalid .badge{background:#c92a2a}tr.unknown .badge{background:#e67700}.note{color:#57606a}a{color:#0969da;margin-right:4px}";

async fn index(State(state): State<Arc<Served>>) -> Response {
    let root = state.root.clone();
    let html = tokio::task::spawn_blocking(move || index_html(&root, &list_runs(&root))).await;
    match html {
        Ok(html) => Html(html).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot list runs").into_response(),
    }
}

/// Why a path was not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not under `/runs/`.
    NotFound,
    /// A `..`, `.`, empty, `\` or NUL segment, or not UTF-8 after decoding.
    BadPath,
    /// Resolves (through symlinks) outside the runs directory.
    Outside,
}

/// Maps a request path to a file or directory inside `root` (canonical).
pub fn resolve(root: &Path, request_path: &str) -> Result<PathBuf, Refusal> {
    let Some(rest) = request_path.strip_prefix("/runs/") else {
        return Err(Refusal::NotFound);
    };
    let decoded = percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| Refusal::BadPath)?;
    let decoded = decoded.strip_suffix('/').unwrap_or(&decoded);
    let mut path = root.to_path_buf();
    if !decoded.is_empty() {
        for segment in decoded.split('/') {
            if segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.contains(['\\', '\0'])
            {
                return Err(Refusal::BadPath);
            }
            path.push(segment);
        }
    }
    let canonical = std::fs::canonicalize(&path).map_err(|_| Refusal::NotFound)?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(Refusal::Outside)
    }
}

async fn files(State(state): State<Arc<Served>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "read-only").into_response();
    }
    let root = state.root.clone();
    let path = uri.path().to_owned();
    let result = tokio::task::spawn_blocking(move || file_response(&root, &path)).await;
    result.unwrap_or_else(|_| (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
}

fn file_response(root: &Path, request_path: &str) -> Response {
    // A report not rendered yet is rendered on the fly.
    if let Some(dir) = request_path.strip_suffix(&format!("/{}", rundir::REPORT))
        && let Ok(run) = resolve(root, &format!("{dir}/"))
        && run.is_dir()
        && !RunDir::open(&run).report().exists()
    {
        return render_report(&RunDir::open(&run));
    }
    let path = match resolve(root, request_path) {
        Ok(p) => p,
        Err(Refusal::NotFound) => return (StatusCode::NOT_FOUND, "not found").into_response(),
        Err(Refusal::BadPath | Refusal::Outside) => {
            return (StatusCode::FORBIDDEN, "refused: outside the runs directory").into_response();
        }
    };
    if path.is_dir() {
        if !request_path.ends_with('/') {
            let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{request_path}/")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        return Html(listing(root, &path)).into_response();
    }
    let Ok(file) = std::fs::File::open(&path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let Ok(length) = file.metadata().map(|m| m.len()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = with_type(&path, streamed(file, length));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// Bytes of a file sent per chunk: a file is streamed, never read whole,
/// so concurrent downloads of a large history cost a chunk each.
const CHUNK: usize = 64 * 1024;

/// The first `length` bytes of the file as a streamed body (a history
/// that is still being written grows while it is sent; the answer stops
/// at the length it announced).
fn streamed(file: std::fs::File, length: u64) -> Body {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::from_std(file).take(length);
    let chunks = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Body::from_stream(chunks)
}

fn render_report(run: &RunDir) -> Response {
    let rendered = checker::read_jsonl(run.history())
        .map_err(|e| e.to_string())
        .and_then(|(history, _)| {
            let results = rundir::read_results(&run.path).map_err(|e| e.to_string())?;
            let checked = checker::Checked::from_results(&results);
            let meta = RunMeta::from_results(&results);
            let input = report::input_for(run, &history, &checked, meta);
            Ok(report::render_html(&input))
        });
    match rendered {
        Ok(html) => with_type(Path::new(rundir::REPORT), html.into_bytes()),
        Err(e) => (
            StatusCode::NOT_FOUND,
            format!("no report: {e}\n(re-check the run with `harness check DIR`)"),
        )
            .into_response(),
    }
}

fn with_type(path: &Path, body: impl Into<Body>) -> Response {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let content_type = match ext {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jsonl" | "log" | "yaml" | "yml" | "txt" | "edn" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if ext == "html" {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
        );
    }
    response
}

fn listing(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let is_dir = e.file_type().ok()?.is_dir();
            Some((e.file_name().into_string().ok()?, is_dir))
        })
        .collect();
    names.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let mut out = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{0}</title><style>{INDEX_CSS}</style></head><body><h1><a href="/">runs</a> / {0}</h1><ul>"#,
        esc(&rel)
    );
    for (name, is_dir) in names {
        let slash = if is_dir { "/" } else { "" };
        out += &format!(
            r#"<li><a href="{}{slash}">{}{slash}</a></li>"#,
            encode(&name),
            esc(&name)
        );
    }
    out += "</ul></body></html>";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("p/r")).unwrap();
        std::fs::write(root.join("p/r/a b.log"), "x").unwrap();
        assert_eq!(
            resolve(&root, "/runs/p/r/a%20b.log"),
            Ok(root.join("p/r/a b.log"))
        );
        assert_eq!(resolve(&root, "/runs/p/r/"), Ok(root.join("p/r")));
        assert_eq!(resolve(&root, "/runs/"), Ok(root.clone()));
        for bad in [
            "/runs/../x",
            "/runs/p/..%2f..%2fx",
            "/runs/%2e%2e/x",
            "/runs/p/%2E%2E%2F%2E%2E%2Fx",
            "/runs//etc/passwd",
            "/runs/%2fetc%2fpasswd",
            "/runs/p/.%2fr",
            "/runs/..%5cx",
            "/runs/p%00",
            "/runs/%ff",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refusal::BadPath), "{bad}");
        }
        assert_eq!(resolve(&root, "/etc/passwd"), Err(Refusal::NotFound));
        assert_eq!(resolve(&root, "/runs/p/missing"), Err(Refusal::NotFound));
        std::os::unix::fs::symlink("/etc", root.join("p/out")).unwrap();
        assert_eq!(resolve(&root, "/runs/p/out/passwd"), Err(Refusal::Outside));
    }

    #[test]
    fn names_are_encoded_in_links() {
        assert_eq!(encode("2026-11_a.b c"), "2026-11_a.b%20c");
    }
}
