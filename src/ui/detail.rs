//! The detail pane: the parsed source of the selected cluster stack or release.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::keymap::Action;
use crate::app::state::{Pane, ProgramRender, Selection, State};
use crate::app::theme::Theme;
use tierui_core::workspace::eksctl::ClusterConfig;
use tierui_core::workspace::model::{
    ClusterSource, ClusterStack, PulumiStack, Release, ReleaseSource,
};
use tierui_core::workspace::pulumi::StackConfig;
use tierui_core::workspace::spec::ClusterSpec;

/// Draws the detail pane; returns how many body lines it has (for scrolling).
pub fn draw(f: &mut Frame, area: Rect, s: &State) -> usize {
    let focused = s.focus == Pane::Detail;
    let title = match s.selection {
        Some(Selection::Cluster(i)) => format!(
            " {} · {} ",
            s.ws.clusters[i].name,
            s.ws.clusters[i].provisioner()
        ),
        Some(Selection::Release(i)) => {
            let sh = s.shown(i);
            format!(
                " {} · {} · {} ",
                s.ws.releases[i].title(),
                sh.sync.as_ref().map_or("…", |x| x.word()),
                sh.health.as_ref().map_or("…", |x| x.word())
            )
        }
        None => " Detail ".into(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border(focused))
        .title(Span::styled(title, s.theme.title()));
    let inner_h = area.height.saturating_sub(2);
    let mut body = lines(s);
    let count = body.len();
    let hints = hint_line(s, usize::from(area.width.saturating_sub(2)));
    // Keep the hint line pinned at the bottom of the pane.
    let visible = inner_h.saturating_sub(1);
    let start = usize::from(s.detail_scroll).min(body.len().saturating_sub(1));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let mut shown: Vec<Line> = body
        .drain(start..)
        .take(usize::from(visible))
        .map(|l| super::text::window(l, usize::from(s.detail_hscroll), inner_w))
        .collect();
    while shown.len() < usize::from(visible) {
        shown.push(Line::default());
    }
    shown.push(hints);
    f.render_widget(Paragraph::new(shown).block(block), area);
    count
}

/// The keys of the selected item, then the general ones.
fn hint_line(s: &State, width: usize) -> Line<'static> {
    let t = &s.theme;
    let mut spans = Vec::new();
    let item: &[Action] = match s.selection {
        Some(Selection::Release(_)) if s.focus != Pane::Detail => &[
            Action::Edit,
            Action::SetTag,
            Action::SetReplicas,
            Action::SetHpaMin,
            Action::ShowDiff,
            Action::Apply,
            Action::Live,
            Action::LiveAll,
            Action::ReleaseLogs,
            Action::ReleaseUndo,
        ],
        Some(Selection::Cluster(_)) if s.focus != Pane::Detail => &[
            Action::Edit,
            Action::Live,
            Action::Walkthrough,
            Action::HelmValues,
        ],
        _ => &[Action::ScrollLeft, Action::ScrollRight],
    };
    let general = [
        Action::Refresh,
        Action::Filter,
        Action::Command,
        Action::Help,
    ];
    let key = |action: &Action| match action {
        Action::ScrollLeft => "h".to_string(),
        Action::ScrollRight => "l".to_string(),
        a => s.keymap.hint(*a),
    };
    let all: Vec<&Action> = item.iter().chain(general.iter()).collect();
    let long: usize = all
        .iter()
        .map(|a| key(a).chars().count() + short(**a).chars().count() + 3)
        .sum();
    if long <= width {
        for action in all {
            spans.push(Span::styled(key(action), t.accent()));
            spans.push(Span::styled(format!(" {}  ", short(*action)), t.muted()));
        }
    } else {
        // Too narrow for words: the keys alone (? names them all).
        for (n, action) in all.iter().enumerate() {
            if n == item.len() {
                spans.push(Span::styled("· ", t.muted()));
            }
            spans.push(Span::styled(format!("{} ", key(action)), t.accent()));
        }
    }
    Line::from(spans)
}

