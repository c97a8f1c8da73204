//! What a person at a terminal gets and a pipe does not: colour (never with `NO_COLOR`,
//! <https://no-color.org>), progress bars on stderr for long work, aligned tables.
//! Redirected to a file or read by a script, the output is plain text without escapes.
//!
//! Every line onboardctl prints goes through [`out!`]/[`err!`] (or [`say`]), which pass it
//! through [`printable`]: records, policies, handshakes and error messages carry text that
//! customers and other organizations control (a policy's values, an enrollment's name, an
//! AWS message), and a terminal obeys the escape sequences in it (move the cursor, erase
//! the screen, retitle the window, write the clipboard, hide or reorder text). Those are
//! shown escaped instead; only the colour this module paints passes, at a colour terminal.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::OnceLock;
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
        print_line(line.as_ref());
    } else {
        bar.suspend(|| print_line(line.as_ref()));
    }
}

/// Prints a formatted line on stdout through [`printable`] (the only way onboardctl prints).
macro_rules! out {
    () => { $crate::terminal::print_line("") };
    ($($arg:tt)*) => { $crate::terminal::print_line(&format!($($arg)*)) };
}

/// Prints a formatted line on stderr through [`printable`].
macro_rules! err {
    ($($arg:tt)*) => { $crate::terminal::eprint_line(&format!($($arg)*)) };
}
pub(crate) use {err, out};

/// Whether stdout shows colour: [`Terminal::detect`]'s answer, asked once.
fn colour_on() -> bool {
    static COLOUR: OnceLock<bool> = OnceLock::new();
    *COLOUR.get_or_init(|| Terminal::detect().color)
}

#[allow(clippy::print_stdout)]
pub fn print_line(line: &str) {
    println!("{}", printable(line, colour_on()));
}

/// Prints `text` on stdout as it is (its own line ends), through [`printable`].
#[allow(clippy::print_stdout)]
pub fn print_text(text: &str) {
    print!("{}", printable(text, colour_on()));
}

#[allow(clippy::print_stderr)]
pub fn eprint_line(line: &str) {
    // stderr is never painted: nothing passes.
    eprintln!("{}", printable(line, false));
}

/// `text` safe to show on a terminal: every control character but newline and tab (C0,
/// DEL, C1, hence every escape sequence's introducer) and every bidirectional control
/// (which reorders what is shown, "Trojan Source") written as its Rust escape (`\u{1b}`).
/// With `keep_colour`, a colour sequence (SGR: `ESC [` digits and `;`, then `m`) passes
/// as it is, for the colour this module and the tables paint.
pub fn printable(text: &str, keep_colour: bool) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if keep_colour && c == '\u{1b}' {
            if let Some(len) = colour_sequence(rest) {
                shown.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if unsafe_char(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(shown)
}

fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The length of the SGR sequence `text` starts with (`ESC [ [0-9;]* m`), if it does.
fn colour_sequence(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// The table as text, with trailing spaces trimmed (comfy-table pads the last column).
pub fn render(table: &Table) -> String {
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a customer can put in a policy value, an enrollment name or an AWS message.
    const HOSTILE: &str = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\r\u{9b}31m\u{202e}txt.exe";

    #[test]
    fn control_characters_and_escape_sequences_are_shown_escaped() {
        let shown = printable(HOSTILE, false);
        assert!(!shown.chars().any(unsafe_char), "{shown}");
        assert_eq!(
            shown,
            "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{1b}[31mred\\u{d}\\u{9b}31m\\u{202e}txt.exe"
        );
    }

    #[test]
    fn at_a_colour_terminal_only_colour_passes() {
        let shown = printable(HOSTILE, true);
        // The colour sequence passes; the title, the erase, CR, C1 and the bidi override
        // do not.
        assert!(shown.contains("\u{1b}[31mred"), "{shown}");
        assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
        assert!(shown.contains("\\u{1b}[2J"), "{shown}");
        assert!(
            shown.contains("\\u{d}") && shown.contains("\\u{9b}") && shown.contains("\\u{202e}")
        );
        let painted = Terminal {
            color: true,
            progress: false,
        }
        .red("x");
        assert_eq!(printable(&painted, true), painted);
    }

    #[test]
    fn plain_text_lines_and_tabs_are_left_as_they_are() {
        let text = "acme  222222222222  Joined\n\tnext: none, été, 東京";
        assert!(matches!(printable(text, false), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn a_table_of_customer_text_prints_escaped() {
        let terminal = Terminal::plain();
        let mut table = terminal.table(&["enrollment", "message"]);
        table.add_row(vec!["acme\u{1b}[2J", "policy \u{1b}]52;c;c2VjcmV0\u{7}"]);
        let shown = printable(&render(&table), false).into_owned();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert!(shown.contains("acme\\u{1b}[2J"), "{shown}");
    }
}
