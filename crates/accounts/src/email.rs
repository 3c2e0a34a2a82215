//! Email addresses: the login emails, the contact emails of the import and every address a
//! message goes to. Only a bare RFC 5322 / RFC 5321 addr-spec is accepted (`local@domain`: no
//! display name, no angle brackets, no comment, no whitespace or control character anywhere), and
//! it is stored, mailed, released in the `email` claim and counted by the rate limits in ONE
//! normalised form, so `Jean@Exämple.FR` and `jean@xn--exmple-cua.fr` are the same login.
//!
//! What is refused on purpose, beyond the grammar:
//! - quoted local parts (`"jean dupont"@example.fr`): legal, but no customer has one, and they
//!   are where display-name and header tricks hide;
//! - non-ASCII local parts (`jérôme@example.fr`): they need SMTPUTF8, which most of the mail
//!   systems our messages cross do not support;
//! - address literals (`jean@[192.0.2.1]`, `jean@[IPv6:…]`) and all-numeric top-level labels
//!   (`jean@192.0.2.1`): a customer's address names a mail domain, never a host address.
//!
//! The grammar of the addr-spec is checked by the `email_address` crate (the one `lettre` parses
//! recipients with), the domain is converted by the `idna` crate (UTS 46, non-transitional) to its
//! ASCII form (Punycode A-labels), and that form must be a dotted hostname: labels of 1 to 63
//! letters, digits or hyphens, none at either end of a label.

use std::fmt;

use email_address::{EmailAddress, Options};
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// The longest address, in octets of its normalised form (RFC 5321 §4.5.3.1.3 path of 256
/// octets, less the angle brackets: RFC 3696 erratum 1690). Every column an address reaches holds
/// it.
pub const MAX_LEN: usize = 254;

/// The longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;

/// Why a text is not an address we accept (for logs, import reports and tests; pages only say
/// "enter a valid email address").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    /// Nothing but spaces.
    Empty,
    /// Longer than [`MAX_LEN`] octets once normalised.
    TooLong,
    /// A space, tab, line break, NUL or other control character inside.
    WhitespaceOrControl,
    /// `<` or `>`: a display name (`Jean <j@example.fr>`) or an angle-bracketed address.
    AngleBrackets,
    /// `(` or `)`: an RFC 5322 comment.
    Comment,
    /// No `@`, or more than one.
    NotOneAt,
    /// A quoted local part (`"…"@example.fr`), refused on purpose.
    QuotedLocalPart,
    /// A local part with a character outside ASCII (SMTPUTF8 is not supported).
    NonAsciiLocalPart,
    /// A local part longer than [`MAX_LOCAL_LEN`] octets.
    LocalPartTooLong,
    /// A local part that is not a dot-atom (`.j@…`, `j..d@…`, `j,d@…`, an empty one), or one
    /// some mail servers would reroute or decode (`%`, `!`, an encoded word `=?…?=`).
    InvalidLocalPart,
    /// An address literal (`[192.0.2.1]`), refused on purpose.
    AddressLiteral,
    /// A domain that is not a dotted hostname with a top-level label (`x`, `-x.fr`, `x..fr`,
    /// `x_y.fr`, `192.0.2.1`, invalid IDNA).
    InvalidDomain,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty",
            Self::TooLong => "longer than 254 octets",
            Self::WhitespaceOrControl => "whitespace or a control character inside",
            Self::AngleBrackets => "a display name or angle brackets",
            Self::Comment => "a comment",
            Self::NotOneAt => "not exactly one @",
            Self::QuotedLocalPart => "a quoted local part",
            Self::NonAsciiLocalPart => "a local part outside ASCII",
            Self::LocalPartTooLong => "a local part longer than 64 octets",
            Self::InvalidLocalPart => "an invalid local part",
            Self::AddressLiteral => "an address literal",
            Self::InvalidDomain => "not a dotted host name",
        })
    }
}

impl std::error::Error for EmailError {}