fn short(a: Action) -> &'static str {
    match a {
        Action::Refresh => "reload",
        Action::Filter => "filter",
        Action::Command => "command",
        Action::Help => "help",
        Action::Edit => "edit",
        Action::SetTag => "tag",
        Action::SetReplicas => "replicas",
        Action::SetHpaMin => "hpa",
        Action::ShowDiff => "diff",
        Action::Apply => "apply",
        Action::Live => "live",
        Action::LiveAll => "all clusters",
        Action::ReleaseLogs => "logs",
        Action::ReleaseUndo => "undo",
        Action::Walkthrough => "walk",
        Action::HelmValues => "values",
        Action::ScrollLeft => "←",
        Action::ScrollRight => "→ scroll",
        _ => a.name(),
    }
}

pub fn lines(s: &State) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The problem under the cursor, whole (the panel cuts long ones).
    if s.focus == Pane::Problems
        && let Some(p) = s.ws.problems.get(s.problem_cursor)
    {
        let area = ratatui::layout::Rect::new(0, 0, s.width, s.height);
        let width = usize::from(
            crate::app::layout::home(area, s)
                .detail
                .width
                .saturating_sub(4),
        );
        out.push(Line::styled("Problem", s.theme.header()));
        out.push(Line::styled(
            format!("  {}", p.location()),
            s.theme.accent(),
        ));
        for l in super::text::wrap(&p.message, width) {
            out.push(Line::raw(format!("  {l}")));
        }
        out.push(Line::default());
    }
    match s.selection {
        Some(Selection::Cluster(i)) => {
            let area = ratatui::layout::Rect::new(0, 0, s.width, s.height);
            let width = usize::from(
                crate::app::layout::home(area, s)
                    .detail
                    .width
                    .saturating_sub(2),
            );
            cluster(&mut out, s, &s.ws.clusters[i], width)
        }
        Some(Selection::Release(i)) => {
            story(&mut out, s, i);
            release(&mut out, s, &s.ws.releases[i])
        }
        None => out.push(Line::styled("Nothing selected.", s.theme.muted())),
    }
    let files = s.selection_files();
    let problems: Vec<_> =
        s.ws.problems
            .iter()
            .filter(|p| files.iter().any(|f| p.file.starts_with(f)))
            .collect();
    if !problems.is_empty() {
        section(
            &mut out,
            &s.theme,
            &format!("Problems in these files ({})", problems.len()),
        );
        for p in problems {
            let style = match p.severity {
                tierui_core::workspace::fields::Severity::Error => s.theme.error(),
                tierui_core::workspace::fields::Severity::Warning => s.theme.warn(),
                tierui_core::workspace::fields::Severity::Unsupported => s.theme.muted(),
            };
            out.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(p.location(), style),
                Span::raw(format!(" {}", p.message)),
            ]));
        }
    }
    out
}

fn section(out: &mut Vec<Line<'static>>, t: &Theme, title: &str) {
    out.push(Line::default());
    out.push(Line::styled(title.to_string(), t.header()));
}

fn field(out: &mut Vec<Line<'static>>, t: &Theme, label: &str, value: impl Into<String>) {
    out.push(Line::from(vec![
        Span::styled(format!("{label:<10} "), t.muted()),
        Span::raw(value.into()),
    ]));
}

fn flag(b: Option<bool>, on: &str, off: &str) -> String {
    match b {
        Some(true) => on.into(),
        Some(false) => off.into(),
        None => "—".into(),
    }
}

