//! Colour themes: TOML files in `themes/` (embedded), overridable from the config dir.
//!
//! Resolution: `--theme NAME` (or `theme.toml`'s `base`, else `default`) picks a
//! base; `<config>/themes/NAME.toml` may define new ones; `<config>/theme.toml`
//! overrides single colours. With `NO_COLOR` set every colour is dropped and the UI
//! relies on bold, underline and reverse video instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr as _;

/// Whether NO_COLOR asks for no colour (set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

use anyhow::{Context as _, Result, bail};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const BUILTIN: &[&str] = &["default", "light", "high-contrast"];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub monochrome: bool,
    colors: BTreeMap<String, Color>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    base: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

/// Every colour key a theme must define.
pub const KEYS: &[&str] = &[
    "fg",
    "bg",
    "muted",
    "accent",
    "border",
    "border_focus",
    "title",
    "selection_fg",
    "selection_bg",
    "header",
    "ok",
    "warn",
    "error",
    "info",
    "badge_fg",
    "badge_sandbox",
    "badge_live",
    "badge_readonly",
    "added",
    "removed",
    "changed",
    "added_bg",
    "removed_bg",
];

fn builtin_text(name: &str) -> Option<&'static str> {
    let bytes = tierui_core::demo::file(&format!("themes/{name}.toml"))?;
    std::str::from_utf8(bytes).ok()
}

fn parse_file(text: &str, origin: &str) -> Result<ThemeFile> {
    toml::from_str(text).map_err(|e| {
        let pos = e.span().map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(":{line}:{col}")
        });
        anyhow::anyhow!("{origin}{} {}", pos.unwrap_or_default(), e.message())
    })
}

fn apply(colors: &mut BTreeMap<String, Color>, file: &ThemeFile, origin: &str) -> Result<()> {
    for (key, value) in &file.colors {
        if !KEYS.contains(&key.as_str()) {
            bail!(
                "{origin}: unknown colour key \"{key}\" (known: {})",
                KEYS.join(", ")
            );
        }
        let color = Color::from_str(value).map_err(|_| {
            anyhow::anyhow!(
                "{origin}: colour {key} = \"{value}\" is not a colour name, #rrggbb or 0-255"
            )
        })?;
        colors.insert(key.clone(), color);
    }
    Ok(())
}

impl Theme {
    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme> {
        let text = builtin_text(name)
            .with_context(|| format!("no theme named {name} (built in: {})", BUILTIN.join(", ")))?;
        let file = parse_file(text, &format!("themes/{name}.toml"))?;
        let mut colors = BTreeMap::new();
        apply(&mut colors, &file, name)?;
        if let Some(missing) = KEYS.iter().find(|k| !colors.contains_key(**k)) {
            bail!("theme {name} lacks colour {missing}");
        }
        Ok(Theme {
            name: file.name.unwrap_or_else(|| name.to_string()),
            monochrome: false,
            colors,
        })
    }