/// The normalised address of `input`, or why it is not one we accept: trimmed, the local part
/// lower-cased (logins are unique case-insensitively), the domain lower-cased and converted to
/// its ASCII (Punycode) form.
pub fn parse(input: &str) -> Result<String, EmailError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(EmailError::Empty);
    }
    // Cheap first, so that no long text reaches the parsers; a Unicode domain never has more
    // characters than its ASCII form.
    if s.chars().count() > MAX_LEN {
        return Err(EmailError::TooLong);
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EmailError::WhitespaceOrControl);
    }
    if s.contains(['<', '>']) {
        return Err(EmailError::AngleBrackets);
    }
    if s.contains(['(', ')']) {
        return Err(EmailError::Comment);
    }
    if s.contains('"') {
        return Err(EmailError::QuotedLocalPart);
    }
    let (local, domain) = match s.split_once('@') {
        Some((l, d)) if !d.contains('@') => (l, d),
        _ => return Err(EmailError::NotOneAt),
    };
    if !local.is_ascii() {
        return Err(EmailError::NonAsciiLocalPart);
    }
    if domain.starts_with('[') {
        return Err(EmailError::AddressLiteral);
    }
    // Valid atoms that some mail servers still read as routing or encoding ("email atom
    // splitting"): `%` and `!` (old source routes) and RFC 2047 encoded words (`=?…?=`) would
    // send the mail elsewhere than the address stored and shown.
    if local.contains(['%', '!']) || local.contains("=?") {
        return Err(EmailError::InvalidLocalPart);
    }
    // The RFC 5322 grammar: a dot-atom local part of at most 64 octets and a domain of at least
    // two labels; what is left of it after the checks above.
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    if let Err(e) = EmailAddress::parse_with_options(s, options) {
        return Err(match e {
            email_address::Error::LocalPartTooLong => EmailError::LocalPartTooLong,
            email_address::Error::LocalPartEmpty => EmailError::InvalidLocalPart,
            _ if !EmailAddress::is_valid_local_part(local) => EmailError::InvalidLocalPart,
            _ => EmailError::InvalidDomain,
        });
    }
    let domain = ascii_domain(domain).ok_or(EmailError::InvalidDomain)?;
    let address = format!("{}@{domain}", local.to_ascii_lowercase());
    if address.len() > MAX_LEN {
        return Err(EmailError::TooLong);
    }
    Ok(address)
}

/// The ASCII form of a domain (IDNA, UTS 46 non-transitional, lower-cased), when it is a dotted
/// host name: LDH labels of 1 to 63 octets without a hyphen at either end, at most 253 octets, no
/// trailing dot, at least two labels and a top-level label that is not all digits.
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?;
    let mut labels = ascii.split('.');
    let top = labels.next_back()?;
    let dotted = labels.next().is_some();
    (dotted && !top.bytes().all(|b| b.is_ascii_digit())).then(|| ascii.into_owned())
}

/// Whether `input` is an address we accept (see [`parse`]).
pub fn looks_valid(input: &str) -> bool {
    parse(input).is_ok()
}

/// The form used for uniqueness and lookups of whatever a person typed: [`parse`]'s for an
/// address we accept; for anything else, trimmed and lower-cased (it then matches nothing stored
/// since this check exists).
pub fn normalize(input: &str) -> String {
    parse(input).unwrap_or_else(|_| input.trim().to_lowercase())
}