fn cluster(out: &mut Vec<Line<'static>>, s: &State, c: &ClusterStack, width: usize) {
    let t = &s.theme;
    cluster_source(out, t, c);
    field(
        out,
        t,
        "region",
        format!(
            "{}   profile {}   context {}",
            c.region.as_deref().unwrap_or("—"),
            c.profile.as_deref().unwrap_or("default"),
            match s.contexts.get(&c.name) {
                Some(Ok((context, _))) => context.clone(),
                Some(Err(_)) => "none (see below)".into(),
                None if s.session.sandbox => format!("sim/{}", c.name),
                None => c.context.clone().unwrap_or_else(|| "finding…".into()),
            }
        ),
    );
    match s.contexts.get(&c.name) {
        Some(Ok((_, why))) => field(out, t, "", format!("context chosen: {why}")),
        Some(Err(e)) => out.push(Line::styled(format!("kube context: {e}"), t.error())),
        None => {}
    }
    let Some(spec) = c.spec() else {
        out.push(Line::styled(
            "The source could not be read; see the problems below.",
            t.error(),
        ));
        return;
    };
    cluster_spec(out, t, &spec);
    // What AWS says and the drift, right under what the source says.
    out.extend(super::cluster_live::lines(s, c, width));
    // What Helm installed in it, from Helm's own records.
    out.extend(super::cluster_helm::lines(s, c, width));
    match &c.source {
        ClusterSource::Pulumi(p) => pulumi_cluster(out, t, p),
        ClusterSource::Eksctl {
            config: Some(cfg), ..
        } => eksctl_config(out, t, cfg),
        ClusterSource::Eksctl { config: None, .. } => {}
    }
    let on: Vec<_> =
        s.ws.releases_on(&c.name)
            .map(|r| format!("  {} ({}, ns {})", r.title(), r.manager(), r.namespace))
            .collect();
    section(out, t, &format!("Releases on {} ({})", c.name, on.len()));
    out.extend(on.into_iter().map(Line::raw));
    if let Some(p) = c.pulumi() {
        let apps = s.ws.app_stacks_of(p.qualified_name().as_deref());
        if !apps.is_empty() {
            section(out, t, "App stacks with a StackReference to this stack");
            out.extend(apps.into_iter().map(|a| Line::raw(format!("  {a}"))));
        }
    }
}

/// Where the cluster stack is defined.
fn cluster_source(out: &mut Vec<Line<'static>>, t: &Theme, c: &ClusterStack) {
    match &c.source {
        ClusterSource::Pulumi(p) => field(
            out,
            t,
            "source",
            format!(
                "pulumi stack {} ({})",
                p.qualified_name().unwrap_or_else(|| p.stack.clone()),
                p.config_file.display()
            ),
        ),
        ClusterSource::Eksctl {
            config_file,
            script,
            ..
        } => {
            field(
                out,
                t,
                "source",
                format!("eksctl ClusterConfig {}", config_file.display()),
            );
            if let Some(script) = script {
                field(out, t, "script", script.display().to_string());
            }
        }
    }
}

/// What the source says of the cluster: version, endpoint, network, node groups.
fn cluster_spec(out: &mut Vec<Line<'static>>, t: &Theme, spec: &ClusterSpec) {
    field(
        out,
        t,
        "version",
        format!(
            "{}   endpoint {}   OIDC {}",
            spec.kubernetes_version.as_deref().unwrap_or("—"),
            match (spec.endpoint_public_access, spec.endpoint_private_access) {
                (Some(true), Some(true)) => "public+private".to_string(),
                (Some(true), _) => "public".to_string(),
                (_, Some(true)) => "private".to_string(),
                _ => "—".to_string(),
            },
            flag(spec.oidc, "on", "off")
        ),
    );
    field(
        out,
        t,
        "network",
        format!(
            "VPC {} · {} · NAT {}",
            spec.vpc_cidr.as_deref().unwrap_or("—"),
            if spec.availability_zones.is_empty() {
                "AZs —".to_string()
            } else {
                spec.availability_zones.join(", ")
            },
            spec.nat.as_deref().unwrap_or("—")
        ),
    );
    section(out, t, &format!("Node groups ({})", spec.node_groups.len()));
    if !spec.node_groups.is_empty() {
        out.push(Line::styled(
            format!(
                "  {:<16}{:<24}{:>4}{:>5}{:>5}  {}",
                "NAME", "INSTANCE TYPES", "MIN", "DES", "MAX", "CAPACITY"
            ),
            t.muted(),
        ));
    }
    for g in &spec.node_groups {
        out.push(Line::raw(format!(
            "  {:<16}{:<24}{:>4}{:>5}{:>5}  {}",
            g.name,
            g.instance_types.join(","),
            g.min_size,
            g.desired_size,
            g.max_size,
            g.capacity_type
        )));
    }
}

