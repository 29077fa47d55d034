//! Seeded havoc mutation: byte flips, interesting tokens, very long lines, multi-byte
//! characters, line ranges duplicated, deleted, swapped, re-indented, repeated, and lines
//! spliced in from another file of the corpus. A seed reproduces a run.

/// splitmix64: a small, good-enough generator whose whole state is one number.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Tokens that mean something to TOML, YAML, Compose, nginx or topo, and text that breaks
/// naive code (multi-byte characters, control characters, huge numbers).
const TOKENS: &[&str] = &[
    "${",
    "}",
    "$$",
    "$",
    "${VAR:-x}",
    "${VAR:?set}",
    ":",
    "\n  - ",
    "\n    ",
    "- ",
    "\"",
    "'",
    "\t",
    "#",
    " # topo-lint: allow privileged",
    "# topo-lint: allow-file x",
    "&a ",
    "*a",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    "=",
    "\\",
    "..",
    "../",
    "/",
    "./",
    "é",
    "日本",
    "🦀",
    "\u{feff}",
    "\r\n",
    "\r",
    "\0",
    "\u{7}",
    "\u{8}",
    "99999999999999999999",
    "4294967296",
    "-1",
    "0",
    "016",
    "65536",
    "true",
    "null",
    "~",
    "x,",
    ",",
    "\n[[services]]\n",
    "\n[database]\n",
    "\n[proxy]\n",
    "\nservices:\n",
    "postgres:17",
    "postgres:",
    "nginx",
    "://",
    "@",
    "localhost",
    "\"\"",
    "''",
    "|\n",
    ">-\n",
    "!!str ",
    "? ",
    "---\n",
    "...\n",
    "proxy_pass http://",
    "location / {\n",
    "upstream x {\n",
    "server x:1;\n",
    "service_healthy",
    "service_completed_successfully",
    "condition: ",
    "healthcheck:\n",
    "test: [\"CMD\", ",
    "build: .\n",
    "image: ",
    "volumes:\n",
    "ports:\n",
    "- \"80:80\"",
    "container_name: ",
    "depends_on:\n",
    "environment:\n",
    "role = \"",
    "context = \"",
    "generated = [\"",
    "depends_on = { ",
    " = \"healthy\"",
    "major = ",
    "route = { paths = [\"/\"], port = 3000 }",
];

