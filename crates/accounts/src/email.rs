//! Login emails: unique after trimming and lower-casing.

/// The normalised form used for uniqueness and lookups.
pub fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A light syntax check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn looks_valid(email: &str) -> bool {
    let e = email.trim();
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `j***@example.fr`: the first letter, three stars and the domain.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_validate_mask() {
        assert_eq!(
            normalize("  Jean.Dupont@Example.FR "),
            "jean.dupont@example.fr"
        );
        assert!(looks_valid("a@b.fr"));
        assert!(!looks_valid("a@b"));
        assert!(!looks_valid("a b@c.fr"));
        assert!(!looks_valid("@c.fr"));
        assert_eq!(mask("jean@example.fr"), "j***@example.fr");
    }
}
