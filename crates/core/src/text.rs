//! Byte offsets ↔ lines and columns, computed once per text.
//!
//! A [`LineIndex`] holds where each line starts; a position is then a binary search, and a
//! column a count of the characters between the line's start and the offset (constant time
//! on ASCII lines). Readers build one per file, so reporting N positions costs N·log(lines),
//! never N times the file.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r`, as YAML (and editors) count lines: the
//! positions the YAML parser reports and the ones computed here agree.

/// Where each line of a text starts, and which lines are pure ASCII.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
    /// Whether the line at the same index holds only ASCII (a column is then a subtraction).
    ascii: Vec<bool>,
    /// The length of the text.
    len: usize,
}

impl LineIndex {
    /// The index of `text`: lines end at `\n`, `\r\n` or a lone `\r`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        let bytes = text.as_bytes();
        for (i, &byte) in bytes.iter().enumerate() {
            line_ascii &= byte.is_ascii();
            let lone_cr = byte == b'\r' && bytes.get(i + 1) != Some(&b'\n');
            if byte == b'\n' || lone_cr {
                starts.push(i + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            }
        }
        ascii.push(line_ascii);
        LineIndex {
            starts,
            ascii,
            len: text.len(),
        }
    }

    /// How many lines the text has (a text ending in `\n` has an empty last line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// `offset` made a position of `text`: at most its length, on a character boundary
    /// (moved back to the start of the character it falls inside).
    pub fn clamp(text: &str, offset: usize) -> usize {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The 0-based index of the line holding the (clamped) byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        // The last start at or before the offset.
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// The 1-based line and column (in characters) of a byte offset of `text` (the text
    /// this index was built from). The offset is clamped first, so any offset has one.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = Self::clamp(text, offset);
        let index = self.line_index(offset);
        let start = self.starts[index];
        // A byte-order mark is no column (editors and the YAML parser skip it).
        let start = if index == 0 && text.starts_with('\u{feff}') {
            start + '\u{feff}'.len_utf8().min(offset)
        } else {
            start
        };
        let column = if self.ascii.get(index).copied().unwrap_or(false) {
            offset - start
        } else {
            text[start..offset].chars().count()
        };
        (index + 1, column + 1)
    }

    /// The byte offset of a 1-based line and column (in characters) of `text`: clamped to
    /// the line's end, and to the text's end past its last line.
    pub fn offset_of(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(range) = self.line_range(text, line.max(1)) else {
            return self.len;
        };
        let line_text = &text[range.clone()];
        let bom = usize::from(line <= 1 && line_text.starts_with('\u{feff}'));
        range.start
            + line_text
                .char_indices()
                .nth(column.saturating_sub(1) + bom)
                .map_or(line_text.len(), |(i, _)| i)
    }

    /// The byte range of the 1-based `line`, without its line break; `None` past the
    /// last line.
    pub fn line_range(&self, text: &str, line: usize) -> Option<std::ops::Range<usize>> {
        let index = line.checked_sub(1)?;
        let start = *self.starts.get(index)?;
        let Some(next) = self.starts.get(index + 1) else {
            return Some(start..self.len);
        };
        // The break is the byte before the next line: `\n` (maybe after a `\r`) or `\r`.
        let end = next - 1;
        let crlf = text.as_bytes().get(end) == Some(&b'\n')
            && end > start
            && text.as_bytes().get(end - 1) == Some(&b'\r');
        Some(start..if crlf { end - 1 } else { end })
    }

    /// The text of the 1-based `line` (see [`LineIndex::line_range`]); empty past the end.
    pub fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        self.line_range(text, line)
            .and_then(|range| text.get(range))
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines and columns by a scan: every `\n`, and every `\r` not before a `\n`, ends
    /// a line.
    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let offset = LineIndex::clamp(text, offset);
        let before = &text[..offset];
        let breaks: Vec<usize> = before
            .char_indices()
            .filter(|&(i, c)| c == '\n' || (c == '\r' && !text[i + 1..].starts_with('\n')))
            .map(|(i, _)| i)
            .collect();
        let start = breaks.last().map_or(0, |i| i + 1);
        let bom = usize::from(start == 0 && before.starts_with('\u{feff}'));
        (breaks.len() + 1, before[start..].chars().count() + 1 - bom)
    }

    #[test]
    fn positions_match_a_scan_of_the_text() {
        for text in [
            "",
            "\n",
            "a",
            "ab\ncd\n",
            "é\nxé\r\nz",
            "\n\n\né",
            "日本\n語",
            "\u{feff}a\nb",
            "a\rb\r\nc\r",
            "\r\r\n\n\r",
        ] {
            let index = LineIndex::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    index.line_col(text, offset),
                    naive(text, offset),
                    "{text:?} at {offset}"
                );
                // And back, from every position that is not inside a `\r\n` (nor before a
                // byte-order mark, which has the column of the character after it).
                let clamped = LineIndex::clamp(text, offset);
                let in_bom = text.starts_with('\u{feff}') && clamped < 3;
                if !text[..clamped].ends_with('\r') && !in_bom {
                    let (line, column) = index.line_col(text, offset);
                    assert_eq!(index.offset_of(text, line, column), clamped, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn lines_read_as_str_lines_reads_them_and_a_lone_cr_ends_one() {
        for text in ["", "a", "a\n", "a\r\nb\n\nc", "x\ny\r\n", "x\rz", "x\r"] {
            let index = LineIndex::new(text);
            let lone = text.replace("\r\n", "\n").replace('\r', "\n");
            let expected: Vec<&str> = lone.lines().collect();
            for (i, line) in expected.iter().enumerate() {
                assert_eq!(index.line(text, i + 1), *line, "{text:?} line {}", i + 1);
            }
            assert_eq!(index.line(text, 0), "");
            assert_eq!(index.line(text, expected.len() + 2), "");
        }
    }

    #[test]
    fn offsets_inside_a_character_are_moved_to_its_start() {
        let text = "aé";
        assert_eq!(LineIndex::clamp(text, 2), 1);
        assert_eq!(LineIndex::clamp(text, 99), 3);
        assert_eq!(LineIndex::new(text).line_col(text, 2), (1, 2));
    }
}
