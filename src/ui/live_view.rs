//! The live views: pods (with the HPA, its replica chart and the events tail),
//! deployments with rollout progress, HPAs, events, and several clusters side by
//! side. Only the visible window of a table is turned into lines.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

use super::text::{cell, fit, thousands};
use crate::app::layout::list_offset;
use crate::app::live::{ClusterPane, LiveView, PodRows, SortBy, Tab, age, series};
use crate::app::state::State;
use crate::app::theme::Theme;
use tierui_backends::kube::rows::{DeploymentRow, EventRow, HpaRow, PodRow, Usage};
use tierui_backends::kube::table::{Column, TableRow};
use tierui_backends::kube::watch::Kind;

pub fn draw(f: &mut Frame, area: Rect, s: &State, v: &LiveView) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_head(f, head, s, v);
    draw_foot(f, foot, s, v);
    if let Some(tv) = &v.text {
        let t = &s.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(true))
            .title(Span::styled(format!(" {} ", tv.title), t.title()));
        let lines: Vec<Line> = tv.lines.iter().map(|l| Line::raw(l.clone())).collect();
        f.render_widget(
            Paragraph::new(lines).block(block).scroll((tv.scroll, 0)),
            body,
        );
        return;
    }
    if v.multi() {
        draw_multi(f, body, s, v);
        return;
    }
    let Some(pane) = v.panes.first() else {
        return;
    };
    match v.tab {
        Tab::Pods => draw_pods_tab(f, body, s, v, pane),
        Tab::Deployments => draw_deploy_tab(f, body, s, v, pane),
        Tab::Hpa => draw_hpa_tab(f, body, s, v, pane),
        Tab::Kind => draw_kind_tab(f, body, s, v, pane),
        Tab::Events => {
            let rows = v.events(pane, None);
            draw_events(
                f,
                body,
                s,
                pane,
                v.now_s,
                &rows,
                "Events",
                Some(v.cursor),
                true,
            );
        }
    }
}

fn conn_style(t: &Theme, conn: &str) -> Style {
    if conn == "live" {
        t.ok()
    } else if conn.starts_with("connecting") {
        t.muted()
    } else if conn.starts_with("retrying") {
        t.warn()
    } else {
        t.error()
    }
}

fn draw_head(f: &mut Frame, area: Rect, s: &State, v: &LiveView) {
    let t = &s.theme;
    let mut spans = vec![
        Span::styled(format!(" {} ", v.title), t.title()),
        Span::raw(" "),
    ];
    if !v.multi() {
        for (i, tab) in [Tab::Pods, Tab::Deployments, Tab::Hpa, Tab::Events]
            .into_iter()
            .enumerate()
        {
            let style = if tab == v.tab {
                t.selection(true)
            } else {
                t.muted()
            };
            spans.push(Span::styled(format!(" {} {} ", i + 1, tab.label()), style));
        }
        if let (Tab::Kind, Some(r)) = (v.tab, v.resource()) {
            spans.push(Span::styled(format!(" :{} ", r.plural), t.selection(true)));
        }
        spans.push(Span::raw("  "));
    }
    // Several clusters say their state above their own column.
    for p in v.panes.iter().filter(|_| !v.multi()) {
        let conn = p.connection();
        spans.push(Span::styled(format!("{} ", p.cluster), t.header()));
        spans.push(Span::styled(fit(&conn, 48), conn_style(t, &conn)));
        spans.push(Span::raw("  "));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_foot(f: &mut Frame, area: Rect, s: &State, v: &LiveView) {
    use crate::app::keymap::Action;
    let t = &s.theme;
    let mut spans = Vec::new();
    if !v.filter.is_empty() {
        spans.push(Span::styled(format!("/{} ", v.filter), t.accent()));
        spans.push(Span::raw(" "));
    }
    let keys: &[(Action, &str)] = if v.text.is_some() {
        &[(Action::Down, "scroll"), (Action::Back, "close")]
    } else if v.tab == Tab::Kind {
        &[
            (Action::Open, "owned / logs"),
            (Action::Yaml, "yaml"),
            (Action::Describe, "describe"),
            (Action::Filter, "filter"),
            (Action::SortName, "sort name"),
            (Action::SortAge, "age"),
            (Action::Back, "back"),
        ]
    } else if v.multi() {
        &[
            (Action::Filter, "filter"),
            (Action::SortStatus, "sort status"),
            (Action::SortRestarts, "restarts"),
            (Action::SortAge, "age"),
            (Action::Back, "back"),
        ]
    } else {
        &[
            (Action::Yaml, "yaml"),
            (Action::Describe, "describe"),
            (Action::Filter, "filter"),
            (Action::SortName, "sort name"),
            (Action::SortStatus, "status"),
            (Action::SortRestarts, "restarts"),
            (Action::SortAge, "age"),
            (Action::SortCpu, "cpu"),
            (Action::SortMemory, "mem"),
            (Action::Logs, "logs"),
            (Action::Undo, "undo"),
            (Action::Apply, "apply"),
            (Action::Back, "back"),
        ]
    };
    for (a, label) in keys {
        spans.push(Span::styled(s.keymap.hint(*a), t.accent()));
        spans.push(Span::styled(format!(" {label}  "), t.muted()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A bordered table: header, then the window of rows around the cursor.
struct Table<'a> {
    title: String,
    header: Line<'a>,
    rows: usize,
    cursor: Option<usize>,
}

impl<'a> Table<'a> {
    /// Draws the frame and header; returns the rows area and the first row index.
    fn frame(&self, f: &mut Frame, area: Rect, t: &Theme) -> (Rect, usize) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.cursor.is_some()))
            .title(Span::styled(format!(" {} ", self.title), t.title()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        if inner.height == 0 {
            return (inner, 0);
        }
        f.render_widget(
            Paragraph::new(self.header.clone()),
            Rect::new(inner.x, inner.y, inner.width, 1),
        );
        let rows = Rect::new(
            inner.x,
            inner.y + 1,
            inner.width,
            inner.height.saturating_sub(1),
        );
        let first = self
            .cursor
            .map_or(0, |c| list_offset(c.min(self.rows.max(1) - 1), rows.height));
        (rows, first)
    }
}

/// A table's rows: "loading …" until the first list, "no …" when empty, else
/// the window from `first` with the cursor's row highlighted.
struct Body<'p> {
    pane: &'p ClusterPane,
    kind: Kind,
    what: &'static str,
    first: usize,
    cursor: usize,
}

impl Body<'_> {
    fn draw<'a, R>(
        &self,
        f: &mut Frame,
        inner: Rect,
        t: &Theme,
        rows: &[R],
        line: impl Fn(&R) -> Line<'a>,
    ) {
        let lines: Vec<Line> = if !self.pane.listed(self.kind) {
            vec![loading_line(t, self.pane, self.what)]
        } else if rows.is_empty() {
            vec![Line::styled(format!("no {}", self.what), t.muted())]
        } else {
            rows.iter()
                .enumerate()
                .skip(self.first)
                .take(inner.height as usize)
                .map(|(i, r)| {
                    let l = line(r);
                    if i == self.cursor {
                        l.style(t.selection(true))
                    } else {
                        l
                    }
                })
                .collect()
        };
        f.render_widget(Paragraph::new(lines), inner);
    }
}

fn sort_mark(v: &LiveView, by: SortBy) -> &'static str {
    match (v.sort == by, v.descending) {
        (false, _) => "",
        (true, false) => "↑",
        (true, true) => "↓",
    }
}

