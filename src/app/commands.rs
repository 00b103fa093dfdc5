//! The `:` command line: parsing and Tab completion.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Clusters,
    Releases,
    Problems,
    Help,
    Quit,
    Reload,
    Theme(String),
    Pods,
    Deploy,
    Hpa,
    Events,
    /// Live view of a cluster (its kube context).
    Ctx(String),
    /// Namespace of the live view (`all` for every namespace).
    Ns(String),
    /// Any other word: a kind the cluster serves (`:cronjobs`, `:sts`, `:pvc`), as in k9s.
    Kind(String),
    /// An empty line.
    Nothing,
}

/// (name, aliases, argument hint, description) — the help overlay lists these.
pub const COMMANDS: &[(&str, &[&str], &str, &str)] = &[
    ("clusters", &["cl"], "", "Go to the cluster stacks"),
    ("releases", &["rel"], "", "Go to the releases"),
    ("problems", &["pr"], "", "Go to the problems panel"),
    (
        "theme",
        &[],
        "<default|light|high-contrast|name>",
        "Switch colour theme",
    ),
    ("reload", &[], "", "Read the workspace from disk again"),
    (
        "pods",
        &["po", "pod"],
        "",
        "Live pods, HPA and events of the selection",
    ),
    (
        "deploy",
        &["deployments", "dp"],
        "",
        "Live deployments and rollouts",
    ),
    ("hpa", &[], "", "Live HPAs with every metric"),
    ("events", &["ev"], "", "Live events"),
    (
        "ctx",
        &["context"],
        "<cluster>",
        "Live view of a cluster (its kube context)",
    ),
    (
        "ns",
        &["namespace"],
        "<namespace|all>",
        "Namespace of the live view",
    ),
    ("help", &["h"], "", "Show help"),
    ("quit", &["q", "q!"], "", "Quit tierui"),
];

pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (name, arg) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(n, a)| (n, a.trim()));
    if name.is_empty() {
        return Ok(Command::Nothing);
    }
    let Some((canonical, _, hint, _)) = COMMANDS
        .iter()
        .find(|(n, aliases, _, _)| *n == name || aliases.contains(&name))
    else {
        // Anything else names a kind, as k9s reads `:cronjobs`.
        let kind_like = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if kind_like && arg.is_empty() {
            return Ok(Command::Kind(name.to_string()));
        }
        return Err(format!(
            "unknown command :{name} (Tab completes; ? lists commands)"
        ));
    };
    let needs_arg = !hint.is_empty();
    if needs_arg && arg.is_empty() {
        return Err(format!(":{canonical} needs an argument: {hint}"));
    }
    if !needs_arg && !arg.is_empty() {
        return Err(format!(":{canonical} takes no argument"));
    }
    Ok(match *canonical {
        "clusters" => Command::Clusters,
        "releases" => Command::Releases,
        "problems" => Command::Problems,
        "theme" => Command::Theme(arg.to_string()),
        "reload" => Command::Reload,
        "help" => Command::Help,
        "pods" => Command::Pods,
        "deploy" => Command::Deploy,
        "hpa" => Command::Hpa,
        "events" => Command::Events,
        "ctx" => Command::Ctx(arg.to_string()),
        "ns" => Command::Ns(arg.to_string()),
        _ => Command::Quit,
    })
}

/// Commands starting with the typed word, for completion and the hint line.
/// What `complete` asks `values` for to complete a command word with kinds.
pub const KINDS: &str = ":kinds";

pub fn candidates(prefix: &str) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .map(|c| c.0)
        .filter(|n| n.starts_with(prefix.trim()))
        .collect()
}

/// Where Tab completion is: the prefix typed before the first Tab and the
/// candidate shown now.
pub type Completion = Option<(String, usize)>;

