//! Which variable names hold secrets: one rule for `topo check`, `topo lint` and
//! `topo import`.
//!
//! A name is split into words (at `_`, `-`, `.` and camelCase humps) and judged by them:
//! a secret word (`PASSWORD`, `PASS`, `SECRET`, `TOKEN`, …) or a key that is a secret
//! (`API_KEY`, `SESSION_KEY`, a final `KEY` that is not public) makes it a secret, unless
//! the last word says the value is about a secret rather than one (`PASSWORD_MIN_LENGTH`,
//! `TOKEN_URL`, `POSTGRES_PASSWORD_FILE`) or the name is a switch (`MARIADB_RANDOM_ROOT_PASSWORD`,
//! `MYSQL_ALLOW_EMPTY_PASSWORD`).

/// Words that make a name a secret wherever they stand.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "CREDENTIALS",
    "CREDENTIAL",
    "APIKEY",
    "PRIVATEKEY",
];

/// Words before `KEY` that make the key a secret wherever it stands (`API_KEY_LIVE`).
const SECRET_KEY_KINDS: &[&str] = &[
    "API",
    "PRIVATE",
    "ACCESS",
    "SECRET",
    "ENCRYPTION",
    "SIGNING",
    "MASTER",
    "LICENSE",
    "SESSION",
    "APP",
    "AUTH",
    "JWT",
    "HMAC",
    "CRYPTO",
];

/// Words before a final `KEY` that make it not a secret (`STRIPE_PUBLISHABLE_KEY`).
const PUBLIC_KEY_KINDS: &[&str] = &[
    "PUBLIC",
    "PUBLISHABLE",
    "PRIMARY",
    "FOREIGN",
    "SORT",
    "PARTITION",
    "CACHE",
    "ROUTING",
];

/// Last words that make a name about a secret, not one (`JWT_SECRET_FILE` holds a path).
const ABOUT_A_SECRET: &[&str] = &[
    "FILE",
    "PATH",
    "DIR",
    "LENGTH",
    "TTL",
    "EXPIRES",
    "EXPIRY",
    "ROUNDS",
    "URL",
    "URI",
    "ENDPOINT",
    "HEADER",
    "NAME",
    "ID",
    "TYPE",
    "ALGORITHM",
    "ISSUER",
];

/// Whether the variable `name` holds a secret, which topo wants read from the deploying
/// environment rather than written into a file.
pub fn is_secret_name(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    // The shell's working directory is a `PWD` too.
    if words.len() == 1 && matches!(last.as_str(), "PWD" | "OLDPWD") {
        return false;
    }
    if ABOUT_A_SECRET.contains(&last.as_str())
        || (words.len() >= 2 && words[words.len() - 2] == "EXPIRES" && last == "IN")
    {
        return false;
    }
    // A switch about a password, not one: `MARIADB_RANDOM_ROOT_PASSWORD=1`,
    // `MYSQL_ALLOW_EMPTY_PASSWORD=yes` (the official images' flags).
    let switch = words.iter().any(|w| w == "RANDOM")
        || words
            .windows(2)
            .any(|pair| pair[0] == "ALLOW" && pair[1] == "EMPTY");
    if switch && matches!(last.as_str(), "PASSWORD" | "PASS" | "PWD") {
        return false;
    }
    let secret_word = words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()));
    let secret_key = words
        .windows(2)
        .any(|pair| pair[1] == "KEY" && SECRET_KEY_KINDS.contains(&pair[0].as_str()));
    let final_key = last == "KEY"
        && !(words.len() >= 2 && PUBLIC_KEY_KINDS.contains(&words[words.len() - 2].as_str()));
    secret_word || secret_key || final_key
}

/// `dbPassword_FILE` → `DB`, `PASSWORD`, `FILE`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.') {
            words.push(std::mem::take(&mut word));
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_uppercase());
    }
    words.push(word);
    words.retain(|w| !w.is_empty());
    words
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;

    fn check(name: &str, secret: bool) {
        assert_eq!(is_secret_name(name), secret, "{name}");
    }

    #[test]
    fn secret_names() {
        for (name, secret) in [
            // Secrets.
            ("DB_PASSWORD", true),
            ("POSTGRES_PASSWORD", true),
            ("DB_PASS", true),
            ("MYSQL_ROOT_PWD", true),
            ("JWT_SECRET", true),
            ("CLIENT_SECRET", true),
            ("SESSION_KEY", true),
            ("APP_KEY", true),
            ("STRIPE_API_KEY", true),
            ("STRIPE_API_KEY_LIVE", true),
            ("AWS_SECRET_ACCESS_KEY", true),
            ("ENCRYPTION_KEY", true),
            ("KEY", true),
            ("GITHUB_TOKEN", true),
            ("NPM_TOKEN", true),
            ("GCP_CREDENTIALS", true),
            ("dbPassword", true),
            ("smtp.password", true),
            ("SUPERADMIN_PASSWORD", true),
            // About a secret, not one.
            ("POSTGRES_PASSWORD_FILE", false),
            ("JWT_SECRET_PATH", false),
            ("PASSWORD_MIN_LENGTH", false),
            ("TOKEN_TTL", false),
            ("TOKEN_EXPIRES_IN", false),
            ("BCRYPT_PASSWORD_ROUNDS", false),
            ("OAUTH_TOKEN_URL", false),
            ("AWS_ACCESS_KEY_ID", false),
            ("SECRET_NAME", false),
            ("MARIADB_RANDOM_ROOT_PASSWORD", false),
            ("MYSQL_RANDOM_ROOT_PASSWORD", false),
            ("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", false),
            ("MYSQL_ALLOW_EMPTY_PASSWORD", false),
            ("RANDOM_SECRET", true),
            // Not secrets.
            ("DB_USER", false),
            ("DB_HOST", false),
            ("PRIMARY_KEY_COLUMN", false),
            ("STRIPE_PUBLISHABLE_KEY", false),
            ("PUBLIC_KEY", false),
            ("CACHE_KEY", false),
            ("TOKENIZER_MODEL", false),
            ("PASSENGER_COUNT", false),
            ("PWD", false),
            ("KEYCLOAK_URL", false),
            ("NODE_ENV", false),
            ("", false),
        ] {
            check(name, secret);
        }
    }
}
