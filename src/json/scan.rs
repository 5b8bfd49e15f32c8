//! The tokens of JSON: whitespace, literals, numbers and strings, each
//! checked as strictly as RFC 8259 writes them.

use super::read::{JsonError, Reader};
use super::Value;

type Result<T> = std::result::Result<T, JsonError>;

impl<'a> Reader<'a> {
    /// The next significant byte, after whitespace.
    pub(super) fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    pub(super) fn literal(&mut self) -> Result<Value> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        for (word, value) in [
            (&b"true"[..], Value::Bool(true)),
            (b"false", Value::Bool(false)),
            (b"null", Value::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        if rest.is_empty() {
            Err(JsonError::UnexpectedEnd)
        } else {
            Err(JsonError::ExpectedValue)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as written.
    pub(super) fn number(&mut self) -> Result<&'a str> {
        let start = self.pos;
        self.eat(b'-');
        match self.byte() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(JsonError::InvalidNumber),
        }
        if self.eat(b'.') {
            self.required_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _sign = self.eat(b'+') || self.eat(b'-');
            self.required_digits()?;
        }
        let text = self.bytes.get(start..self.pos).unwrap_or_default();
        std::str::from_utf8(text).map_err(|_| JsonError::InvalidNumber)
    }

    pub(super) fn required_digits(&mut self) -> Result<()> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            return Err(JsonError::InvalidNumber);
        }
        Ok(())
    }

    pub(super) fn digits(&mut self) {
        while self.byte().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    pub(super) fn byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn eat(&mut self, wanted: u8) -> bool {
        let found = self.byte() == Some(wanted);
        if found {
            self.pos += 1;
        }
        found
    }

    /// A string starting at its opening quote.
    pub(super) fn string(&mut self) -> Result<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Quote, backslash and controls are ASCII, so a run between them
            // never splits a UTF-8 sequence.
            let start = self.pos;
            while self
                .byte()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.pos += 1;
            }
            let run = self.bytes.get(start..self.pos).unwrap_or_default();
            out.push_str(std::str::from_utf8(run).map_err(|_| JsonError::InvalidUtf8)?);
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(JsonError::ControlCharacter),
                None => return Err(JsonError::UnexpectedEnd),
            }
        }
    }

    pub(super) fn escape(&mut self, out: &mut String) -> Result<()> {
        let c = match self.byte() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by a low one.
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(JsonError::InvalidEscape);
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(JsonError::InvalidEscape);
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::InvalidEscape),
                    _ => unit,
                };
                out.push(char::from_u32(code).ok_or(JsonError::InvalidEscape)?);
                return Ok(());
            }
            Some(_) => return Err(JsonError::InvalidEscape),
            None => return Err(JsonError::UnexpectedEnd),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    pub(super) fn hex4(&mut self) -> Result<u32> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = match self.byte() {
                Some(b) => char::from(b).to_digit(16),
                None => return Err(JsonError::UnexpectedEnd),
            };
            unit = unit * 16 + digit.ok_or(JsonError::InvalidEscape)?;
            self.pos += 1;
        }
        Ok(unit)
    }
}
