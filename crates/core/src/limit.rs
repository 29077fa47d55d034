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
}
