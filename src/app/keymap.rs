//! The keymap as data: default bindings, user overrides from `<config>/keymap.toml`,
//! and the help overlay generated from it.
//!
//! ```toml
//! # keymap.toml — sections are screens, keys are action names, values are keys.
//! [global]
//! quit = ["q", "ctrl-c"]
//! [home]
//! problems = "P"
//! ```
//! A binding set here replaces that action's default keys; everything else stays.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Result, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where an action applies. Screen scopes are consulted before `Global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Global,
    Home,
    Walkthrough,
    Editor,
    Diff,
    Live,
    Releases,
    Logs,
    Compare,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Home => "home",
            Scope::Walkthrough => "walkthrough",
            Scope::Editor => "editor",
            Scope::Diff => "diff",
            Scope::Live => "live",
            Scope::Releases => "releases",
            Scope::Logs => "logs",
            Scope::Compare => "compare",
        }
    }

    fn from_name(s: &str) -> Option<Scope> {
        [
            Scope::Global,
            Scope::Home,
            Scope::Walkthrough,
            Scope::Editor,
            Scope::Diff,
            Scope::Live,
            Scope::Releases,
            Scope::Logs,
            Scope::Compare,
        ]
        .into_iter()
        .find(|sc| sc.name() == s)
    }
}

/// Declares the actions and their table together, so no action can lack its name,
/// description, scope or default keys.
macro_rules! actions {
    ($($variant:ident, $name:literal, $desc:literal, $scope:ident, [$($key:literal),*];)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant),*
        }

        /// (action, config name, description, scope, default keys)
        const TABLE: &[(Action, &str, &str, Scope, &[&str])] = &[
            $((Action::$variant, $name, $desc, Scope::$scope, &[$($key),*])),*
        ];
    };
}