/// The eksctl ClusterConfig's addons, IAM, logging and self-managed node groups.
fn eksctl_config(out: &mut Vec<Line<'static>>, t: &Theme, cfg: &ClusterConfig) {
    if !cfg.addons.is_empty() {
        section(out, t, "Addons");
        for a in &cfg.addons {
            out.push(Line::raw(format!(
                "  {:<20}{}",
                a.name,
                a.version.as_deref().unwrap_or("default version")
            )));
        }
    }
    section(out, t, "IAM");
    field(
        out,
        t,
        "  OIDC",
        if cfg.iam.with_oidc {
            "withOIDC: IRSA enabled (CNI policy goes to an IRSA role)"
        } else {
            "off (CNI policy on the node role)"
        },
    );
    for sa in &cfg.iam.service_accounts {
        field(
            out,
            t,
            "  account",
            format!(
                "{}/{} {}",
                sa.namespace,
                sa.name,
                sa.attach_policy_arns.join(", ")
            ),
        );
    }
    if !cfg.logging.is_empty() {
        field(out, t, "logging", cfg.logging.join(", "));
    }
    if !cfg.node_groups.is_empty() {
        section(out, t, "Self-managed node groups");
        for g in &cfg.node_groups {
            out.push(Line::raw(format!(
                "  {:<16}{:<24}{:>4}{:>5}{:>5}",
                g.name,
                g.instance_types.join(","),
                g.min_size,
                g.desired_capacity,
                g.max_size
            )));
        }
    }
}

fn config_lines(
    out: &mut Vec<Line<'static>>,
    t: &Theme,
    file: &std::path::Path,
    cfg: Option<&StackConfig>,
) {
    section(out, t, &format!("Config ({})", file.display()));
    let Some(cfg) = cfg else {
        out.push(Line::styled("  not readable", t.error()));
        return;
    };
    let width = cfg
        .entries
        .iter()
        .map(|e| e.key.len())
        .max()
        .unwrap_or(0)
        .min(40);
    for e in &cfg.entries {
        let v = e.value.display();
        let style = if matches!(e.value, tierui_core::workspace::pulumi::ConfigValue::Secret) {
            t.muted()
        } else {
            Style::default()
        };
        out.push(Line::from(vec![
            Span::raw(format!("  {:<width$} ", e.key)),
            Span::styled(v, style),
        ]));
    }
}

fn pulumi_cluster(out: &mut Vec<Line<'static>>, t: &Theme, p: &PulumiStack) {
    config_lines(out, t, &p.config_file, p.config.as_ref());
    match (&p.checkpoint_file, &p.checkpoint) {
        (Some(file), Some(cp)) => {
            section(
                out,
                t,
                &format!(
                    "Checkpoint ({}, {})",
                    file.display(),
                    cp.time.as_deref().unwrap_or("never deployed")
                ),
            );
            for (k, v) in &cp.outputs {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                out.push(Line::raw(format!("  output {k:<20} {text}")));
            }
            out.push(Line::styled(
                format!("  resources ({})", cp.resources.len()),
                t.muted(),
            ));
            for r in &cp.resources {
                out.push(Line::raw(format!(
                    "  {:<48} {:<22} {}",
                    r.type_,
                    r.name,
                    r.id.as_deref().unwrap_or("")
                )));
            }
        }
        _ => {
            section(out, t, "Checkpoint");
            out.push(Line::styled(
                "  no file-backend checkpoint found (.pulumi/stacks/<project>/<stack>.json)",
                t.muted(),
            ));
        }
    }
}

