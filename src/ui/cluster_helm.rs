//! The cluster pane's Helm section: the releases Helm keeps in the cluster
//! (newest revision of each, as `helm list -A` shows them), their values on `v`.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::helm::HelmEntry;
use crate::app::keymap::Action;
use crate::app::state::State;
use crate::app::theme::Theme;
use tierui_backends::kube::helm::HelmRelease;
use tierui_core::workspace::model::ClusterStack;

const COLUMNS: [&str; 8] = [
    "NAME",
    "NAMESPACE",
    "CHART",
    "VERSION",
    "APP",
    "REV",
    "STATUS",
    "DEPLOYED",
];

/// The section for cluster `c`, for a pane `width` wide.
pub fn lines(s: &State, c: &ClusterStack, width: usize) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = vec![Line::default()];
    let key = s.keymap.hint(Action::HelmValues);
    if crate::app::monitor::cluster_absent(s, &c.name) {
        out.push(Line::styled(
            "Helm releases: none — the cluster does not exist",
            t.header(),
        ));
        return out;
    }
    let list = match s.helm.get(&c.name) {
        None | Some(HelmEntry::Loading) => {
            out.push(Line::styled(
                "Helm releases: asking the cluster…",
                t.header(),
            ));
            return out;
        }
        Some(HelmEntry::Failed(e)) => {
            out.push(Line::styled(
                "Helm releases: could not be listed",
                t.header(),
            ));
            for l in super::text::wrap(e, width.saturating_sub(4)) {
                out.push(Line::styled(format!("  {l}"), t.warn()));
            }
            return out;
        }
        Some(HelmEntry::Ready(list)) => list,
    };
    if list.is_empty() {
        out.push(Line::styled("Helm releases: none", t.header()));
        out.push(Line::styled(
            "  no release records of Helm (Secrets of type helm.sh/release.v1) in any namespace",
            t.muted(),
        ));
        return out;
    }
    let shown = if s.helm_values { "hides" } else { "shows" };
    out.push(Line::styled(
        format!("Helm releases ({}; {key} {shown} values)", list.len()),
        t.header(),
    ));
    let rows: Vec<[String; 8]> = list.iter().map(row).collect();
    let mut widths = COLUMNS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Cells padded to their columns' widths, the first in column `from`.
    let cells = |r: &[String], from: usize| {
        r.iter()
            .zip(&widths[from..])
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    out.push(Line::styled(
        format!("  {}", cells(&COLUMNS.map(String::from), 0))
            .trim_end()
            .to_string(),
        t.muted(),
    ));
    for (r, cells_of) in list.iter().zip(&rows) {
        let (head, status) = cells_of.split_at(6);
        // The name carries a status that is not `deployed` too, so a failed
        // or pending release shows even where the pane cuts the STATUS column.
        let name_style = match r.status.as_str() {
            "deployed" => Style::default(),
            other => status_style(t, other),
        };
        out.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("{:<w$}", head[0], w = widths[0]), name_style),
            Span::raw(format!("  {}  ", cells(&head[1..], 1))),
            Span::styled(
                format!("{:<w$}", status[0], w = widths[6]),
                status_style(t, &r.status),
            ),
            Span::raw(format!("  {}", status[1])),
        ]));
        if s.helm_values {
            values(&mut out, t, r);
        }
    }
    out
}

fn row(r: &HelmRelease) -> [String; 8] {
    let or_dash = |v: &str| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.to_string()
        }
    };
    [
        r.name.clone(),
        or_dash(&r.namespace),
        or_dash(&r.chart),
        or_dash(&r.chart_version),
        or_dash(&r.app_version),
        r.revision.to_string(),
        or_dash(&r.status),
        r.deployed(),
    ]
}

fn status_style(t: &Theme, status: &str) -> Style {
    match status {
        "deployed" => t.ok(),
        "failed" => t.error(),
        "superseded" | "uninstalled" => t.muted(),
        _ => t.changed(),
    }
}

/// A release's values (`helm get values`), secret-looking ones masked.
fn values(out: &mut Vec<Line<'static>>, t: &Theme, r: &HelmRelease) {
    let empty = r.values.as_object().is_none_or(|m| m.is_empty());
    if empty {
        out.push(Line::styled(
            "      values: none (the chart's defaults)",
            t.muted(),
        ));
        return;
    }
    out.push(Line::styled("      values:", t.muted()));
    for l in tierui_core::render::diff::to_yaml(&r.values).lines() {
        out.push(Line::raw(format!("        {l}")));
    }
}