/// Applies 1 to 8 stacked mutations to `input`, drawing donors (for splices and words)
/// from `donors`.
pub fn havoc(rng: &mut Rng, input: &str, donors: &[&str]) -> String {
    let mut bytes = input.as_bytes().to_vec();
    let rounds = if rng.chance(50) { 1 } else { 1 + rng.below(8) };
    for _ in 0..rounds {
        mutate_once(rng, &mut bytes, donors);
    }
    // Inputs are read as text; what is not UTF-8 becomes replacement characters.
    bytes.truncate(400_000);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn mutate_once(rng: &mut Rng, bytes: &mut Vec<u8>, donors: &[&str]) {
    match rng.below(12) {
        0 => flip(rng, bytes),
        1 | 2 => {
            let at = position(rng, bytes);
            let token = *rng.pick(TOKENS);
            bytes.splice(at..at, token.bytes());
        }
        3 => long_line(rng, bytes),
        4 => {
            let at = rng.below(bytes.len() + 1);
            let end = (at + 1 + rng.below(16)).min(bytes.len());
            bytes.drain(at..end);
        }
        5 => edit_lines(rng, bytes, |rng, lines| {
            let (a, b) = range(rng, lines.len());
            let copy: Vec<String> = lines[a..b].to_vec();
            let at = rng.below(lines.len() + 1);
            lines.splice(at..at, copy);
        }),
        6 => edit_lines(rng, bytes, |rng, lines| {
            let (a, b) = range(rng, lines.len());
            lines.drain(a..b);
        }),
        7 => splice(rng, bytes, donors),
        8 => word(rng, bytes, donors),
        9 => edit_lines(rng, bytes, |rng, lines| {
            if !lines.is_empty() {
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(a, b);
            }
        }),
        10 => edit_lines(rng, bytes, |rng, lines| {
            if lines.is_empty() {
                return;
            }
            let i = rng.below(lines.len());
            lines[i] = if rng.chance(50) {
                format!("{}{}", " ".repeat(1 + rng.below(6)), lines[i])
            } else {
                lines[i].trim_start().to_owned()
            };
        }),
        _ => edit_lines(rng, bytes, |rng, lines| {
            if lines.is_empty() {
                return;
            }
            let i = rng.below(lines.len());
            let times = if rng.chance(80) {
                2 + rng.below(20)
            } else {
                100 + rng.below(3000)
            };
            let copy = vec![lines[i].clone(); times];
            lines.splice(i..i, copy);
        }),
    }
}

/// A position: anywhere, or (often) the start of a line.
fn position(rng: &mut Rng, bytes: &[u8]) -> usize {
    let at = rng.below(bytes.len() + 1);
    if rng.chance(40) {
        bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
    } else {
        at
    }
}

fn flip(rng: &mut Rng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    let at = rng.below(bytes.len());
    bytes[at] = match rng.below(3) {
        0 => bytes[at] ^ (1 << rng.below(8)),
        1 => *rng.pick(b" \n\t:-#\"'{}[]=,$\\/.0"),
        _ => rng.next() as u8,
    };
}

/// A line past miette's 65,535 columns, or a long run of one token.
fn long_line(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let at = position(rng, bytes);
    let text = if rng.chance(50) {
        "a".repeat(65_000 + rng.below(6_000))
    } else {
        rng.pick(TOKENS).repeat(100 + rng.below(5_000))
    };
    bytes.splice(at..at, text.bytes());
}

/// A range `a..b` of `0..len`, at most 20 long.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let a = rng.below(len + 1);
    let b = (a + 1 + rng.below(20)).min(len);
    (a.min(b), b)
}

/// Edits the text as lines (`\n` kept as the separator).
fn edit_lines(rng: &mut Rng, bytes: &mut Vec<u8>, edit: impl FnOnce(&mut Rng, &mut Vec<String>)) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    edit(rng, &mut lines);
    *bytes = lines.join("\n").into_bytes();
}

/// Lines of another corpus file inserted at a line of this one.
fn splice(rng: &mut Rng, bytes: &mut Vec<u8>, donors: &[&str]) {
    if donors.is_empty() {
        return;
    }
    let donor: Vec<&str> = rng.pick(donors).split('\n').collect();
    let (a, b) = range(rng, donor.len());
    let inserted: Vec<String> = donor[a..b].iter().map(|l| (*l).to_owned()).collect();
    edit_lines(rng, bytes, |rng, lines| {
        let at = rng.below(lines.len() + 1);
        lines.splice(at..at, inserted);
    });
}

/// A word of the text replaced by a word of a donor or a token.
fn word(rng: &mut Rng, bytes: &mut Vec<u8>, donors: &[&str]) {
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let at = rng.below(bytes.len() + 1);
    let start = bytes[..at]
        .iter()
        .rposition(|b| !is_word(b))
        .map_or(0, |i| i + 1);
    let end = bytes[at..]
        .iter()
        .position(|b| !is_word(b))
        .map_or(bytes.len(), |i| at + i);
    let replacement = if !donors.is_empty() && rng.chance(70) {
        let donor = rng.pick(donors).as_bytes();
        let from = rng.below(donor.len() + 1);
        let from = donor[..from]
            .iter()
            .rposition(|b| !is_word(b))
            .map_or(0, |i| i + 1);
        let to = donor[from..]
            .iter()
            .position(|b| !is_word(b))
            .map_or(donor.len(), |i| from + i);
        donor[from..to].to_vec()
    } else {
        rng.pick(TOKENS).as_bytes().to_vec()
    };
    bytes.splice(start..end, replacement);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_its_mutants() {
        let donors = ["a = 1\nb = 2\n", "services:\n  web: {}\n"];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| havoc(&mut rng, "project = \"x\"\n[[services]]\n", &donors))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