actions! {
    Help, "help", "Show this help", Global, ["?"];
    Command, "command", "Command line (:clusters, :releases, :theme …)", Global, [":"];
    Filter, "filter", "Filter the list", Global, ["/"];
    Back, "back", "Back / close overlay / clear filter", Global, ["esc"];
    Quit, "quit", "Quit (back first when something is open)", Global, ["q", "ctrl-c"];
    NextPane, "next_pane", "Next pane", Global, ["tab"];
    PrevPane, "prev_pane", "Previous pane", Global, ["backtab"];
    Up, "up", "Move up", Global, ["k", "up"];
    Down, "down", "Move down", Global, ["j", "down"];
    PageUp, "page_up", "Page up", Global, ["pgup", "ctrl-u"];
    PageDown, "page_down", "Page down", Global, ["pgdn", "ctrl-d"];
    Top, "top", "First item", Global, ["g", "home"];
    Bottom, "bottom", "Last item", Global, ["G", "end"];
    Open, "open", "Open the selection", Global, ["enter"];
    Refresh, "refresh", "Reload the workspace and ask AWS again", Global, ["r"];

    ToggleProblems, "problems", "Show or hide the problems panel", Home, ["p"];
    Walkthrough, "walkthrough", "Walk through creating the selected (eksctl) cluster", Home, ["w"];
    HelmValues, "helm_values", "Show or hide the values of the cluster's Helm releases", Home, ["v"];
    RunStep, "run_step", "Run the selected step", Walkthrough, ["enter"];
    RunAll, "run_all", "Run every remaining step to the end", Walkthrough, ["R"];
    Pause, "pause", "Pause after the current call", Walkthrough, ["p"];
    Retry, "retry", "Retry the selected failed step", Walkthrough, ["x"];
    Teardown, "teardown", "Delete everything the walkthrough created (asks first)", Walkthrough, ["T"];
    Edit, "edit", "Edit the selection's source file in tierui", Home, ["e"];
    ExternalEdit, "external_edit", "Edit the source file in $EDITOR", Home, ["E"];
    ShowDiff, "diff", "Diff: edit, render and drift of the release", Home, ["D"];
    SetTag, "set_tag", "Set the release's image tag", Home, ["t"];
    SetReplicas, "set_replicas", "Set the release's replicas", Home, ["n"];
    SetHpaMin, "set_hpa_min", "Set the HPA minimum", Home, ["h"];
    SetHpaMax, "set_hpa_max", "Set the HPA maximum", Home, ["H"];
    NextChange, "next_change", "Next change", Diff, ["]"];
    PrevChange, "prev_change", "Previous change", Diff, ["["];
    SideBySide, "side_by_side", "Unified or side-by-side", Diff, ["s"];
    ShowEdit, "show_edit", "The edit (file before and after)", Diff, ["1"];
    ShowRender, "show_render", "The render (objects before and after)", Diff, ["2"];
    ShowDrift, "show_drift", "The drift (desired against live)", Diff, ["3"];
    Save, "save", "Save the edit", Diff, ["ctrl-s"];
    Apply, "apply", "Apply the release (shows the drift first, then asks)", Global, ["a"];
    Live, "live", "Live view of the selected release or cluster", Home, ["l"];
    LiveAll, "live_all", "The release's pods in every cluster side by side", Home, ["L"];
    SetupProgram, "setup", "Set up the release's Pulumi environment (asks)", Home, ["I"];
    Yaml, "yaml", "The selected object's YAML", Live, ["y"];
    Describe, "describe", "Describe the selected object", Live, ["d"];
    TabPods, "tab_pods", "Pods, HPA and events", Live, ["1"];
    TabDeploy, "tab_deploy", "Deployments and rollouts", Live, ["2"];
    TabHpa, "tab_hpa", "HPAs in full", Live, ["3"];
    TabEvents, "tab_events", "Events", Live, ["4"];
    SortName, "sort_name", "Sort by name (again: reverse)", Live, ["N"];
    SortReady, "sort_ready", "Sort by ready", Live, ["Y"];
    SortStatus, "sort_status", "Sort by status", Live, ["S"];
    SortRestarts, "sort_restarts", "Sort by restarts", Live, ["R"];
    SortAge, "sort_age", "Sort by age", Live, ["A"];
    SortNode, "sort_node", "Sort by node", Live, ["O"];
    SortCpu, "sort_cpu", "Sort by CPU", Live, ["C"];
    SortMemory, "sort_memory", "Sort by memory", Live, ["M"];
    ScrollLeft, "scroll_left", "Scroll the detail pane left (h while it has focus)", Home, ["left"];
    ScrollRight, "scroll_right", "Scroll the detail pane right (l while it has focus)", Home, ["right"];
    Logs, "logs", "Logs of the selected pod, or of every pod of the selected Deployment (Enter on a pod too)", Live, ["o"];
    ReleaseLogs, "logs", "Logs of every pod of the selected release, merged", Home, ["o"];
    Undo, "undo", "Roll the selected Deployment back to an earlier revision (asks)", Live, ["u"];
    ReleaseUndo, "undo", "Roll the release back: a Deployment revision, or a Pulumi deployment's config", Home, ["u"];
    Migrate, "migrate", "Move the release between kubectl YAML and a Pulumi app stack: the proof first, then asks to write", Home, ["M"];
    Compare, "compare", "The release's environment beside another of its service: config, then rendered objects", Home, ["="];
    Promote, "promote", "Promote the left value (config, image tag, replicas, HPA bounds) to the right environment, as an edit with its diffs", Compare, ["P"];
    LogPause, "pause", "Pause or resume following (counts new lines)", Logs, ["space"];
    LogWrap, "wrap", "Wrap long lines", Logs, ["w"];
    LogTimestamps, "timestamps", "Show each line's time", Logs, ["t"];
    LogPrevious, "previous", "The previous container (after a restart): why it crashed", Logs, ["p"];
    LogContainer, "container", "Choose a container (multi-container pods)", Logs, ["c"];
    LogSave, "save", "Save the lines to a file in the current folder (asks the name)", Logs, ["s"];
    LogTail, "tail", "Last N lines of each container (asks N)", Logs, ["T"];
    LogSinceAll, "since_all", "Since: everything", Logs, ["0"];
    LogSince1m, "since_1m", "Since: 1 minute", Logs, ["1"];
    LogSince5m, "since_5m", "Since: 5 minutes", Logs, ["2"];
    LogSince15m, "since_15m", "Since: 15 minutes", Logs, ["3"];
    LogSince30m, "since_30m", "Since: 30 minutes", Logs, ["4"];
    LogSince1h, "since_1h", "Since: 1 hour", Logs, ["5"];
    NextMatch, "next_match", "Next search match", Logs, ["n"];
    PrevMatch, "prev_match", "Previous search match", Logs, ["N"];
    SortService, "sort_service", "Sort by service (again: reverse)", Releases, ["N"];
    SortCluster, "sort_cluster", "Sort by cluster", Releases, ["C"];
    SortSync, "sort_sync", "Sort by sync (out of sync first)", Releases, ["S"];
    SortHealth, "sort_health", "Sort by health (degraded first)", Releases, ["H"];
    SortChange, "sort_change", "Sort by last change (newest first)", Releases, ["A"];
}

