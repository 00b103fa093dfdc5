//! The walkthrough screen: steps with their state on the left, the selected step's
//! why, dependencies, CLI equivalents, exact API calls and results on the right,
//! and the hourly cost of what runs at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use serde_json::Value as Json;

use super::text::{cell, fit};
use crate::app::keymap::Action;
use crate::app::layout::list_offset;
use crate::app::state::{Level, State};
use crate::app::theme::Theme;
use crate::app::walkthrough::WalkView;
use tierui_core::cloud::{Op, Outputs};
use tierui_core::walkthrough::engine::{CallStatus, StepStatus};
use tierui_core::walkthrough::plan::{Call, Step};

pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn call_glyph(s: CallStatus) -> &'static str {
    match s {
        CallStatus::Pending => "·",
        CallStatus::Running => "◐",
        CallStatus::Waiting => "◔",
        CallStatus::Done => "✓",
        CallStatus::Adopted => "≈",
        CallStatus::Failed => "✗",
        CallStatus::NotImplemented => "–",
        CallStatus::Manual => "☞",
    }
}

fn step_style(t: &Theme, s: StepStatus) -> Style {
    match s {
        StepStatus::Done | StepStatus::Adopted => t.ok(),
        StepStatus::Failed => t.error(),
        StepStatus::Running => t.accent(),
        StepStatus::Ready => t.base(),
        StepStatus::Pending | StepStatus::Skipped => t.muted(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &State, w: &WalkView) {
    let [main, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let left_w = if main.width >= 110 {
        44
    } else {
        (main.width * 2 / 5).max(24)
    };
    let [left, right] = Layout::horizontal([
        Constraint::Length(left_w.min(main.width)),
        Constraint::Min(0),
    ])
    .areas(main);
    let log_h = (left.height / 3).clamp(3, 12);
    let [steps, log] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(log_h)]).areas(left);
    draw_steps(f, steps, s, w);
    draw_log(f, log, s, w);
    draw_detail(f, right, s, w);
    draw_footer(f, footer, s, w);
}

fn speed(s: &State, w: &WalkView) -> f64 {
    if w.sandbox { s.session_speed() } else { 1.0 }
}

fn draw_steps(f: &mut Frame, area: Rect, s: &State, w: &WalkView) {
    let t = &s.theme;
    let title = format!(" Walkthrough · {} ({}) ", w.plan.cluster, w.plan.region);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(!w.focus_detail))
        .title(Span::styled(title, t.title()));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let rows = area.height.saturating_sub(2);
    let offset = list_offset(w.cursor, rows);
    let mut lines = Vec::new();
    for (i, step) in w
        .plan
        .steps
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(rows))
    {
        let status = w.step_status(step);
        let time = match status {
            StepStatus::Running => {
                let el = w.step_elapsed(step).map(duration).unwrap_or_default();
                let eta = w
                    .step_eta(step, speed(s, w))
                    .map(|e| format!(" ETA {}", duration(e)))
                    .unwrap_or_default();
                format!("{el}{eta}")
            }
            StepStatus::Done | StepStatus::Adopted | StepStatus::Failed => {
                w.step_elapsed(step).map(duration).unwrap_or_default()
            }
            StepStatus::Skipped => "skipped".into(),
            StepStatus::Ready => "ready".into(),
            StepStatus::Pending => String::new(),
        };
        let time_w = time.chars().count().min(inner_w.saturating_sub(6));
        let title_w = inner_w.saturating_sub(4 + time_w + 1);
        let text = format!(
            "{} {} {} {}",
            status.glyph(),
            step.id,
            cell(&step.title, title_w),
            time
        );
        let style = if i == w.cursor {
            t.selection(!w.focus_detail)
        } else {
            step_style(t, status)
        };
        lines.push(Line::styled(fit(&text, inner_w), style));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_log(f: &mut Frame, area: Rect, s: &State, w: &WalkView) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false))
        .title(Span::styled(" Log ", t.title()));
    let rows = usize::from(area.height.saturating_sub(2));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let start = w.log.len().saturating_sub(rows);
    let lines: Vec<Line> = w
        .log
        .iter()
        .skip(start)
        .map(|(level, text)| {
            let style = match level {
                Level::Info => t.base(),
                Level::Warn => t.warn(),
                Level::Error => t.error(),
            };
            Line::styled(fit(text, inner_w), style)
        })
        .collect();
    let body = if lines.is_empty() {
        vec![Line::styled(
            format!(
                "{} runs the selected step, {} everything",
                s.keymap.hint(Action::RunStep),
                s.keymap.hint(Action::RunAll)
            ),
            t.muted(),
        )]
    } else {
        lines
    };
    f.render_widget(Paragraph::new(body).block(block), area);
}

