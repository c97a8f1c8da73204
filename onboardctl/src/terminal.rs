//! What a person at a terminal gets and a pipe does not: colour (never with `NO_COLOR`,
//! <https://no-color.org>), progress bars on stderr for long work, aligned tables.
//! Redirected to a file or read by a script, the output is plain text without escapes.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use onboarding::domain::Phase;

#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// stdout is a terminal and `NO_COLOR` is unset or empty.
    color: bool,
    /// stderr is a terminal: progress bars are drawn there.
    progress: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            color: std::io::stdout().is_terminal() && !no_color,
            progress: std::io::stderr().is_terminal(),
        }
    }

    /// No colour, no progress: what a pipe gets.
    #[cfg(test)]
    pub fn plain() -> Self {
        Self {
            color: false,
            progress: false,
        }
    }

    /// A table in the house layout: no borders, two spaces between columns.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.iter().map(|h| Cell::new(*h)));
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        if self.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
    }

    /// A phase, green once joined, when colour is on.
    pub fn phase_cell(&self, phase: Phase, text: String) -> Cell {
        let cell = Cell::new(text);
        match (self.color, phase) {
            (true, Phase::Joined | Phase::Transferred) => cell.fg(Color::Green),
            _ => cell,
        }
    }

    /// Blocker codes, when colour is on: red when AWS refused something, yellow when
    /// every blocker is only predicted by the preflight.
    pub fn blockers_cell(&self, codes: String, only_predicted: bool) -> Cell {
        let cell = Cell::new(&codes);
        match (self.color, codes == "-", only_predicted) {
            (false, _, _) | (true, true, _) => cell,
            (true, false, true) => cell.fg(Color::Yellow),
            (true, false, false) => cell.fg(Color::Red),
        }
    }

    /// Text in bold (a heading in a report), when colour is on.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Text in red (what will fail), when colour is on.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Text in yellow (what a person should look at), when colour is on.
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Text in green (nothing to do), when colour is on.
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{sgr}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    /// A bar of `total` steps on stderr, hidden when stderr is not a terminal.
    pub fn bar(&self, total: u64, what: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)")
                .expect("a valid progress template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }

    /// A spinner for work of unknown length (a sweep), hidden off a terminal.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        spinner.set_message(what.to_owned());
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }
}

/// Prints a line on stdout without tearing a progress bar drawn on stderr.
pub fn say(bar: &ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        println!("{}", line.as_ref());
    } else {
        bar.suspend(|| println!("{}", line.as_ref()));
    }
}

/// The table as text, with trailing spaces trimmed (comfy-table pads the last column).
pub fn render(table: &Table) -> String {
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}
