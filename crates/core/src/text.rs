//! Byte offsets ↔ lines and columns, computed once per text.
//!
//! A [`LineIndex`] holds where each line starts; a position is then a binary search, and a
//! column a count of the characters between the line's start and the offset (constant time
//! on ASCII lines). Readers build one per file, so reporting N positions costs N·log(lines),
//! never N times the file.

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
    /// The index of `text`: lines end at `\n` (a `\r` before it belongs to the line).
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, byte) in text.bytes().enumerate() {
            line_ascii &= byte.is_ascii();
            if byte == b'\n' {
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

    /// The byte range of the 1-based `line`, without its `\n` (nor a `\r` before it), as
    /// `str::lines` gives it; `None` past the last line.
    pub fn line_range(&self, text: &str, line: usize) -> Option<std::ops::Range<usize>> {
        let index = line.checked_sub(1)?;
        let start = *self.starts.get(index)?;
        let Some(next) = self.starts.get(index + 1) else {
            return Some(start..self.len);
        };
        // A line ended by `\r\n` is the text before both.
        let end = next - 1;
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            return Some(start..end - 1);
        }
        Some(start..end)
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

    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let offset = LineIndex::clamp(text, offset);
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let bom = usize::from(start == 0 && before.starts_with('\u{feff}'));
        (line, before[start..].chars().count() + 1 - bom)
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
        ] {
            let index = LineIndex::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    index.line_col(text, offset),
                    naive(text, offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn lines_read_as_str_lines_reads_them() {
        for text in ["", "a", "a\n", "a\r\nb\n\nc", "x\ny\r\n", "x\r"] {
            let index = LineIndex::new(text);
            let expected: Vec<&str> = text.lines().collect();
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
