//! `tierui logs`: every pod of a release, stern-like — each line prefixed by
//! its pod and container, merged in time order, following with `-f` until
//! Ctrl-c or a closed pipe. Errors (an unknown service, a cluster that cannot
//! be reached, the API's refusal) exit 2 with the API's status.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::LogsArgs;
use tierui_backends::kube::logs::{self, LogEvent, LogRequest, Target};
use tierui_core::context::Context;

/// ANSI colours the prefixes take in turn (stern's habit: one per pod).
const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];

/// What a printed line says: plain text or one JSON object.
pub struct Printer {
    json: bool,
    colour: bool,
    timestamps: bool,
    sources: HashMap<u32, (String, String)>,
}

impl Printer {
    pub fn new(json: bool, colour: bool, timestamps: bool) -> Printer {
        Printer {
            json,
            colour,
            timestamps,
            sources: HashMap::new(),
        }
    }

    /// The lines an event prints (none for most bookkeeping events).
    pub fn lines(&mut self, ev: LogEvent) -> Vec<String> {
        match ev {
            LogEvent::Source { id, pod, container } => {
                self.sources.insert(id, (pod, container));
                Vec::new()
            }
            LogEvent::Lines(lines) => lines
                .into_iter()
                .map(|l| self.line(l.source, l.at, &l.text, false))
                .collect(),
            LogEvent::Note { source, at, text } => vec![self.line(source, at, &text, true)],
            LogEvent::Listed | LogEvent::Done | LogEvent::Problem { .. } => Vec::new(),
        }
    }

    fn line(&self, source: u32, at: i64, text: &str, note: bool) -> String {
        let (pod, container) = self
            .sources
            .get(&source)
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .unwrap_or(("?", "?"));
        let time = jiff::Timestamp::from_nanosecond(i128::from(at))
            .map(|t| t.to_string())
            .unwrap_or_default();
        if self.json {
            let mut v = serde_json::json!({
                "time": time, "pod": pod, "container": container, "message": text,
            });
            if note {
                v["note"] = serde_json::Value::Bool(true);
            }
            return v.to_string();
        }
        let text = if note {
            format!("── {text} ──")
        } else {
            text.to_string()
        };
        let stamp = if self.timestamps {
            format!("{time} ")
        } else {
            String::new()
        };
        if self.colour {
            let c = COLOURS[source as usize % COLOURS.len()];
            format!("\x1b[{c}m{pod}\x1b[0m \x1b[2m{container}\x1b[0m {stamp}{text}")
        } else {
            format!("{pod} {container} {stamp}{text}")
        }
    }
}

pub fn run(ctx: &Context, args: &LogsArgs) -> Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(crate::cli::watch::parse_duration)
        .transpose()?;
    let ws = ctx.load();
    let r = crate::cli::release::select(&ws, &args.release)?.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let sims = tierui_backends::release::sims(ctx, &ws)?;
        let client = tierui_backends::release::client_for(ctx, sims.as_deref(), &ws, &r)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
        let req = LogRequest {
            namespace: r.namespace.clone(),
            target: Target::Selector(r.summary.selector.clone()),
            container: args.container.clone(),
            previous: args.previous,
            follow: args.follow,
            since_seconds: since.map(|d| d.as_secs().max(1) as i64),
            tail: args.tail,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: logs::Sink = Arc::new(move |ev| {
            let _ = tx.send(ev);
        });
        let reader = tokio::spawn(logs::run(client, req, sink));
        let colour = !args.json
            && std::io::stdout().is_terminal()
            && !crate::app::theme::no_color();
        let mut printer = Printer::new(args.json, colour, args.timestamps);
        let stdout = std::io::stdout();
        let mut problems = 0;
        let code = loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
                ev = rx.recv() => {
                    let Some(ev) = ev else { break ExitCode::SUCCESS };
                    if let LogEvent::Problem { source, error } = &ev {
                        let who = printer.sources.get(source).map(|(p, c)| format!("{p}/{c}")).unwrap_or_default();
                        eprintln!("tierui: {who}: {error}");
                        problems += 1;
                        continue;
                    }
                    let done = matches!(ev, LogEvent::Done);
                    let mut out = stdout.lock();
                    for line in printer.lines(ev) {
                        // A closed pipe (`| head`) ends quietly.
                        if writeln!(out, "{line}").is_err() {
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                    if out.flush().is_err() {
                        return Ok(ExitCode::SUCCESS);
                    }
                    if done {
                        if printer.sources.is_empty() {
                            eprintln!("No pods found in namespace {} for {}.", r.namespace, r.title());
                        }
                        break ExitCode::SUCCESS;
                    }
                }
            }
        };
        reader.abort();
        let result = match reader.await {
            Ok(r) => r,
            Err(_) => Ok(()),
        };
        if let Some(s) = &sims {
            s.shutdown().await;
        }
        if let Err(e) = result {
            anyhow::bail!("{}: {e}", r.title());
        }
        // Not following, a log nobody could read is an error (kubectl's habit).
        if !args.follow && problems > 0 && printer.sources.len() == problems {
            return Ok(ExitCode::from(2));
        }
        Ok(code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierui_backends::kube::logs::Line;

    #[test]
    fn lines_are_prefixed_by_pod_and_container() {
        let mut p = Printer::new(false, false, false);
        p.lines(LogEvent::Source {
            id: 0,
            pod: "web-1".into(),
            container: "app".into(),
        });
        let out = p.lines(LogEvent::Lines(vec![Line {
            at: 0,
            source: 0,
            text: "hello".into(),
        }]));
        assert_eq!(out, ["web-1 app hello"]);
        let note = p.lines(LogEvent::Note {
            source: 0,
            at: 0,
            text: "pod deleted".into(),
        });
        assert_eq!(note, ["web-1 app ── pod deleted ──"]);
        let mut j = Printer::new(true, false, false);
        j.sources = p.sources.clone();
        let v: serde_json::Value = serde_json::from_str(
            &j.lines(LogEvent::Lines(vec![Line {
                at: 1_000_000_000,
                source: 0,
                text: "x".into(),
            }]))[0],
        )
        .unwrap();
        assert_eq!(v["pod"], "web-1");
        assert_eq!(v["message"], "x");
        assert_eq!(v["time"], "1970-01-01T00:00:01Z");
        let mut t = Printer::new(false, true, true);
        t.sources = p.sources.clone();
        let c = &t.lines(LogEvent::Lines(vec![Line {
            at: 0,
            source: 0,
            text: "x".into(),
        }]))[0];
        assert!(
            c.contains("\x1b[36mweb-1") && c.contains("1970-01-01T00:00:00Z x"),
            "{c}"
        );
    }
}