/// `12m` CPU and `34Mi` memory as kubectl top prints them.
pub fn cpu_text(u: Option<Usage>) -> String {
    u.map_or("—".into(), |u| format!("{}m", u.cpu_milli))
}

pub fn mem_text(u: Option<Usage>) -> String {
    u.map_or("—".into(), |u| {
        let mi = u.memory_bytes / (1024 * 1024);
        if mi >= 10 * 1024 {
            format!("{}Gi", mi / 1024)
        } else {
            format!("{mi}Mi")
        }
    })
}

fn status_style(t: &Theme, p: &PodRow) -> Style {
    match &*p.status {
        "Running" if p.ready == p.containers => t.ok(),
        "Running" => t.warn(),
        "Completed" | "Succeeded" | "Terminating" => t.muted(),
        "Pending" | "ContainerCreating" | "PodInitializing" => t.warn(),
        _ => t.error(),
    }
}

struct PodColumns {
    name: usize,
    node: bool,
    usage: bool,
    /// Narrow columns (several clusters side by side): short headers, and pod
    /// names without their deployment's prefix.
    compact: bool,
}

/// `day-service-7d9f-abcde` owned by ReplicaSet `day-service-7d9f` shows as
/// `7d9f-abcde`: the ReplicaSet hash still tells old pods from new ones.
pub fn short_pod_name(p: &PodRow) -> &str {
    let deployment = p.owner.rsplit_once('-').map_or("", |(d, _)| d);
    match p.name.strip_prefix(deployment) {
        Some(rest) if !deployment.is_empty() && rest.starts_with('-') => &rest[1..],
        _ => &p.name,
    }
}

fn pod_columns(width: usize, wide: bool) -> PodColumns {
    if !wide {
        // READY 6, STATUS 17, RST 4, AGE 5.
        return PodColumns {
            name: width.saturating_sub(32).max(8),
            node: false,
            usage: false,
            compact: true,
        };
    }
    // READY 6, STATUS 18, RESTARTS 10, AGE 6 (+ NODE 26, CPU 7, MEM 8).
    let fixed = 6 + 18 + 10 + 6;
    let extra = 26 + 7 + 8;
    let (node, usage) = if !wide {
        (false, false)
    } else if width >= fixed + extra + 24 {
        (true, true)
    } else if width >= fixed + 15 + 24 {
        (false, true)
    } else {
        (false, false)
    };
    let used = fixed + if node { 26 } else { 0 } + if usage { 15 } else { 0 };
    PodColumns {
        name: width.saturating_sub(used).max(10),
        node,
        usage,
        compact: false,
    }
}