/// The parameters of an operation as `name: value` lines; references show the
/// value once known, else which earlier call provides it.
pub fn params(op: &Op, outputs: &Outputs) -> Vec<(String, String)> {
    let Ok(Json::Object(map)) = serde_json::to_value(op) else {
        return Vec::new();
    };
    map.into_iter()
        .filter(|(k, _)| k != "op")
        .map(|(k, v)| (k, render_value(&v, outputs)))
        .collect()
}

fn render_value(v: &Json, outputs: &Outputs) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "—".into(),
        Json::Object(m) if m.len() == 2 && m.contains_key("call") && m.contains_key("key") => {
            let call = m["call"].as_str().unwrap_or_default();
            let key = m["key"].as_str().unwrap_or_default();
            outputs
                .get(call)
                .and_then(|o| o.get(key))
                .cloned()
                .unwrap_or_else(|| format!("<{key} of {call}>"))
        }
        Json::Array(items)
            if items
                .iter()
                .all(|i| i.as_array().is_some_and(|p| p.len() == 2 || p.len() == 3))
                && !items.is_empty() =>
        {
            items
                .iter()
                .map(|p| {
                    p.as_array()
                        .map(|p| {
                            p.iter()
                                .map(|x| render_value(x, outputs))
                                .collect::<Vec<_>>()
                                .join("=")
                        })
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        Json::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| render_value(i, outputs))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", render_value(v, outputs)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn detail_lines(s: &State, w: &WalkView, step: &Step) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = Vec::new();
    let status = w.step_status(step);
    out.push(Line::from(vec![
        Span::styled(format!("{} ", status.glyph()), step_style(t, status)),
        Span::styled(status.label().to_string(), step_style(t, status)),
    ]));
    if let Some(r) = &step.skip_reason {
        out.push(Line::styled(format!("skipped: {r}"), t.muted()));
    }
    failures(&mut out, s, w, step);
    explanation(&mut out, t, w, step);
    for c in &step.calls {
        call_lines(&mut out, t, w, c);
    }
    out
}

/// A failure is a teaching moment: it comes first, with what it means.
fn failures(out: &mut Vec<Line<'static>>, s: &State, w: &WalkView, step: &Step) {
    let t = &s.theme;
    for c in &step.calls {
        if let Some(e) = w
            .progress
            .record(&c.id)
            .error
            .filter(|_| w.progress.status(&c.id) == CallStatus::Failed)
        {
            let a = tierui_core::walkthrough::advice::advice(&e);
            out.push(Line::styled(
                format!("{} failed: {}: {}", e.api, e.code, e.message),
                t.error(),
            ));
            out.push(Line::styled(
                format!("what it means: {}", a.meaning),
                t.warn(),
            ));
            out.push(Line::styled(format!("what to do: {}", a.action), t.warn()));
            out.push(Line::styled(
                format!(
                    "{} retries the step; calls that succeeded are not repeated.",
                    s.keymap.hint(Action::Retry)
                ),
                t.muted(),
            ));
        }
    }
}

/// Why the step exists, what it waits for, and the eksctl and aws CLI equivalents.
fn explanation(out: &mut Vec<Line<'static>>, t: &Theme, w: &WalkView, step: &Step) {
    out.push(Line::styled("Why", t.header()));
    out.push(Line::raw(step.why.clone()));
    out.push(Line::styled("Depends on", t.header()));
    if step.depends_on.is_empty() {
        out.push(Line::raw("nothing — it can run first"));
    } else {
        let deps: Vec<String> = step
            .depends_on
            .iter()
            .map(|d| {
                let st = w
                    .plan
                    .step(*d)
                    .map(|ds| w.step_status(ds))
                    .map_or("?", |x| x.label());
                format!("{d} ({st})")
            })
            .collect();
        out.push(Line::raw(deps.join(", ")));
    }
    out.push(Line::styled("eksctl", t.header()));
    out.push(Line::raw(step.eksctl.clone()));
    out.push(Line::styled("aws CLI", t.header()));
    out.extend(step.aws_cli.iter().map(|c| Line::raw(c.clone())));
    out.push(Line::styled(
        format!("API calls ({})", step.calls.len()),
        t.header(),
    ));
}

/// One API call: its parameters, what AWS reports while waiting, what it
/// produced, and its error with advice.
fn call_lines(out: &mut Vec<Line<'static>>, t: &Theme, w: &WalkView, c: &Call) {
    let rec = w.progress.record(&c.id);
    let glyph = call_glyph(rec.status);
    let style = match rec.status {
        CallStatus::Done | CallStatus::Adopted => t.ok(),
        CallStatus::Failed => t.error(),
        CallStatus::Running | CallStatus::Waiting => t.accent(),
        CallStatus::NotImplemented | CallStatus::Manual => t.warn(),
        CallStatus::Pending => t.base(),
    };
    out.push(Line::from(vec![
        Span::styled(format!("{glyph} {} ", c.op.api()), style),
        Span::raw(c.summary.clone()),
    ]));
    for (k, v) in params(&c.op, &w.progress.outputs) {
        if k == "document" || k == "trust" {
            out.push(Line::styled(format!("    {k}: {}", fit(&v, 60)), t.muted()));
        } else {
            out.push(Line::styled(format!("    {k}: {v}"), t.muted()));
        }
    }
    if let Some((aws, _, _)) = w
        .waiting
        .get(&c.id)
        .filter(|_| rec.status == CallStatus::Waiting)
    {
        out.push(Line::styled(
            format!("    waiting: AWS reports {aws}"),
            t.accent(),
        ));
    }
    if let Some(produced) = w.progress.outputs.get(&c.id).filter(|p| !p.is_empty()) {
        let created: Vec<String> = produced
            .iter()
            .filter(|(k, _)| k.as_str() != "certificate")
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        out.push(Line::styled(
            format!("    → {}", created.join(" · ")),
            t.ok(),
        ));
    }
    if let Some(d) = &rec.detail {
        out.push(Line::styled(
            format!("    {d}"),
            if rec.status == CallStatus::Manual {
                t.warn()
            } else {
                t.muted()
            },
        ));
    }
    if let Some(e) = &rec.error {
        out.push(Line::styled(
            format!("    {}: {}", e.code, e.message),
            t.error(),
        ));
        let a = tierui_core::walkthrough::advice::advice(e);
        out.push(Line::styled(
            format!("    what it means: {}", a.meaning),
            t.warn(),
        ));
        out.push(Line::styled(
            format!("    what to do: {}", a.action),
            t.warn(),
        ));
    }
    if let Op::Manual { command, .. } = &c.op {
        out.push(Line::styled(format!("    run: {command}"), t.warn()));
    }
}

fn draw_detail(f: &mut Frame, area: Rect, s: &State, w: &WalkView) {
    let t = &s.theme;
    let Some(step) = w.selected() else { return };
    let title = format!(" {}. {} ", step.id, step.title);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(w.focus_detail))
        .title(Span::styled(title, t.title()));
    let body = detail_lines(s, w, step);
    f.render_widget(
        Paragraph::new(body)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((w.scroll, 0)),
        area,
    );
}