/// Whether a typed email is short enough to be looked up, counted and recorded: at most
/// [`MAX_LEN`] characters once trimmed. Longer text is never an address; callers refuse it before
/// it reaches the storage.
pub fn fits(input: &str) -> bool {
    input.trim().chars().count() <= MAX_LEN
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

    #[test]
    fn plain_addresses_are_accepted_and_normalised() {
        for (input, normalised) in [
            ("jean@example.fr", "jean@example.fr"),
            ("  JEAN.Dupont@EXAMPLE.FR\t", "jean.dupont@example.fr"),
            ("j+tag@mail.example.fr", "j+tag@mail.example.fr"),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "a#$&*+/?^=_`{|}~-z@example.fr",
                "a#$&*+/?^=_`{|}~-z@example.fr",
            ),
            ("j@x-y.fr", "j@x-y.fr"),
            ("j@1x.fr", "j@1x.fr"),
            ("j@x.co.uk", "j@x.co.uk"),
        ] {
            assert_eq!(parse(input).as_deref(), Ok(normalised), "{input:?}");
        }
    }

    #[test]
    fn display_names_comments_and_brackets_are_refused() {
        for (input, why) in [
            ("v<x@evil.fr>", EmailError::AngleBrackets),
            ("v<x@evil.fr", EmailError::AngleBrackets),
            ("<x@evil.fr>", EmailError::AngleBrackets),
            ("\"Jean\" <j@x.fr>", EmailError::WhitespaceOrControl),
            ("\"Jean\"<j@x.fr>", EmailError::AngleBrackets),
            ("Jean<j@x.fr>", EmailError::AngleBrackets),
            ("j@x.fr (comment)", EmailError::WhitespaceOrControl),
            ("j@x.fr(comment)", EmailError::Comment),
            ("(comment)j@x.fr", EmailError::Comment),
            ("j(comment)@x.fr", EmailError::Comment),
            ("\"j\"@x.fr", EmailError::QuotedLocalPart),
            ("\"j@k\"@x.fr", EmailError::QuotedLocalPart),
            ("x@evil.fr,y@evil.fr", EmailError::NotOneAt),
            ("x@evil.fr;y@z.fr", EmailError::NotOneAt),
            ("j@x.fr,", EmailError::InvalidDomain),
        ] {
            assert_eq!(parse(input), Err(why), "{input:?}");
            assert!(!looks_valid(input), "{input:?}");
        }
    }

    #[test]
    fn whitespace_and_control_characters_are_refused_anywhere() {
        for input in [
            "j @x.fr",
            "j@ x.fr",
            "j\t@x.fr",
            "j@x\t.fr",
            "j\n@x.fr",
            "j@x.fr\nBcc: y@z.fr",
            "j@x.fr\r\nBcc: y@z.fr",
            "j\0@x.fr",
            "j@x.fr\0",
            "j@x\u{7f}.fr",
            "j\u{a0}k@x.fr",
            "j@x\u{2028}.fr",
        ] {
            assert_eq!(
                parse(input),
                Err(EmailError::WhitespaceOrControl),
                "{input:?}"
            );
        }
    }

    #[test]
    fn local_parts_are_dot_atoms_of_64_ascii_octets() {
        let l64 = "a".repeat(64);
        assert_eq!(
            parse(&format!("{l64}@x.fr")),
            Ok(format!("{l64}@x.fr")),
            "64 octets"
        );
        assert_eq!(
            parse(&format!("{}@x.fr", "a".repeat(65))),
            Err(EmailError::LocalPartTooLong)
        );
        for input in [
            "@x.fr",
            ".j@x.fr",
            "j.@x.fr",
            "j..d@x.fr",
            "j,d@x.fr",
            "j[d@x.fr",
            "=?utf-8?q?attacker=40evil.fr=3e=00?=@example.fr",
            "x%y@evil.fr",
            "x!y@evil.fr",
        ] {
            assert_eq!(parse(input), Err(EmailError::InvalidLocalPart), "{input:?}");
        }
        for input in [
            "jérôme@example.fr",
            "ĵ@x.fr",
            "用户@例子.cn",
            "j\u{200b}@x.fr",
        ] {
            assert_eq!(
                parse(input),
                Err(EmailError::NonAsciiLocalPart),
                "{input:?}"
            );
        }
        for input in ["jean", "jean.example.fr", "j@k@x.fr", ""] {
            assert!(parse(input).is_err(), "{input:?}");
        }
        assert_eq!(parse("   "), Err(EmailError::Empty));
        assert_eq!(parse("jean"), Err(EmailError::NotOneAt));
    }

    #[test]
    fn domains_are_dotted_host_names() {
        for input in [
            "j@x",
            "j@-x.fr",
            "j@x-.fr",
            "j@x.-fr",
            "j@x..fr",
            "j@.x.fr",
            "j@x.fr.",
            "j@x_y.fr",
            "j@x!y.fr",
            "j@",
            "j@127.0.0.1",
            "j@x.123",
            "j@xn--.fr",
            "j@xn--zz.fr",
            &format!("j@{}.fr", "b".repeat(64)),
        ] {
            assert_eq!(parse(input), Err(EmailError::InvalidDomain), "{input:?}");
        }
        assert_eq!(
            parse(&format!("j@{}.fr", "b".repeat(63))),
            Ok(format!("j@{}.fr", "b".repeat(63))),
            "63-octet labels"
        );
        for input in ["j@[127.0.0.1]", "j@[IPv6:::1]", "j@[192.0.2.1].fr"] {
            assert_eq!(parse(input), Err(EmailError::AddressLiteral), "{input:?}");
        }
    }

    #[test]
    fn international_domains_have_one_ascii_form() {
        let ascii = "jean@xn--exmple-cua.fr";
        for input in [
            "jean@exämple.fr",
            "Jean@EXÄMPLE.FR",
            "jean@xn--exmple-cua.fr",
            "JEAN@XN--EXMPLE-CUA.FR",
            " jean@exa\u{0308}mple.fr ",
        ] {
            assert_eq!(parse(input).as_deref(), Ok(ascii), "{input:?}");
            assert_eq!(normalize(input), ascii, "{input:?}");
        }
        assert_eq!(
            parse("info@bücher.example").as_deref(),
            Ok("info@xn--bcher-kva.example")
        );
        assert_eq!(
            parse("j@例子.测试").as_deref(),
            Ok("j@xn--fsqu00a.xn--0zwm56d")
        );
    }

    #[test]
    fn lengths_follow_rfc_5321() {
        // 64 + 1 + 189 = 254 octets, labels of at most 63.
        let domain = |last: usize| {
            format!(
                "{}.{}.{}.fr",
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(last)
            )
        };
        let longest = format!("{}@{}", "a".repeat(64), domain(58));
        assert_eq!(longest.len(), 254);
        assert_eq!(parse(&longest).as_deref(), Ok(longest.as_str()));
        let too_long = format!("{}@{}", "a".repeat(64), domain(59));
        assert_eq!(too_long.len(), 255);
        assert_eq!(parse(&too_long), Err(EmailError::TooLong));
        assert_eq!(
            parse(&format!("j@{}.fr", "b".repeat(300))),
            Err(EmailError::TooLong)
        );
        // An IDN domain that fits typed in Unicode but not once converted.
        let idn = format!("{}@{}.ä.fr", "a".repeat(64), domain(50));
        assert!(idn.chars().count() <= 254);
        assert_eq!(parse(&idn), Err(EmailError::TooLong));
        assert!(fits(&format!("  {}  ", "a".repeat(254))));
        assert!(!fits(&"a".repeat(255)));
    }

    #[test]
    fn invalid_input_is_still_normalised_for_lookups() {
        assert_eq!(normalize("  V<X@Evil.FR> "), "v<x@evil.fr>");
        assert_eq!(normalize("Jean@Exämple.FR"), "jean@xn--exmple-cua.fr");
    }
}