fn pod_header<'a>(t: &Theme, v: &LiveView, c: &PodColumns, metrics: bool) -> Line<'a> {
    let h = |label: &str, by: SortBy, w: usize| cell(&format!("{label}{}", sort_mark(v, by)), w);
    if c.compact {
        let text = h("POD", SortBy::Name, c.name)
            + &h("READY", SortBy::Ready, 6)
            + &h("STATUS", SortBy::Status, 17)
            + &h("RST", SortBy::Restarts, 4)
            + &h("AGE", SortBy::Age, 5);
        return Line::styled(text, t.header());
    }
    let mut text = h("NAME", SortBy::Name, c.name)
        + &h("READY", SortBy::Ready, 6)
        + &h("STATUS", SortBy::Status, 18)
        + &h("RESTARTS", SortBy::Restarts, 10)
        + &h("AGE", SortBy::Age, 6);
    if c.node {
        text += &h("NODE", SortBy::Node, 26);
    }
    if c.usage {
        if metrics {
            text += &h("CPU", SortBy::Cpu, 7);
            text += &h("MEM", SortBy::Memory, 8);
        } else {
            text += &cell("CPU/MEM n/a", 15);
        }
    }
    Line::styled(text, t.header())
}

fn pod_line<'a>(
    t: &Theme,
    v: &LiveView,
    pane: &ClusterPane,
    p: &PodRow,
    c: &PodColumns,
    selected: bool,
) -> Line<'a> {
    let ready = format!("{}/{}", p.ready, p.containers);
    let restarts_style = if p.restarts > 0 { t.warn() } else { t.base() };
    if c.compact {
        let line = Line::from(vec![
            Span::raw(cell(short_pod_name(p), c.name)),
            Span::raw(cell(&ready, 6)),
            Span::styled(cell(&p.status, 17), status_style(t, p)),
            Span::styled(cell(&p.restarts.to_string(), 4), restarts_style),
            Span::raw(cell(&age(v.now_s, p.created), 5)),
        ]);
        return if selected {
            line.style(t.selection(true))
        } else {
            line
        };
    }
    let mut spans = vec![
        Span::raw(cell(&p.name, c.name)),
        Span::raw(cell(&ready, 6)),
        Span::styled(cell(&p.status, 18), status_style(t, p)),
        Span::styled(cell(&p.restarts.to_string(), 10), restarts_style),
        Span::raw(cell(&age(v.now_s, p.created), 6)),
    ];
    if c.node {
        spans.push(Span::styled(cell(&p.node, 26), t.muted()));
    }
    if c.usage && pane.metrics_available() {
        let u = pane.pods.usage_of(&p.namespace, &p.name);
        spans.push(Span::raw(cell(&cpu_text(u), 7)));
        spans.push(Span::raw(cell(&mem_text(u), 8)));
    }
    let line = Line::from(spans);
    if selected {
        line.style(t.selection(true))
    } else {
        line
    }
}

/// "connecting…" / "loading pods…" instead of an empty table.
fn loading_line<'a>(t: &Theme, pane: &ClusterPane, what: &str) -> Line<'a> {
    let conn = pane.connection();
    if conn == "live" || conn.starts_with("connecting") {
        Line::styled(format!("loading {what}…"), t.muted())
    } else {
        Line::styled(format!("no {what} yet — {conn}"), conn_style(t, &conn))
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_pod_table(
    f: &mut Frame,
    area: Rect,
    s: &State,
    v: &LiveView,
    pane: &ClusterPane,
    rows: &PodRows,
    cursor: Option<usize>,
    wide: bool,
) {
    let t = &s.theme;
    let title = pods_title(v, pane, rows.len());
    let cols = pod_columns(area.width.saturating_sub(2) as usize, wide);
    let table = Table {
        title,
        header: pod_header(t, v, &cols, pane.metrics_available()),
        rows: rows.len(),
        cursor,
    };
    let (inner, first) = table.frame(f, area, t);
    // Rows show from the list's first page on; the title counts the rest.
    if !pane.listed(Kind::Pods) && rows.is_empty() {
        f.render_widget(Paragraph::new(loading_line(t, pane, "pods")), inner);
        return;
    }
    if rows.is_empty() {
        let why = if v.filter.is_empty() {
            "no pods".to_string()
        } else {
            format!("no pods match /{}", v.filter)
        };
        f.render_widget(Paragraph::new(Line::styled(why, t.muted())), inner);
        return;
    }
    let lines: Vec<Line> = rows
        .window(first, inner.height as usize)
        .map(|(i, p)| pod_line(t, v, pane, p, &cols, cursor == Some(i)))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    if let Some(p) = cursor.and_then(|i| rows.get(i)) {
        dropped_columns(f, area, t, pane, p, &cols);
    }
}

/// The selected pod's values of the columns a narrow table leaves out (node,
/// CPU, memory), on the table's bottom border.
fn dropped_columns(
    f: &mut Frame,
    area: Rect,
    t: &Theme,
    pane: &ClusterPane,
    p: &PodRow,
    cols: &PodColumns,
) {
    let mut parts = Vec::new();
    if !cols.node {
        parts.push(format!(
            "node {}",
            if p.node.is_empty() { "—" } else { &p.node }
        ));
    }
    if !cols.usage && pane.metrics_available() {
        let u = pane.pods.usage_of(&p.namespace, &p.name);
        parts.push(format!("cpu {} · mem {}", cpu_text(u), mem_text(u)));
    }
    if parts.is_empty() || area.height < 3 || area.width < 8 {
        return;
    }
    let w = area.width.saturating_sub(4);
    let text = fit(&format!(" {} ", parts.join(" · ")), usize::from(w));
    f.render_widget(
        Paragraph::new(Line::styled(text, t.muted())),
        Rect::new(area.x + 2, area.bottom().saturating_sub(1), w, 1),
    );
}

fn pods_title(v: &LiveView, pane: &ClusterPane, shown: usize) -> String {
    let total = pane.pods.len();
    let ready = pane.pods.ready();
    let shown = if v.filter.is_empty() {
        String::new()
    } else {
        format!(", {shown} shown")
    };
    let scope = match (&pane.scope.namespace, v.multi()) {
        (_, false) => String::new(),
        (Some(ns), true) => format!(" · {ns}"),
        (None, true) => " · all namespaces".into(),
    };
    if let Some((loaded, estimate)) = pane.pods.loading() {
        // kubectl-style thousands: "loading 35,000 / ~150,000".
        let of = estimate.map_or(String::new(), |n| format!(" / ~{}", thousands(n as u64)));
        return format!("Pods (loading {}{of}){scope}", thousands(loaded as u64));
    }
    format!("Pods ({total}, {ready} ready{shown}){scope}")
}

fn draw_pods_tab(f: &mut Frame, area: Rect, s: &State, v: &LiveView, pane: &ClusterPane) {
    let lower = if area.height >= 24 {
        11
    } else {
        (area.height / 3).max(4)
    };
    // The release's other kinds (StatefulSets, Jobs, claims…) under its pods.
    let others = crate::app::live::release_owned(pane, &v.declared);
    let others_h = if v.declared.is_empty() {
        0
    } else {
        owned_height(&others, area.height.saturating_sub(lower + 6))
    };
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(others_h),
        Constraint::Length(lower),
    ])
    .areas(area);
    // Filtered and sorted once per frame: with 10,000 pods that is the frame's cost.
    let rows = v.pod_rows(pane);
    draw_pod_table(f, top, s, v, pane, &rows, Some(v.cursor), true);
    if others_h > 0 {
        let title = format!("Other objects of the release ({})", others.len());
        draw_owned(f, middle, s, pane, &title, &others, v.now_s);
    }
    let selected = rows.get(v.cursor).map(|p| format!("Pod/{}", p.name));
    let hpa = pane.hpas.values().next();
    let events_area = if let Some(h) = hpa {
        let [l, r] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(bottom);
        draw_hpa_panel(f, l, s, v, pane, h);
        r
    } else {
        bottom
    };
    draw_events_for(f, events_area, s, v, pane, selected.as_deref());
}

