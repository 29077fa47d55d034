//! The position oracle: an offset inside its text, on a character boundary, with the line
//! and column an independent scan gives it.

use super::oracles::{finding, Finding};

/// `offset` is inside `text`, on a character boundary, and on `line` at `column`.
pub(super) fn position(
    text: &str,
    offset: usize,
    line: usize,
    column: usize,
    what: &str,
    out: &mut Vec<Finding>,
) {
    if offset > text.len() || !text.is_char_boundary(offset) {
        out.push(finding(
            "position",
            what.to_owned(),
            format!("{what} at byte {offset} of a {}-byte text", text.len()),
        ));
        return;
    }
    let expected = scan(text)[offset];
    if expected != (line, column) {
        out.push(finding(
            "position",
            what.to_owned(),
            format!(
                "{what} reported at {line}:{column}, but its offset {offset} is at {}:{}",
                expected.0, expected.1
            ),
        ));
    }
}

/// The line and column of every byte offset of one text.
type Scan = std::rc::Rc<Vec<(usize, usize)>>;

thread_local! {
    /// The texts of the current input scanned so far, by address and length (they all live
    /// until the input is done; `check` empties this first).
    pub(super) static SCANNED: std::cell::RefCell<std::collections::HashMap<(usize, usize), Scan>> =
        std::cell::RefCell::default();
}

/// The line and column of every byte offset of `text` (those inside a character repeat
/// the character's), found by one scan independent of topo's line index: `\n`, `\r\n` and
/// a lone `\r` end a line (as YAML counts), a byte-order mark is no column.
fn scan(text: &str) -> Scan {
    SCANNED.with(|cell| {
        let mut cache = cell.borrow_mut();
        let key = (text.as_ptr() as usize, text.len());
        if let Some(positions) = cache.get(&key) {
            return std::rc::Rc::clone(positions);
        }
        {
            let mut positions = Vec::with_capacity(text.len() + 1);
            let (mut line, mut column) = (1, 1);
            for (i, c) in text.char_indices() {
                for _ in 0..c.len_utf8() {
                    positions.push((line, column));
                }
                if c == '\n' || (c == '\r' && !text[i + 1..].starts_with('\n')) {
                    line += 1;
                    column = 1;
                } else if !(i == 0 && c == '\u{feff}') {
                    column += 1;
                }
            }
            positions.push((line, column));
            let positions = std::rc::Rc::new(positions);
            cache.insert(key, std::rc::Rc::clone(&positions));
            positions
        }
    })
}