    /// Resolves the theme to use from the CLI choice, the config dir and `NO_COLOR`.
    pub fn load(choice: Option<&str>, config_dir: &Path, no_color: bool) -> Result<Theme> {
        let user_file = config_dir.join("theme.toml");
        let user = match std::fs::read_to_string(&user_file) {
            Ok(text) => Some(parse_file(&text, &user_file.display().to_string())?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => bail!("{}: {e}", user_file.display()),
        };
        let base = choice
            .map(str::to_string)
            .or_else(|| user.as_ref().and_then(|u| u.base.clone()))
            .unwrap_or_else(|| "default".into());
        let mut theme = match Theme::builtin(&base) {
            Ok(t) => t,
            Err(builtin_err) => {
                let custom = config_dir.join("themes").join(format!("{base}.toml"));
                let text = std::fs::read_to_string(&custom).map_err(|_| builtin_err)?;
                let file = parse_file(&text, &custom.display().to_string())?;
                let mut t = Theme::builtin(file.base.as_deref().unwrap_or("default"))?;
                apply(&mut t.colors, &file, &custom.display().to_string())?;
                t.name = file.name.unwrap_or(base.clone());
                t
            }
        };
        // The user's overrides apply to whichever base was chosen.
        if let Some(u) = &user {
            apply(&mut theme.colors, u, &user_file.display().to_string())?;
        }
        theme.monochrome = no_color;
        Ok(theme)
    }

    pub fn color(&self, key: &str) -> Color {
        if self.monochrome {
            return Color::Reset;
        }
        self.colors.get(key).copied().unwrap_or(Color::Reset)
    }

    fn fg(&self, key: &str) -> Style {
        Style::default().fg(self.color(key))
    }

    pub fn base(&self) -> Style {
        self.fg("fg").bg(self.color("bg"))
    }
    pub fn muted(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            self.fg("muted")
        }
    }
    pub fn accent(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            self.fg("accent")
        }
    }
    pub fn header(&self) -> Style {
        self.fg("header").add_modifier(Modifier::BOLD)
    }
    pub fn title(&self) -> Style {
        self.fg("title").add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.monochrome) {
            (true, true) => Style::default().add_modifier(Modifier::BOLD),
            (true, false) => self.fg("border_focus"),
            (false, _) => self.fg("border"),
        }
    }
    pub fn selection(&self, focused: bool) -> Style {
        if self.monochrome || !focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
                .fg(self.color("selection_fg"))
                .bg(self.color("selection_bg"))
        }
    }
    pub fn ok(&self) -> Style {
        self.fg("ok")
    }
    pub fn warn(&self) -> Style {
        self.fg("warn")
    }
    pub fn error(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            self.fg("error")
        }
    }
    pub fn info(&self) -> Style {
        self.fg("info")
    }
    pub fn added(&self) -> Style {
        self.fg("added")
    }
    pub fn removed(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::CROSSED_OUT)
        } else {
            self.fg("removed")
        }
    }
    pub fn changed(&self) -> Style {
        self.fg("changed")
    }
    /// Word-level highlight inside an added or removed line.
    pub fn word_added(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        } else {
            self.fg("added")
                .bg(self.color("added_bg"))
                .add_modifier(Modifier::BOLD)
        }
    }
    pub fn word_removed(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        } else {
            self.fg("removed")
                .bg(self.color("removed_bg"))
                .add_modifier(Modifier::BOLD)
        }
    }
    /// Mode badge in the status bar.
    pub fn badge(&self, kind: &str) -> Style {
        if self.monochrome {
            return Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        Style::default()
            .fg(self.color("badge_fg"))
            .bg(self.color(&format!("badge_{kind}")))
            .add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_complete() {
        for name in BUILTIN {
            let t = Theme::builtin(name).unwrap();
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn user_overrides_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("theme.toml"),
            "base = \"light\"\n[colors]\naccent = \"#ff0000\"\n",
        )
        .unwrap();
        let t = Theme::load(None, dir.path(), false).unwrap();
        assert_eq!(t.name, "light");
        assert_eq!(t.color("accent"), Color::Rgb(255, 0, 0));
        std::fs::write(
            dir.path().join("theme.toml"),
            "[colors]\naccent = \"blurple\"\n",
        )
        .unwrap();
        let e = Theme::load(None, dir.path(), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("colour accent = \"blurple\" is not a colour name, #rrggbb or 0-255"),
            "{e}"
        );
        std::fs::write(dir.path().join("theme.toml"), "[colors\n").unwrap();
        let e = Theme::load(None, dir.path(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("theme.toml:1:"), "{e}");
    }

    #[test]
    fn custom_theme_files_and_no_color() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/solar.toml"),
            "base = \"light\"\n[colors]\nok = \"blue\"\n",
        )
        .unwrap();
        let t = Theme::load(Some("solar"), dir.path(), false).unwrap();
        assert_eq!((t.name.as_str(), t.color("ok")), ("solar", Color::Blue));
        let t = Theme::load(Some("default"), dir.path(), true).unwrap();
        assert_eq!(t.color("accent"), Color::Reset);
        assert!(Theme::load(Some("nope"), dir.path(), false).is_err());
    }
}