/// The events tail for the selected object, or for everything in scope when it
/// has none.
fn draw_events_for(
    f: &mut Frame,
    area: Rect,
    s: &State,
    v: &LiveView,
    pane: &ClusterPane,
    about: Option<&str>,
) {
    let own = about.map(|a| v.events(pane, Some(a))).unwrap_or_default();
    let (rows, title) = match about {
        Some(a) if !own.is_empty() => (
            own,
            format!("Events · {}", a.split_once('/').map_or(a, |x| x.1)),
        ),
        _ => (v.events(pane, None), "Events".to_string()),
    };
    draw_events(f, area, s, pane, v.now_s, &rows, &title, None, false);
}

#[allow(clippy::too_many_arguments)]
fn draw_events(
    f: &mut Frame,
    area: Rect,
    s: &State,
    pane: &ClusterPane,
    now_s: i64,
    rows: &[&EventRow],
    title: &str,
    cursor: Option<usize>,
    full: bool,
) {
    let t = &s.theme;
    let width = area.width.saturating_sub(2) as usize;
    let obj_w = if full { 34 } else { 0 };
    let header = if full {
        cell("LAST", 6)
            + &cell("TYPE", 8)
            + &cell("REASON", 20)
            + &cell("OBJECT", obj_w)
            + "COUNT MESSAGE"
    } else {
        cell("LAST", 6) + &cell("REASON", 18) + "MESSAGE"
    };
    let table = Table {
        title: format!("{title} ({})", rows.len()),
        header: Line::styled(header, t.header()),
        rows: rows.len(),
        cursor,
    };
    let (inner, first) = table.frame(f, area, t);
    if !pane.listed(Kind::Events) {
        f.render_widget(Paragraph::new(loading_line(t, pane, "events")), inner);
        return;
    }
    if rows.is_empty() {
        f.render_widget(Paragraph::new(Line::styled("no events", t.muted())), inner);
        return;
    }
    // A cluster clock ahead of ours shows as 0s, not as a negative age.
    let now = rows
        .iter()
        .filter_map(|e| e.last)
        .max()
        .unwrap_or_default()
        .max(now_s);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(inner.height as usize)
        .map(|(i, e)| {
            let style = if e.warning { t.warn() } else { t.base() };
            let last = age(now, e.last);
            let line = if full {
                let fixed = 6 + 8 + 20 + obj_w + 6;
                Line::from(vec![
                    Span::raw(cell(&last, 6)),
                    Span::styled(cell(if e.warning { "Warning" } else { "Normal" }, 8), style),
                    Span::styled(cell(&e.reason, 20), style),
                    Span::raw(cell(&e.object, obj_w)),
                    Span::raw(cell(&e.count.to_string(), 6)),
                    Span::raw(fit(&e.message, width.saturating_sub(fixed))),
                ])
            } else {
                Line::from(vec![
                    Span::raw(cell(&last, 6)),
                    Span::styled(cell(&e.reason, 18), style),
                    Span::raw(fit(&e.message, width.saturating_sub(24))),
                ])
            };
            if cursor == Some(i) {
                line.style(t.selection(true))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn metric_line<'a>(
    t: &Theme,
    m: &tierui_backends::kube::rows::MetricRow,
    width: usize,
) -> Line<'a> {
    let unknown = m.current == "<unknown>";
    let value = format!(" {:>6}", m.current);
    let target = format!(" / {}", m.target);
    let name_w = 14.min(width.saturating_sub(value.len() + target.len()));
    let kind = format!("  {}", m.kind);
    let room = width.saturating_sub(name_w + value.len() + target.len());
    Line::from(vec![
        Span::styled(cell(&m.name, name_w), t.header()),
        Span::styled(value, if unknown { t.warn() } else { t.accent() }),
        Span::styled(target, t.muted()),
        Span::styled(
            if kind.len() <= room {
                kind
            } else {
                String::new()
            },
            t.muted(),
        ),
    ])
}

fn hpa_text<'a>(t: &Theme, v: &LiveView, h: &HpaRow, width: usize) -> Vec<Line<'a>> {
    let mut out = vec![
        Line::from(vec![
            Span::styled(fit(&h.name, width.saturating_sub(2)), t.title()),
            Span::styled(format!(" → {}", h.target), t.muted()),
        ]),
        Line::from(vec![
            Span::styled("replicas ", t.muted()),
            Span::styled(
                format!("{}", h.current),
                if h.current == h.desired {
                    t.ok()
                } else {
                    t.changed()
                },
            ),
            Span::styled(
                if h.current == h.desired {
                    String::new()
                } else {
                    format!(" → {}", h.desired)
                },
                t.changed(),
            ),
            Span::styled(format!("  min {} max {}", h.min, h.max), t.muted()),
        ]),
    ];
    out.extend(h.metrics.iter().map(|m| metric_line(t, m, width)));
    out.push(Line::styled(
        format!(
            "last scale {}",
            h.last_scale.map_or("never".to_string(), |l| format!(
                "{} ago",
                age(v.now_s, Some(l))
            ))
        ),
        t.muted(),
    ));
    for c in &h.conditions {
        let bad = c.contains(" False") && !c.starts_with("ScalingLimited");
        out.push(Line::styled(
            fit(c, width),
            if bad { t.warn() } else { t.muted() },
        ));
    }
    out
}

const CHART_SPAN_S: i64 = 600;

fn draw_hpa_chart(
    f: &mut Frame,
    area: Rect,
    s: &State,
    v: &LiveView,
    pane: &ClusterPane,
    h: &HpaRow,
) {
    let t = &s.theme;
    if area.height < 4 || area.width < 12 {
        return;
    }
    let key = (h.namespace.clone(), h.name.clone());
    let Some(hist) = pane.history.get(&key) else {
        return;
    };
    let width = area.width as usize;
    let (replicas, load) = series(hist, v.now_s, width, CHART_SPAN_S);
    let half = area.height / 2;
    let [ra, la] = Layout::vertical([Constraint::Length(half), Constraint::Min(0)]).areas(area);
    fn label(f: &mut Frame, a: Rect, text: String, style: Style) -> Rect {
        f.render_widget(
            Paragraph::new(Line::styled(text, style)),
            Rect::new(a.x, a.y, a.width, 1),
        );
        Rect::new(a.x, a.y + 1, a.width, a.height.saturating_sub(1))
    }
    let max_r = (h.max.max(1)) as u64;
    let r_area = label(f, ra, format!("replicas (0–{max_r}, last 10m)"), t.muted());
    f.render_widget(
        Sparkline::default()
            .data(replicas.iter().copied())
            .max(max_r)
            .style(t.accent()),
        r_area,
    );
    let target = h
        .metrics
        .first()
        .and_then(|m| m.target.strip_suffix('%'))
        .and_then(|v| v.parse::<u64>().ok());
    let has_load = load.iter().any(Option::is_some);
    let l_label = match (has_load, target) {
        (true, Some(tg)) => format!("load % (target {tg}%, 0–{})", (tg * 2).max(100)),
        (true, None) => "load % (0–100)".to_string(),
        (false, _) => "load: no utilisation metric".to_string(),
    };
    let l_area = label(f, la, l_label, t.muted());
    if has_load {
        let max = target.map_or(100, |tg| (tg * 2).max(100));
        f.render_widget(
            Sparkline::default()
                .data(load.iter().copied())
                .max(max)
                .style(t.changed()),
            l_area,
        );
    }
}

fn draw_hpa_panel(
    f: &mut Frame,
    area: Rect,
    s: &State,
    v: &LiveView,
    pane: &ClusterPane,
    h: &HpaRow,
) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false))
        .title(Span::styled(" HorizontalPodAutoscaler ", t.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (text_a, chart_a) = if inner.width >= 60 {
        let [a, b] = Layout::horizontal([Constraint::Length(38), Constraint::Min(0)]).areas(inner);
        (a, Some(b))
    } else {
        (inner, None)
    };
    f.render_widget(
        Paragraph::new(hpa_text(t, v, h, text_a.width as usize)),
        text_a,
    );
    if let Some(c) = chart_a {
        draw_hpa_chart(f, c, s, v, pane, h);
    }
}

/// kubectl rollout status's words for a deployment.
pub fn rollout_text(d: &DeploymentRow) -> String {
    if d.updated < d.desired {
        format!(
            "rolling out: {} of {} new replicas updated",
            d.updated, d.desired
        )
    } else if d.total > d.updated {
        format!(
            "rolling out: {} old replica{} pending termination",
            d.total - d.updated,
            if d.total - d.updated == 1 { "" } else { "s" }
        )
    } else if d.available < d.updated {
        format!(
            "rolling out: {} of {} updated replicas available",
            d.available, d.updated
        )
    } else if d.complete {
        "rolled out".into()
    } else {
        "waiting for the controller".into()
    }
}

/// `████░░` for `done` of `of`.
fn bar(done: i32, of: i32, width: usize) -> String {
    if of <= 0 {
        return " ".repeat(width);
    }
    let filled = ((done.clamp(0, of) as usize) * width).div_ceil(of as usize);
    "█".repeat(filled.min(width)) + &"░".repeat(width - filled.min(width))
}

fn draw_deploy_tab(f: &mut Frame, area: Rect, s: &State, v: &LiveView, pane: &ClusterPane) {
    let t = &s.theme;
    let deps: Vec<&DeploymentRow> = pane.deployments.values().collect();
    let lower = (area.height / 2).max(6);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(lower)]).areas(area);
    let width = top.width.saturating_sub(2) as usize;
    let name_w = width.saturating_sub(6 + 11 + 10 + 12 + 38).clamp(12, 40);
    let table = Table {
        title: format!("Deployments ({})", deps.len()),
        header: Line::styled(
            cell("NAME", name_w)
                + &cell("READY", 6)
                + &cell("UP-TO-DATE", 11)
                + &cell("AVAILABLE", 10)
                + &cell("PROGRESS", 12)
                + "ROLLOUT",
            t.header(),
        ),
        rows: deps.len(),
        cursor: Some(v.cursor),
    };
    let (inner, first) = table.frame(f, top, t);
    let body = Body {
        pane,
        kind: Kind::Deployments,
        what: "deployments",
        first,
        cursor: v.cursor,
    };
    body.draw(f, inner, t, &deps, |d| {
        let roll = rollout_text(d);
        let style = if d.complete { t.ok() } else { t.changed() };
        Line::from(vec![
            Span::raw(cell(&d.name, name_w)),
            Span::raw(cell(&format!("{}/{}", d.ready, d.desired), 6)),
            Span::raw(cell(&d.updated.to_string(), 11)),
            Span::raw(cell(&d.available.to_string(), 10)),
            Span::styled(
                cell(&bar(d.updated.min(d.available), d.desired, 10), 12),
                style,
            ),
            Span::styled(fit(&roll, width.saturating_sub(name_w + 39)), style),
        ])
    });
    let Some(d) = deps.get(v.cursor) else {
        draw_events_for(f, bottom, s, v, pane, None);
        return;
    };
    let [rs_a, ev_a] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    draw_replicasets(f, rs_a, s, pane, d);
    draw_events_for(f, ev_a, s, v, pane, Some(&format!("Deployment/{}", d.name)));
}

