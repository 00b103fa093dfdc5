//! Terminal setup and guaranteed restore: raw mode, alternate screen and mouse
//! capture are undone on drop, on panic (before the panic message prints) and
//! around a suspended `$EDITOR`.

use std::io::{Stdout, stdout};
use std::sync::Once;

use anyhow::Result;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use ratatui::DefaultTerminal;
use ratatui::prelude::CrosstermBackend;

pub struct Tui {
    pub terminal: DefaultTerminal,
}

static HOOK: Once = Once::new();

fn restore_raw() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

impl Tui {
    pub fn enter() -> Result<Tui> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_raw();
                previous(info);
            }));
        });
        let terminal = ratatui::try_init()?;
        execute!(stdout(), EnableMouseCapture)?;
        Ok(Tui { terminal })
    }

    /// Leaves the terminal to another program (e.g. `$EDITOR`) until `resume`.
    pub fn suspend(&mut self) {
        restore_raw();
    }

    pub fn resume(&mut self) -> Result<()> {
        self.terminal = ratatui::try_init()?;
        execute!(stdout(), EnableMouseCapture)?;
        self.terminal.clear()?;
        Ok(())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore_raw();
    }
}

/// The backend type, for code that is generic over terminals in tests.
pub type Backend = CrosstermBackend<Stdout>;
