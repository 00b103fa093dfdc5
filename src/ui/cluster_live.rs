//! The cluster pane's live half: what AWS says and the drift from the source.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::state::{LiveEntry, State};
use crate::app::theme::Theme;
use tierui_core::cloud::inventory::{ClusterLive, Part};
use tierui_core::cluster::drift::{Drift, drift};
use tierui_core::workspace::model::ClusterStack;

/// Glyph, its style and a short status for the navigator.
pub fn status(s: &State, c: &ClusterStack) -> (&'static str, Style, String) {
    let t = &s.theme;
    match s.live.get(&c.name) {
        None | Some(LiveEntry::Loading) => ("…", t.muted(), "…".into()),
        Some(LiveEntry::Failed(_)) => ("!", t.warn(), "no access".into()),
        Some(LiveEntry::Ready(live)) => match &live.cluster {
            Part::Ok(None) => ("○", t.muted(), "—".into()),
            Part::Ok(Some(lc)) => {
                let n = drifts(c, live).len();
                match lc.status.as_str() {
                    "ACTIVE" if n == 0 => ("●", t.ok(), "ACTIVE".into()),
                    "ACTIVE" => ("~", t.changed(), format!("ACTIVE ~{n}")),
                    other => ("◐", t.accent(), other.to_string()),
                }
            }
            Part::Error(_) | Part::Unknown => ("!", t.warn(), "error".into()),
        },
    }
}

pub fn drifts(c: &ClusterStack, live: &ClusterLive) -> Vec<Drift> {
    c.spec()
        .map(|spec| drift(c, &spec, live))
        .unwrap_or_default()
}

fn header(out: &mut Vec<Line<'static>>, t: &Theme, title: String) {
    out.push(Line::default());
    out.push(Line::styled(title, t.header()));
}

fn part_error<T>(
    out: &mut Vec<Line<'static>>,
    t: &Theme,
    what: &str,
    p: &Part<T>,
    width: usize,
) -> bool {
    match p {
        Part::Error(e) => {
            let text = if e.is_not_implemented() {
                format!("{what}: not implemented by this endpoint ({})", e.api)
            } else {
                format!(
                    "{what}: could not read — {} {}: {}",
                    e.api, e.code, e.message
                )
            };
            for l in super::text::wrap(&text, width.saturating_sub(4)) {
                out.push(Line::styled(format!("  {l}"), t.warn()));
            }
            true
        }
        Part::Unknown => {
            out.push(Line::styled(
                format!("  {what}: unknown until the cluster can be read"),
                t.muted(),
            ));
            true
        }
        Part::Ok(_) => false,
    }
}

/// `HH:MM:SS UTC` of a unix-ms time.
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02} UTC",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The AWS and Drift sections of a cluster's detail, for a pane `width` wide.
pub fn lines(s: &State, c: &ClusterStack, width: usize) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = Vec::new();
    let target = if s.session.sandbox {
        "sandbox cloud".to_string()
    } else {
        "AWS".to_string()
    };
    let live = match s.live.get(&c.name) {
        None | Some(LiveEntry::Loading) => {
            header(&mut out, t, format!("{target}: asking…"));
            return out;
        }
        Some(LiveEntry::Failed(e)) => {
            header(&mut out, t, format!("{target}: no connection"));
            out.push(Line::styled(format!("  {e}"), t.warn()));
            return out;
        }
        Some(LiveEntry::Ready(live)) => live,
    };
    header(
        &mut out,
        t,
        format!(
            "{target} (asked at {}; r asks again)",
            clock(live.fetched_at)
        ),
    );
    eks_cluster(&mut out, t, c, live, width);
    nodegroups(&mut out, t, live, width);
    addons(&mut out, t, live, width);
    network(&mut out, t, live, width);
    part_error(&mut out, t, "OIDC provider", &live.oidc_provider, width);
    drift_section(&mut out, t, c, live, width);
    out
}

/// EKS's own view of the cluster: status, version, endpoint access, OIDC, logging.
fn eks_cluster(
    out: &mut Vec<Line<'static>>,
    t: &Theme,
    c: &ClusterStack,
    live: &ClusterLive,
    width: usize,
) {
    match &live.cluster {
        Part::Ok(None) => out.push(Line::styled(
            format!(
                "  no EKS cluster named {} in {}",
                c.spec().map_or(c.name.clone(), |s| s.cluster_name),
                c.region.as_deref().unwrap_or("its region")
            ),
            t.muted(),
        )),
        Part::Ok(Some(lc)) => {
            out.push(Line::raw(format!(
                "  EKS      {}   Kubernetes {} ({})",
                lc.status, lc.version, lc.platform_version
            )));
            out.push(Line::raw(format!(
                "  endpoint {}{}{}",
                if lc.endpoint_public { "public" } else { "" },
                if lc.endpoint_public && lc.endpoint_private {
                    "+"
                } else {
                    ""
                },
                if lc.endpoint_private { "private" } else { "" }
            )));
            out.push(Line::raw(format!(
                "  OIDC     {}",
                lc.oidc_issuer.clone().unwrap_or_else(|| "—".into())
            )));
            out.push(Line::raw(format!(
                "  logging  {}",
                if lc.logging.is_empty() {
                    "off".into()
                } else {
                    lc.logging.join(", ")
                }
            )));
        }
        other => {
            part_error(out, t, "cluster", other, width);
        }
    }
}

