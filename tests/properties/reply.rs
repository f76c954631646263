//! The shared SMTP reply type (`smtp/reply.rs`): line heads, the line-code
//! check and the one-line display.

use proptest::prelude::*;

use smtpbox::smtp::reply::{LineCodeCheck, LineCodeError, Reply, line_head};

use crate::checks::reply_stream::check_display;
use crate::{any_text, config, text_from};

/// The rule `LineCodeCheck` follows, written independently: every line
/// starts with three digits and a separator, all with the first line's code.
fn line_code_oracle(lines: &[Vec<u8>]) -> Result<(), LineCodeError> {
    let mut first = None;
    for line in lines {
        let head = line_head(line);
        let shaped = head[..3].iter().all(u8::is_ascii_digit)
            && matches!(head[3], b' ' | b'-' | b'\r' | b'\n');
        if !shaped {
            return Err(LineCodeError::NotACode);
        }
        let code = head[..3]
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        match first {
            None => first = Some(code),
            Some(f) if f != code => {
                return Err(LineCodeError::MixedCodes {
                    first: f,
                    other: code,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn reply_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        (
            prop::sample::select(vec!["220", "250", "554", "000", "999"]),
            prop::sample::select(vec![" ", "-", "\r\n", "\n", "", "x"]),
            "[ -~]{0,6}",
        )
            .prop_map(|(code, sep, text)| format!("{code}{sep}{text}").into_bytes()),
    ]
}

/// What `Reply`'s Display replaces with `?` (besides turning line breaks
/// into ` / `): control characters and invisible format characters.
fn is_replaced(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn line_head_pads_with_line_ends(line in prop::collection::vec(any::<u8>(), 0..10)) {
        let head = line_head(&line);
        for (i, byte) in head.iter().enumerate() {
            prop_assert_eq!(*byte, line.get(i).copied().unwrap_or(b'\n'));
        }
    }

    #[test]
    fn line_code_check_matches_the_rule(
        replies in prop::collection::vec(prop::collection::vec(reply_line(), 0..5), 1..4),
    ) {
        // one checker over several replies: finish() resets it
        let mut check = LineCodeCheck::default();
        for lines in &replies {
            prop_assert!(!check.started());
            for line in lines {
                check.push(line_head(line));
                prop_assert!(check.started());
            }
            prop_assert_eq!(check.finish(), line_code_oracle(lines));
        }
    }

    #[test]
    fn reply_display_hides_bidi_and_zero_width_characters(
        before in "[a-z]{1,5}",
        hidden in prop::sample::select(vec!['\u{200B}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{FEFF}']),
        after in "[a-z]{1,5}",
    ) {
        let reply = Reply { code: 250, text: format!("{before}{hidden}{after}") };
        prop_assert_eq!(reply.to_string(), format!("250 {before}?{after}"));
    }

    #[test]
    fn reply_display_is_one_bounded_harmless_line(
        code in any::<u16>(),
        text in prop_oneof![any_text(), "(?s).{190,420}", text_from(&["\n", "\r", "\u{1b}[2J", "\u{85}", " ", "x", "é"], 300)],
    ) {
        let reply = Reply { code, text: text.clone() };
        check_display(&reply);
        let shown = reply.to_string();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            prop_assert_eq!(shown, code.to_string());
        } else if trimmed.chars().count() <= 200 && !trimmed.chars().any(is_replaced) {
            prop_assert_eq!(shown, format!("{code} {trimmed}"));
        }
    }
}