impl Action {
    fn row(
        self,
    ) -> &'static (
        Action,
        &'static str,
        &'static str,
        Scope,
        &'static [&'static str],
    ) {
        // Every action has exactly one row; the test below keeps it that way.
        TABLE.iter().find(|r| r.0 == self).unwrap_or(&TABLE[0])
    }
    pub fn name(self) -> &'static str {
        self.row().1
    }
    pub fn description(self) -> &'static str {
        self.row().2
    }
    pub fn scope(self) -> Scope {
        self.row().3
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        // Shift is part of the character itself ("G", "?"); keep it only for keys without one.
        if !matches!(ev.code, KeyCode::Char(_)) {
            mods |= ev.modifiers & KeyModifiers::SHIFT;
        }
        let code = match ev.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::BackTab => KeyCode::BackTab,
            other => other,
        };
        let mods = if code == KeyCode::BackTab {
            mods - KeyModifiers::SHIFT
        } else {
            mods
        };
        Key { code, mods }
    }

    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" => KeyCode::PageUp,
            "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            f if f.starts_with('f') && f.len() > 1 => KeyCode::F(f[1..].parse().ok()?),
            c if c.chars().count() == 1 => {
                let ch = c.chars().next()?;
                KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                    ch.to_ascii_lowercase()
                } else {
                    ch
                })
            }
            _ => return None,
        };
        Some(Key { code, mods })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::F(n) => write!(f, "F{n}"),
            _ => f.write_str("?"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Keys per action, in the order they were given.
    keys: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = TABLE
            .iter()
            .map(|(a, _, _, _, ks)| (*a, ks.iter().filter_map(|k| Key::parse(k)).collect()))
            .collect();
        Keymap { keys }
    }
}

