//! How many problems a report prints per file: the first [`MAX_REPORTED`], then one line
//! saying how many more there are, as compilers do. A file of garbage yields thousands of
//! errors; nobody reads past the first screens, and printing them all costs time.

/// The most problems printed for one file (machine formats, JSON and SARIF, list them all).
pub const MAX_REPORTED: usize = 100;

/// The items to print and how many are left out.
pub fn shown<T>(items: &[T]) -> (&[T], usize) {
    let shown = items.len().min(MAX_REPORTED);
    (&items[..shown], items.len() - shown)
}

/// The line printed after the first [`MAX_REPORTED`] problems of `file`.
pub fn more_line(file: &str, hidden: usize) -> String {
    format!("{file}: … and {hidden} more not shown (the first {MAX_REPORTED} are: fix them and run again)")
}

/// The lines of a report whose lines each belong to a file: the first [`MAX_REPORTED`] of
/// each file in their order, then one [`more_line`] per file that had more.
pub fn per_file<'a>(lines: impl IntoIterator<Item = (&'a str, String)>) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut shown = Vec::new();
    for (file, line) in lines {
        let count = seen.entry(file).or_default();
        *count += 1;
        if *count <= MAX_REPORTED {
            shown.push(line);
        }
    }
    for (file, count) in seen {
        if count > MAX_REPORTED {
            shown.push(more_line(file, count - MAX_REPORTED));
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_ones_are_shown() {
        let items: Vec<usize> = (0..MAX_REPORTED + 7).collect();
        let (first, hidden) = shown(&items);
        assert_eq!((first.len(), hidden), (MAX_REPORTED, 7));
        assert_eq!(first[0], 0);
        assert_eq!(shown(&items[..3]), (&items[..3], 0));
        assert!(more_line("t.toml", 7).starts_with("t.toml: … and 7 more"));
    }

    #[test]
    fn each_file_shows_its_first_ones() {
        let lines = (0..MAX_REPORTED + 2)
            .map(|i| ("a.yml", format!("a{i}")))
            .chain([("b.yml", "b0".to_owned())]);
        let shown = per_file(lines);
        assert_eq!(shown.len(), MAX_REPORTED + 2);
        assert_eq!(shown[MAX_REPORTED], "b0");
        assert!(shown[MAX_REPORTED + 1].starts_with("a.yml: … and 2 more"));
    }
}