/// The release's live story first: sync (each changed object with its paths),
/// health, what runs (ready pods, HPA with its replica history, a rollout) and
/// the last change to its objects.
fn story(out: &mut Vec<Line<'static>>, s: &State, i: usize) {
    use tierui_backends::release_state::Sync;
    let t = &s.theme;
    let sh = s.shown(i);
    let label = |name: &str| Span::styled(format!("{name:<10} "), t.muted());
    match &sh.sync {
        None => out.push(Line::from(vec![
            label("sync"),
            Span::styled("asking the cluster (server-side dry run)…", t.muted()),
        ])),
        Some(Sync::OutOfSync { objects }) => {
            out.push(Line::from(vec![
                label("sync"),
                Span::styled(
                    format!(
                        "OutOfSync: {} object{}",
                        objects.len(),
                        if objects.len() == 1 { "" } else { "s" }
                    ),
                    super::navigator::sync_style(t, sh.sync.as_ref().unwrap_or(&Sync::InSync)),
                ),
                Span::styled("  (D shows the diff)", t.muted()),
            ]));
            for o in objects {
                out.push(Line::raw(format!("           {}", o.short())));
            }
        }
        Some(x) => out.push(Line::from(vec![
            label("sync"),
            Span::styled(x.sentence(), super::navigator::sync_style(t, x)),
        ])),
    }
    match &sh.health {
        Some(h) => out.push(Line::from(vec![
            label("health"),
            Span::styled(h.sentence(), super::navigator::health_style(t, h)),
        ])),
        None if sh.sync.is_some() => out.push(Line::from(vec![
            label("health"),
            Span::styled("watching the cluster…", t.muted()),
        ])),
        None => {}
    }
    if let Some(live) = &sh.live {
        let mut line = live.line();
        let spark = crate::app::monitor::sparkline(&sh.history, 24);
        if live.hpa.is_some() && !spark.is_empty() {
            // The chart follows the HPA's part.
            line = match line.find(" · rollout") {
                Some(at) => format!("{} {spark}{}", &line[..at], &line[at..]),
                None => format!("{line} {spark}"),
            };
        }
        out.push(Line::from(vec![label("live"), Span::raw(line)]));
    }
    if sh.last_change.is_some() {
        out.push(Line::from(vec![
            label("changed"),
            Span::raw(crate::app::releases::change_text(
                s,
                sh.last_change.as_ref(),
            )),
        ]));
    }
    out.push(Line::default());
}