impl Keymap {
    /// Defaults plus `<config>/keymap.toml` when it exists.
    pub fn load(config_dir: &Path) -> Result<Keymap> {
        let path = config_dir.join("keymap.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Keymap::from_toml(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keymap::default()),
            Err(e) => bail!("{}: {e}", path.display()),
        }
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<Keymap> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let pos = e
                .span()
                .map(|s| line_col(text, s.start))
                .unwrap_or_default();
            anyhow::anyhow!("{origin}{pos} {}", e.message())
        })?;
        let mut map = Keymap::default();
        for (section, value) in &table {
            let Some(scope) = Scope::from_name(section) else {
                bail!(
                    "{origin}: unknown section [{section}] (sections: global, home, walkthrough, editor, diff, live, releases, logs)"
                );
            };
            let Some(bindings) = value.as_table() else {
                bail!("{origin}: [{section}] must be a table of action = keys");
            };
            for (name, keys) in bindings {
                let Some(action) = TABLE
                    .iter()
                    .find(|r| r.1 == name && r.3 == scope)
                    .map(|r| r.0)
                else {
                    bail!("{origin}: [{section}] has no action \"{name}\"");
                };
                let list: Vec<&str> = match keys {
                    toml::Value::String(s) => vec![s.as_str()],
                    toml::Value::Array(a) => a.iter().filter_map(toml::Value::as_str).collect(),
                    _ => bail!("{origin}: {section}.{name} must be a key or a list of keys"),
                };
                let mut parsed = Vec::new();
                for k in list {
                    parsed.push(Key::parse(k).ok_or_else(|| anyhow::anyhow!("{origin}: {section}.{name}: \"{k}\" is not a key (examples: q, G, ctrl-s, enter, pgdn, f5)"))?);
                }
                map.keys.insert(action, parsed);
            }
        }
        Ok(map)
    }

    /// The action for a key on a screen: the screen's own bindings first, then global.
    pub fn action(&self, scope: Scope, key: Key) -> Option<Action> {
        let find = |sc: Scope| {
            self.keys
                .iter()
                .find(|(a, ks)| a.scope() == sc && ks.contains(&key))
                .map(|(a, _)| *a)
        };
        find(scope).or_else(|| find(Scope::Global))
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map_or(&[], Vec::as_slice)
    }

    /// First key of an action as shown in hints ("?" for help).
    pub fn hint(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(|| "—".into(), Key::to_string)
    }

    /// Help rows for a screen: (keys, description), screen actions first.
    pub fn help(&self, scope: Scope) -> Vec<(String, &'static str)> {
        let mut rows: Vec<_> = TABLE
            .iter()
            .filter(|r| r.3 == scope || r.3 == Scope::Global)
            .map(|r| {
                let keys = self
                    .keys(r.0)
                    .iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                (r.3 != scope, keys, r.2)
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        rows.into_iter().map(|(_, k, d)| (k, d)).collect()
    }
}

fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    format!(
        ":{}:{}",
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn every_action_has_one_row() {
        let mut seen = std::collections::BTreeSet::new();
        for r in TABLE {
            assert!(seen.insert(r.0), "{:?} twice", r.0);
            assert_eq!(r.0.name(), r.1);
        }
    }

    #[test]
    fn defaults_and_scopes() {
        let k = Keymap::default();
        assert_eq!(k.action(Scope::Home, key("j")), Some(Action::Down));
        assert_eq!(
            k.action(Scope::Home, key("p")),
            Some(Action::ToggleProblems)
        );
        assert_eq!(k.action(Scope::Global, key("p")), None);
        assert_eq!(k.action(Scope::Home, key("ctrl-c")), Some(Action::Quit));
    }

    #[test]
    fn overrides_replace_one_action() {
        let k = Keymap::from_toml(
            "[global]\nquit = \"x\"\n[home]\nproblems = [\"P\", \"f2\"]\n",
            "keymap.toml",
        )
        .unwrap();
        assert_eq!(k.action(Scope::Home, key("x")), Some(Action::Quit));
        assert_eq!(k.action(Scope::Home, key("q")), None);
        assert_eq!(
            k.action(Scope::Home, key("f2")),
            Some(Action::ToggleProblems)
        );
        assert_eq!(k.action(Scope::Home, key("j")), Some(Action::Down));
    }

    #[test]
    fn override_errors_are_precise() {
        let e = Keymap::from_toml("[global]\nfly = \"f\"\n", "keymap.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "keymap.toml: [global] has no action \"fly\"");
        let e = Keymap::from_toml("[global]\nquit = \"hyper-q\"\n", "keymap.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"hyper-q\" is not a key"), "{e}");
        let e = Keymap::from_toml("[global\n", "keymap.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("keymap.toml:1:"), "{e}");
    }

    #[test]
    fn key_events_normalise_shift_and_ctrl() {
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), key("G"));
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), key("backtab"));
        let ev = KeyEvent::new(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(Key::from_event(&ev), key("ctrl-c"));
        assert_eq!(key("ctrl-s").to_string(), "Ctrl-s");
    }

    #[test]
    fn help_lists_screen_actions_first() {
        let rows = Keymap::default().help(Scope::Home);
        assert_eq!(
            rows[0],
            ("p".to_string(), "Show or hide the problems panel")
        );
        assert!(
            rows.iter()
                .any(|(k, d)| k == "q Ctrl-c" && d.starts_with("Quit"))
        );
    }
}