/// Completes the command word; repeated Tabs cycle through the candidates.
/// `values` gives the argument values of a command (themes, clusters, namespaces).
pub fn complete(
    text: &str,
    state: &Completion,
    values: &dyn Fn(&str) -> Vec<String>,
) -> (String, Completion) {
    if let Some((cmd, arg)) = text.split_once(' ') {
        let canonical = COMMANDS
            .iter()
            .find(|(n, a, _, _)| *n == cmd || a.contains(&cmd))
            .map_or(cmd, |c| c.0);
        let options: Vec<String> = if canonical == "theme" {
            crate::app::theme::BUILTIN
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            values(canonical)
        };
        let prefix = state
            .as_ref()
            .map_or(arg.trim(), |(p, _)| p.as_str())
            .to_string();
        let matching: Vec<&String> = options.iter().filter(|o| o.starts_with(&prefix)).collect();
        return match (state, matching.as_slice()) {
            (_, []) => (text.to_string(), None),
            (None, [only]) => (format!("{cmd} {only}"), None),
            (None, [first, ..]) => (format!("{cmd} {first}"), Some((prefix, 0))),
            (Some((_, i)), _) => {
                let next = (i + 1) % matching.len();
                (format!("{cmd} {}", matching[next]), Some((prefix, next)))
            }
        };
    }
    if text.contains(char::is_whitespace) {
        return (text.to_string(), None);
    }
    let prefix = state.as_ref().map_or(text, |(p, _)| p.as_str()).to_string();
    // Commands first, then the kinds the cluster serves (`:KIND`).
    let mut list: Vec<String> = candidates(&prefix).into_iter().map(String::from).collect();
    for k in values(KINDS) {
        if k.starts_with(prefix.trim()) && !list.contains(&k) {
            list.push(k);
        }
    }
    match (state, list.as_slice()) {
        (_, []) => (text.to_string(), None),
        (None, [only]) => (format!("{only} "), None),
        (None, [first, ..]) => (first.to_string(), Some((prefix, 0))),
        (Some((_, i)), _) => {
            let next = (i + 1) % list.len();
            (list[next].to_string(), Some((prefix, next)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_and_errors() {
        assert_eq!(parse("clusters"), Ok(Command::Clusters));
        assert_eq!(parse(" q "), Ok(Command::Quit));
        assert_eq!(parse("theme light"), Ok(Command::Theme("light".into())));
        assert_eq!(parse(""), Ok(Command::Nothing));
        assert_eq!(
            parse("theme"),
            Err(":theme needs an argument: <default|light|high-contrast|name>".into())
        );
        assert_eq!(parse("cronjobs"), Ok(Command::Kind("cronjobs".into())));
        assert_eq!(
            parse("targetgroupbindings.elbv2.k8s.aws"),
            Ok(Command::Kind("targetgroupbindings.elbv2.k8s.aws".into()))
        );
        assert_eq!(
            parse("nope x"),
            Err("unknown command :nope (Tab completes; ? lists commands)".into())
        );
        assert_eq!(parse("reload now"), Err(":reload takes no argument".into()));
    }

    #[test]
    fn completion() {
        assert_eq!(
            complete("cl", &None, &|_| vec![]),
            ("clusters ".into(), None)
        );
        assert_eq!(complete("xyz", &None, &|_| vec![]), ("xyz".into(), None));
        let kinds = |w: &str| {
            if w == KINDS {
                vec!["cronjobs".to_string(), "cj".into(), "configmaps".into()]
            } else {
                vec![]
            }
        };
        assert_eq!(complete("cr", &None, &kinds), ("cronjobs ".into(), None));
        let (first, st) = complete("c", &None, &kinds);
        assert_eq!(first, "clusters");
        assert_eq!(complete(&first, &st, &kinds).0, "ctx");
        assert_eq!(complete("cj", &None, &kinds).0, "cj ");
        let (first, st) = complete("re", &None, &|_| vec![]);
        assert_eq!(first, "releases");
        let (second, st) = complete(&first, &st, &|_| vec![]);
        assert_eq!(second, "reload");
        assert_eq!(complete(&second, &st, &|_| vec![]).0, "releases");
        assert_eq!(
            complete("theme hi", &None, &|_| vec![]).0,
            "theme high-contrast"
        );
        let clusters = |c: &str| {
            if c == "ctx" {
                vec!["day".to_string(), "dawn".to_string(), "dusk".to_string()]
            } else {
                vec![]
            }
        };
        let (t, st) = complete("ctx d", &None, &clusters);
        assert_eq!(t, "ctx day");
        assert_eq!(complete(&t, &st, &clusters).0, "ctx dawn");
        assert_eq!(complete("context du", &None, &clusters).0, "context dusk");
    }
}
