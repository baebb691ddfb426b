//! Characters that make one text look like another: the same rule for every service's names.

/// Whether `c` is a bidirectional control or a zero-width character. Either makes a name
/// display unlike its characters (U+202E turns `gpj.exe` into `exe.jpg`) or look the same as
/// another name (`adm\u{200B}in` beside `admin`).
///
/// The zero-width joiners (U+200C, U+200D) are refused too, although some scripts (Persian,
/// Indic) and emoji sequences use them: a name without them is still writable, a look-alike
/// name is not detectable once stored.
pub fn is_invisible_or_bidi_control(c: char) -> bool {
    matches!(
        c,
        // Bidirectional embeddings, overrides and isolates, and the directional marks.
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        // Zero-width space, non-joiner, joiner; word joiner; zero-width no-break space (BOM).
        | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// The field error for a text with such a character.
pub const INVISIBLE_OR_BIDI: &str =
    "must not contain bidirectional controls or zero-width characters";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_zero_width_characters_are_caught_and_letters_are_not() {
        let caught = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{2060}', '\u{FEFF}',
        ];
        for c in caught {
            assert!(is_invisible_or_bidi_control(c), "U+{:04X}", c as u32);
        }
        for c in [
            'a', 'Я', 'ب', ' ', '-', '\u{2061}', '\u{2029}', '\u{0300}', '🍺',
        ] {
            assert!(!is_invisible_or_bidi_control(c), "U+{:04X}", c as u32);
        }
    }
}