/// The managed node groups as a table, with their health issues.
fn nodegroups(out: &mut Vec<Line<'static>>, t: &Theme, live: &ClusterLive, width: usize) {
    if part_error(out, t, "node groups", &live.nodegroups, width) {
        return;
    }
    let Part::Ok(groups) = &live.nodegroups else {
        return;
    };
    if groups.is_empty() {
        return;
    }
    out.push(Line::styled(
        format!(
            "  {:<16}{:<10}{:>4}{:>5}{:>5}  {:<22}{}",
            "NODE GROUP", "STATUS", "MIN", "DES", "MAX", "INSTANCE TYPES", "AMI"
        ),
        t.muted(),
    ));
    for g in groups {
        out.push(Line::raw(format!(
            "  {:<16}{:<10}{:>4}{:>5}{:>5}  {:<22}{}",
            g.name,
            g.status,
            g.min_size,
            g.desired_size,
            g.max_size,
            g.instance_types.join(","),
            g.ami_type
        )));
        for issue in &g.health_issues {
            out.push(Line::styled(format!("    health: {issue}"), t.warn()));
        }
    }
}

fn addons(out: &mut Vec<Line<'static>>, t: &Theme, live: &ClusterLive, width: usize) {
    if !part_error(out, t, "addons", &live.addons, width)
        && let Part::Ok(addons) = &live.addons
        && !addons.is_empty()
    {
        let list: Vec<String> = addons
            .iter()
            .map(|a| format!("{} {} ({})", a.name, a.version, a.status))
            .collect();
        out.push(Line::raw(format!("  addons   {}", list.join(" · "))));
    }
}

/// The VPC, its subnets (with their load-balancer role tags) and NAT gateways.
fn network(out: &mut Vec<Line<'static>>, t: &Theme, live: &ClusterLive, width: usize) {
    if !part_error(out, t, "VPC", &live.vpc_cidr, width)
        && let Part::Ok(cidr) = &live.vpc_cidr
        && !cidr.is_empty()
    {
        let vpc = live
            .cluster
            .ok()
            .and_then(|c| c.as_ref())
            .and_then(|c| c.vpc_id.clone())
            .unwrap_or_default();
        out.push(Line::raw(format!("  VPC      {vpc} {cidr}")));
    }
    if !part_error(out, t, "subnets", &live.subnets, width)
        && let Part::Ok(subnets) = &live.subnets
    {
        for sn in subnets {
            let roles: Vec<&str> = sn
                .tags
                .iter()
                .filter(|(k, _)| k.starts_with("kubernetes.io/role/"))
                .map(|(k, _)| k.trim_start_matches("kubernetes.io/role/"))
                .collect();
            out.push(Line::raw(format!(
                "  subnet   {:<26}{:<12}{:<17}{:<8}{}",
                sn.id,
                sn.az,
                sn.cidr,
                if sn.public { "public" } else { "private" },
                if roles.is_empty() {
                    "no role tag".into()
                } else {
                    roles.join(",")
                }
            )));
        }
    }
    if !part_error(out, t, "NAT gateways", &live.nat_gateways, width)
        && let Part::Ok(nats) = &live.nat_gateways
    {
        for n in nats {
            out.push(Line::raw(format!(
                "  NAT      {:<26}{:<12}{}",
                n.id, n.state, n.subnet
            )));
        }
    }
}

/// The drift from the source, saying which parts could not be checked.
fn drift_section(
    out: &mut Vec<Line<'static>>,
    t: &Theme,
    c: &ClusterStack,
    live: &ClusterLive,
    width: usize,
) {
    let Part::Ok(_) = &live.cluster else {
        header(
            out,
            t,
            "Drift: cannot tell while the cluster cannot be read".into(),
        );
        return;
    };
    let ds = drifts(c, live);
    let unread: Vec<&str> = [
        ("node groups", matches!(live.nodegroups, Part::Error(_))),
        ("subnets", matches!(live.subnets, Part::Error(_))),
        (
            "OIDC provider",
            matches!(live.oidc_provider, Part::Error(_)),
        ),
        (
            "addons",
            matches!(&live.addons, Part::Error(e) if !e.is_not_implemented()),
        ),
    ]
    .into_iter()
    .filter(|(_, bad)| *bad)
    .map(|(n, _)| n)
    .collect();
    let partly = if unread.is_empty() {
        String::new()
    } else {
        format!(" (not checked: {} could not be read)", unread.join(", "))
    };
    header(
        out,
        t,
        if ds.is_empty() && unread.is_empty() {
            "Drift: none — AWS matches the source".into()
        } else if ds.is_empty() {
            format!("Drift: none found{partly}")
        } else {
            format!("Drift ({}){partly}", ds.len())
        },
    );
    for d in ds {
        out.push(Line::from(vec![
            Span::styled(format!("  ~ {}: ", d.field), t.changed()),
            Span::raw(format!("source {} · AWS {}", d.source, d.live)),
        ]));
        for (i, l) in super::text::wrap(&d.what_to_do, width.saturating_sub(6))
            .into_iter()
            .enumerate()
        {
            out.push(Line::styled(
                format!("    {} {l}", if i == 0 { "→" } else { " " }),
                t.muted(),
            ));
        }
    }
}