fn release(out: &mut Vec<Line<'static>>, s: &State, r: &Release) {
    let t = &s.theme;
    match &r.source {
        ReleaseSource::Pulumi(p) => field(
            out,
            t,
            "manager",
            format!("pulumi · {} · stack {}", p.project_dir.display(), p.stack),
        ),
        ReleaseSource::Kubectl {
            manifest_dir,
            chart: Some(chart),
            ..
        } => field(
            out,
            t,
            "manager",
            format!(
                "helm · {} · chart {}{}",
                manifest_dir.display(),
                chart.label(),
                chart
                    .app_version
                    .as_ref()
                    .map(|a| format!(" (app {a})"))
                    .unwrap_or_default()
            ),
        ),
        ReleaseSource::Kubectl {
            manifest_dir,
            kustomize,
            ..
        } => field(
            out,
            t,
            "manager",
            format!(
                "kubectl · {}{}",
                manifest_dir.display(),
                if *kustomize { " (kustomize)" } else { "" }
            ),
        ),
    }
    field(
        out,
        t,
        "cluster",
        format!(
            "{}   namespace {}",
            r.cluster.as_deref().unwrap_or("— (no cluster found)"),
            r.namespace
        ),
    );
    let sm = &r.summary;
    field(
        out,
        t,
        "image",
        sm.image.clone().unwrap_or_else(|| "—".into()),
    );
    let hpa = match sm.hpa_max {
        Some(max) => format!(
            "   HPA {}..{max}{}",
            sm.hpa_min.unwrap_or(1),
            sm.cpu_target
                .map(|c| format!(" cpu {c}%"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    field(
        out,
        t,
        "replicas",
        format!("{}{hpa}", sm.replicas.map_or("—".into(), |n| n.to_string())),
    );
    if let ReleaseSource::Pulumi(p) = &r.source {
        config_lines(out, t, &p.config_file, p.config.as_ref());
        if let Some(cp) = &p.checkpoint {
            field(
                out,
                t,
                "deployed",
                format!(
                    "{} resources at {} (checkpoint)",
                    cp.resources.iter().filter(|r| r.custom).count(),
                    cp.time.as_deref().unwrap_or("—")
                ),
            );
        }
    }
    desired_section(out, s, r);
}

/// The release's desired objects: how they were rendered, each object, the
/// program's failure (with its traceback) and the render's notes.
fn desired_section(out: &mut Vec<Line<'static>>, s: &State, r: &Release) {
    let t = &s.theme;
    let sm = &r.summary;
    let index = s.ws.releases.iter().position(|x| std::ptr::eq(x, r));
    let program = index.and_then(|i| s.programs.get(&i));
    let how = match (r.chart(), program) {
        (Some(_), Some(ProgramRender::Rendering)) => "rendering… (helm template)".to_string(),
        (Some(_), Some(ProgramRender::Failed(_))) => "helm template failed".to_string(),
        (Some(_), _) if sm.objects.is_empty() => "not rendered".to_string(),
        (Some(_), _) => "from helm template".to_string(),
        (None, _) => program_how(r, program),
    };
    section(
        out,
        t,
        &format!("Desired objects ({}, {how})", sm.objects.len()),
    );
    match &r.source {
        ReleaseSource::Kubectl {
            objects,
            chart: None,
            ..
        } => {
            for (file, m) in objects {
                out.push(Line::from(vec![
                    Span::raw(format!("  {:<36} ", m.display_name())),
                    Span::styled(format!("{}:{}", file.display(), m.pos.line), t.muted()),
                ]));
            }
        }
        ReleaseSource::Kubectl { .. } | ReleaseSource::Pulumi(_) => {
            out.extend(sm.objects.iter().map(|o| Line::raw(format!("  {o}"))))
        }
    }
    program_failure(out, s, program);
    for n in &sm.render_notes {
        out.push(Line::styled(format!("  note: {n}"), t.warn()));
    }
}

/// How a release's objects came to be, for the desired section's title.
fn program_how(r: &Release, program: Option<&ProgramRender>) -> String {
    match (&r.source, program) {
        (_, Some(ProgramRender::Rendering)) => {
            "rendering… (the program runs under the Pulumi SDK's mocks)".to_string()
        }
        (_, Some(ProgramRender::Ready)) => {
            "from the program, run under the Pulumi SDK's mocks".to_string()
        }
        (_, Some(ProgramRender::Failed(_))) => "the program failed".to_string(),
        (ReleaseSource::Pulumi(p), None)
            if p.project.as_ref().is_some_and(|p| p.runtime == "yaml") =>
        {
            "rendered natively from Pulumi.yaml".to_string()
        }
        (ReleaseSource::Pulumi(p), None) => format!(
            "runtime {}: no mock SDK to run it, only config values are compared",
            p.project.as_ref().map_or("unknown", |p| p.runtime.as_str())
        ),
        (ReleaseSource::Kubectl { .. }, None) => "from the manifest files".to_string(),
    }
}

/// A failed program (or chart) render: its error, traceback and fix.
fn program_failure(out: &mut Vec<Line<'static>>, s: &State, program: Option<&ProgramRender>) {
    let t = &s.theme;
    if let Some(ProgramRender::Failed(e)) = program {
        for (i, line) in e.lines().enumerate() {
            let style = if i == 0 { t.error() } else { t.muted() };
            for l in super::text::wrap(line, 100) {
                out.push(Line::styled(format!("  {l}"), style));
            }
        }
        if tierui_core::render::program::fix_of(e).is_some() {
            out.push(Line::styled(
                format!(
                    "  {} runs it (asks first)",
                    s.keymap.hint(Action::SetupProgram)
                ),
                t.accent(),
            ));
        }
    }
}