fn draw_footer(f: &mut Frame, area: Rect, s: &State, w: &WalkView) {
    let t = &s.theme;
    let cost = tierui_core::walkthrough::cost::hourly(&w.plan, &w.progress);
    let all = tierui_core::walkthrough::cost::planned(&w.plan);
    let who = w.identity.clone().unwrap_or_else(|| "connecting…".into());
    let asof = &tierui_core::walkthrough::cost::prices().as_of;
    let money = if w.sandbox {
        format!(
            "free here · live {} now, {} all ({asof})",
            cost.short(),
            all.short()
        )
    } else {
        format!(
            "running now {} (all steps {}; approximate, {asof} prices)",
            cost.short(),
            all.short()
        )
    };
    let keys = [
        (Action::RunStep, "run step"),
        (Action::RunAll, "run all"),
        (Action::Pause, "pause"),
        (Action::Retry, "retry"),
        (Action::Teardown, "teardown"),
        (Action::Back, "back"),
    ];
    let mut spans = vec![Span::styled(
        format!(" {who} · {money}  "),
        if w.sandbox { t.muted() } else { t.warn() },
    )];
    for (a, label) in keys {
        spans.push(Span::styled(s.keymap.hint(a), t.accent()));
        spans.push(Span::styled(format!(" {label}  "), t.muted()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