/// The columns `kubectl get` prints (priority 0), by index.
fn printed(columns: &[Column]) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.priority == 0)
        .map(|(i, _)| i)
        .collect()
}

/// One cell of a server table's row; the age is counted on from the row's
/// creation (the server's text is as old as the row's last change).
fn table_cell(columns: &[Column], i: usize, r: &TableRow, now_s: i64) -> String {
    match columns.get(i) {
        Some(c) if c.name == "Age" && r.created.is_some() => age(now_s, r.created),
        _ => r.cells.get(i).cloned().unwrap_or_default(),
    }
}

/// Widths of a `:KIND` table's columns: each as wide as its header and the
/// widest of the first rows (at most 40), the last taking what is left.
pub fn kind_widths(headers: &[&str], rows: &[&[String]], width: usize) -> Vec<usize> {
    let mut w: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let widest = rows
                .iter()
                .take(500)
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0);
            (widest.max(h.chars().count()) + 2).min(40)
        })
        .collect();
    if let Some(last) = w.len().checked_sub(1) {
        let used: usize = w[..last].iter().sum();
        w[last] = width.saturating_sub(used).max(w[last].min(width));
    }
    w
}

fn draw_kind_tab(f: &mut Frame, area: Rect, s: &State, v: &LiveView, pane: &ClusterPane) {
    let t = &s.theme;
    let Some(res) = v.resource() else {
        return;
    };
    let rows = v.table_rows(pane);
    let lower = (area.height / 3).max(5);
    // A StatefulSet's claims under its pods: they outlive the pods, unowned.
    let claims: Vec<(&'static str, &TableRow)> = v
        .set_claims(pane)
        .into_iter()
        .map(|c| ("PersistentVolumeClaim", c))
        .collect();
    let claims_h = match v.set_drilled() {
        Some(_) => owned_height(&claims, area.height.saturating_sub(lower + 6)),
        None => 0,
    };
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(claims_h),
        Constraint::Length(lower),
    ])
    .areas(area);
    if let Some(set) = v.set_drilled() {
        let title = format!("Claims of StatefulSet/{set} ({})", claims.len());
        draw_owned(f, middle, s, pane, &title, &claims, v.now_s);
    }
    let width = top.width.saturating_sub(2) as usize;
    // The columns `kubectl get` prints (priority 0), names upper-cased as it does.
    let shown = printed(&pane.columns);
    let headers: Vec<String> = shown
        .iter()
        .map(|i| pane.columns[*i].name.to_uppercase())
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .take(500)
        .map(|r| {
            shown
                .iter()
                .map(|i| table_cell(&pane.columns, *i, r, v.now_s))
                .collect()
        })
        .collect();
    let cell_refs: Vec<&[String]> = cells.iter().map(Vec::as_slice).collect();
    let widths = kind_widths(&header_refs, &cell_refs, width);
    let line_of = |texts: &[String]| -> String {
        texts
            .iter()
            .zip(&widths)
            .map(|(x, w)| cell(x, *w))
            .collect::<String>()
    };
    let what = res.plural.clone();
    let mut title = format!("{} ({})", res.kind, rows.len());
    if let Some((_, of)) = &v.owner {
        title = format!("{title} · owned by {of}");
    }
    if !v.filter.is_empty() {
        title = format!("{title} · /{}", v.filter);
    }
    let table = Table {
        title,
        header: Line::styled(line_of(&headers), t.header()),
        rows: rows.len(),
        cursor: Some(v.cursor),
    };
    let (inner, first) = table.frame(f, top, t);
    let lines: Vec<Line> = if !pane.listed(Kind::Table) {
        vec![loading_line(t, pane, &what)]
    } else if rows.is_empty() {
        let why = match (&v.owner, v.filter.is_empty()) {
            (Some((_, of)), true) => format!("no {what} owned by {of}"),
            (_, false) => format!("no {what} match /{}", v.filter),
            (None, true) => format!("no {what}"),
        };
        vec![Line::styled(why, t.muted())]
    } else {
        rows.iter()
            .enumerate()
            .skip(first)
            .take(inner.height as usize)
            .map(|(i, r)| {
                let texts: Vec<String> = shown
                    .iter()
                    .map(|c| table_cell(&pane.columns, *c, r, v.now_s))
                    .collect();
                let l = Line::raw(fit(&line_of(&texts), width));
                if i == v.cursor {
                    l.style(t.selection(true))
                } else {
                    l
                }
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines), inner);
    let about = rows
        .get(v.cursor)
        .map(|r| format!("{}/{}", res.kind, r.name));
    draw_events_for(f, bottom, s, v, pane, about.as_deref());
}

