//! Top line: workspace, mode, AWS profile/region, kube context.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::keymap::Action;
use crate::app::state::State;

/// The AWS profile and region in effect for the selected cluster.
pub fn aws_target(s: &State) -> (String, String) {
    let cluster = s.selected_cluster();
    let profile = s
        .session
        .aws_profile
        .clone()
        .or_else(|| cluster.and_then(|c| c.profile.clone()))
        .unwrap_or_else(|| "default".into());
    let region = s
        .session
        .aws_region
        .clone()
        .or_else(|| cluster.and_then(|c| c.region.clone()))
        .unwrap_or_else(|| "—".into());
    (profile, region)
}

pub fn draw(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let sep = Span::styled(" · ", t.muted());
    let mut left = vec![
        Span::styled(" tierui", t.title()),
        sep.clone(),
        Span::styled(s.ws.name.clone(), t.accent()),
        Span::raw(" "),
    ];
    if s.session.sandbox {
        left.push(Span::styled(" sandbox ", t.badge("sandbox")));
    } else {
        left.push(Span::styled(" live ", t.badge("live")));
    }
    if s.session.readonly {
        left.push(Span::raw(" "));
        left.push(Span::styled(" readonly ", t.badge("readonly")));
    }
    let (profile, region) = aws_target(s);
    let aws = if s.session.sandbox {
        format!("aws: sandbox cloud/{region}")
    } else if let Some(url) = &s.session.endpoint_url {
        format!("aws: {profile}/{region} @ {url}")
    } else {
        format!("aws: {profile}/{region}")
    };
    let kube = match s.selected_cluster() {
        Some(c) if s.session.sandbox => format!("kube: sim/{}", c.name),
        Some(c) => match s.contexts.get(&c.name) {
            Some(Ok((context, why))) => {
                format!("kube: {context} ({why})")
            }
            Some(Err(e)) => format!("kube: none — {e}"),
            None => "kube: finding the context…".into(),
        },
        None => "kube: —".into(),
    };
    left.extend([
        sep.clone(),
        Span::styled(aws, t.base()),
        sep,
        Span::styled(kube, t.base()),
    ]);
    let right = format!(
        "{} help  {} cmd ",
        s.keymap.hint(Action::Help),
        s.keymap.hint(Action::Command)
    );
    let used: usize = left.iter().map(|sp| sp.width()).sum();
    let room = usize::from(area.width).saturating_sub(used);
    if room > right.len() {
        left.push(Span::raw(" ".repeat(room - right.len())));
        left.push(Span::styled(right, t.muted()));
    }
    f.render_widget(Paragraph::new(Line::from(left)), area);
}