/// Lines [`draw_owned`] needs for `rows` (a header per kind, a line per
/// row, the border), at most `room`.
fn owned_height(rows: &[(&str, &TableRow)], room: u16) -> u16 {
    let mut kinds: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
    kinds.dedup();
    let want = if rows.is_empty() {
        3
    } else {
        rows.len() + kinds.len() + 2
    };
    (want as u16).min(room.max(3))
}

/// Objects of several kinds under a table (a release's Jobs and claims, a
/// StatefulSet's claims): per kind, the columns `kubectl get` prints.
fn draw_owned(
    f: &mut Frame,
    area: Rect,
    s: &State,
    pane: &ClusterPane,
    title: &str,
    rows: &[(&'static str, &TableRow)],
    now_s: i64,
) {
    let t = &s.theme;
    let block = Block::bordered()
        .border_style(t.border(false))
        .title(Span::styled(format!(" {title} "), t.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if rows.is_empty() {
        let live = matches!(
            pane.conn.get("owned"),
            Some(tierui_backends::kube::watch::Conn::Live)
        );
        let text = if live {
            "none on the cluster yet"
        } else {
            "loading…"
        };
        lines.push(Line::styled(text, t.muted()));
    }
    let mut i = 0;
    while i < rows.len() {
        let kind = rows[i].0;
        let group: Vec<&TableRow> = rows[i..]
            .iter()
            .take_while(|(k, _)| *k == kind)
            .map(|(_, r)| *r)
            .collect();
        i += group.len();
        let columns = pane
            .owned
            .get(kind)
            .map(|o| o.columns.as_slice())
            .unwrap_or_default();
        let shown = printed(columns);
        // The name column is headed by the kind: one header line per kind.
        let headers: Vec<String> = shown
            .iter()
            .map(|i| match columns[*i].name.as_str() {
                "Name" => kind.to_string(),
                n => n.to_uppercase(),
            })
            .collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let cells: Vec<Vec<String>> = group
            .iter()
            .map(|r| {
                shown
                    .iter()
                    .map(|i| table_cell(columns, *i, r, now_s))
                    .collect()
            })
            .collect();
        let cell_refs: Vec<&[String]> = cells.iter().map(Vec::as_slice).collect();
        let widths = kind_widths(&header_refs, &cell_refs, width);
        let line_of = |texts: &[String]| -> String {
            texts
                .iter()
                .zip(&widths)
                .map(|(x, w)| cell(x, *w))
                .collect::<String>()
        };
        lines.push(Line::styled(fit(&line_of(&headers), width), t.header()));
        for c in &cells {
            let text = fit(&line_of(c), width);
            let bad = c.iter().any(|x| {
                matches!(
                    x.as_str(),
                    "Pending" | "Lost" | "Failed" | "BackoffLimitExceeded" | "DeadlineExceeded"
                )
            });
            lines.push(if bad {
                Line::styled(text, t.warn())
            } else {
                Line::raw(text)
            });
        }
    }
    let room = inner.height as usize;
    if lines.len() > room && room > 0 {
        let more = lines.len() - (room - 1);
        lines.truncate(room - 1);
        lines.push(Line::styled(
            format!("… {more} more lines (:sts, :jobs, :cj, :pvc list them all)"),
            t.muted(),
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_replicasets(f: &mut Frame, area: Rect, s: &State, pane: &ClusterPane, d: &DeploymentRow) {
    let t = &s.theme;
    let mut sets: Vec<_> = pane
        .replicasets
        .values()
        .filter(|r| r.namespace == d.namespace && r.owner == d.name)
        .collect();
    sets.sort_by_key(|r| std::cmp::Reverse(r.revision.parse::<u64>().unwrap_or(0)));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false))
        .title(Span::styled(
            format!(" ReplicaSets of {} ", d.name),
            t.title(),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines = vec![Line::styled(
        cell("", 5) + &cell("REV", 5) + &cell("READY", 8) + "IMAGE",
        t.header(),
    )];
    if !pane.listed(Kind::ReplicaSets) {
        lines.push(loading_line(t, pane, "replica sets"));
    }
    for (i, r) in sets.iter().enumerate() {
        // The newest revision is the rollout's target; older ones with replicas are draining.
        let (mark, style) = if i == 0 {
            ("new", t.accent())
        } else if r.desired > 0 || r.ready > 0 {
            ("old", t.changed())
        } else {
            ("", t.muted())
        };
        if i > 0 && r.desired == 0 && r.ready == 0 && i > 2 {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(cell(mark, 5), style),
            Span::raw(cell(&r.revision, 5)),
            Span::raw(cell(&format!("{}/{}", r.ready, r.desired), 8)),
            Span::styled(fit(&r.image, width.saturating_sub(18)), style),
        ]));
    }
    for c in &d.conditions {
        lines.push(Line::styled(fit(c, width), t.muted()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_hpa_tab(f: &mut Frame, area: Rect, s: &State, v: &LiveView, pane: &ClusterPane) {
    let t = &s.theme;
    let hpas: Vec<&HpaRow> = pane.hpas.values().collect();
    let lower = if area.height >= 24 {
        12
    } else {
        (area.height / 2).max(5)
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(lower)]).areas(area);
    let width = top.width.saturating_sub(2) as usize;
    let name_w = width
        .saturating_sub(28 + 24 + 5 + 5 + 10 + 10)
        .clamp(12, 32);
    let table = Table {
        title: format!("HorizontalPodAutoscalers ({})", hpas.len()),
        header: Line::styled(
            cell("NAME", name_w)
                + &cell("REFERENCE", 28)
                + &cell("TARGETS", 24)
                + &cell("MIN", 5)
                + &cell("MAX", 5)
                + &cell("REPLICAS", 10)
                + "LAST SCALE",
            t.header(),
        ),
        rows: hpas.len(),
        cursor: Some(v.cursor),
    };
    let (inner, first) = table.frame(f, top, t);
    let body = Body {
        pane,
        kind: Kind::Hpas,
        what: "autoscalers",
        first,
        cursor: v.cursor,
    };
    body.draw(f, inner, t, &hpas, |h| {
        let scaling = h.current != h.desired;
        let replicas = if scaling {
            format!("{}→{}", h.current, h.desired)
        } else {
            h.current.to_string()
        };
        Line::from(vec![
            Span::raw(cell(&h.name, name_w)),
            Span::styled(cell(&h.target, 28), t.muted()),
            Span::raw(cell(&h.targets(), 24)),
            Span::raw(cell(&h.min.to_string(), 5)),
            Span::raw(cell(&h.max.to_string(), 5)),
            Span::styled(
                cell(&replicas, 10),
                if scaling { t.changed() } else { t.base() },
            ),
            Span::raw(
                h.last_scale
                    .map_or("never".into(), |l| age(v.now_s, Some(l))),
            ),
        ])
    });
    match hpas.get(v.cursor) {
        Some(h) => {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(bottom);
            draw_hpa_panel(f, l, s, v, pane, h);
            draw_events_for(
                f,
                r,
                s,
                v,
                pane,
                Some(&format!("HorizontalPodAutoscaler/{}", h.name)),
            );
        }
        None => draw_events_for(f, bottom, s, v, pane, None),
    }
}

/// The release's pods in every cluster, one column each.
fn draw_multi(f: &mut Frame, area: Rect, s: &State, v: &LiveView) {
    let t = &s.theme;
    let n = v.panes.len().max(1) as u32;
    let cols = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    for (i, (pane, col)) in v.panes.iter().zip(cols.iter()).enumerate() {
        let conn = pane.connection();
        let images: std::collections::BTreeSet<&str> = pane.pods.images().collect();
        let [summary, table] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(*col);
        let image_text = match images.len() {
            0 => "—".to_string(),
            1 => images.iter().next().unwrap_or(&"").to_string(),
            k => format!("{k} images (rolling out?)"),
        };
        let hpa = pane
            .hpas
            .values()
            .next()
            .map(|h| format!(" · hpa {}/{}–{}", h.current, h.min, h.max))
            .unwrap_or_default();
        f.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled(format!("{} ", pane.cluster), t.title()),
                    Span::styled(fit(&conn, col.width as usize), conn_style(t, &conn)),
                ]),
                Line::styled(
                    fit(&format!("{image_text}{hpa}"), col.width as usize),
                    t.muted(),
                ),
            ]),
            summary,
        );
        let rows = v.pod_rows(pane);
        draw_pod_table(
            f,
            table,
            s,
            v,
            pane,
            &rows,
            (i == 0).then_some(v.cursor),
            false,
        );
    }
}
