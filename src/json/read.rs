//! Reading JSON: a whole document into a `Value`, or member by member with
//! the values nobody needs skipped (checked, never stored), so a large MCP
//! body costs no memory beyond the fields the filter reads.

use super::{Number, Object, Value, MAX_DEPTH};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    UnexpectedEnd,
    ExpectedValue,
    ExpectedKey,
    ExpectedColon,
    ExpectedCommaOrEnd,
    InvalidNumber,
    InvalidEscape,
    InvalidUtf8,
    ControlCharacter,
    TooDeep,
    DuplicateKey(String),
    TrailingCharacters,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonError::UnexpectedEnd => "unexpected end of the document",
            JsonError::ExpectedValue => "expected a value",
            JsonError::ExpectedKey => "expected a string key",
            JsonError::ExpectedColon => "expected `:`",
            JsonError::ExpectedCommaOrEnd => "expected `,` or the end of the array or object",
            JsonError::InvalidNumber => "invalid number",
            JsonError::InvalidEscape => "invalid escape in a string",
            JsonError::InvalidUtf8 => "invalid UTF-8 in a string",
            JsonError::ControlCharacter => "control character in a string",
            JsonError::TooDeep => "arrays and objects nested too deep",
            JsonError::DuplicateKey(key) => {
                let shown: String = key.chars().take(64).collect();
                return write!(f, "duplicate key `{shown}`");
            }
            JsonError::TrailingCharacters => "trailing characters after the JSON",
        })
    }
}

type Result<T> = std::result::Result<T, JsonError>;

/// The whole input as one value, with nothing after it but whitespace.
pub fn parse(bytes: &[u8]) -> Result<Value> {
    let mut reader = Reader::new(bytes);
    let value = reader.value()?;
    reader.end()?;
    Ok(value)
}

/// Where a pull reader stands.
pub struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    depth: usize,
}

/// An object being read member by member (see `Reader::object`).
pub struct ObjectCursor {
    first: bool,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    /// Byte offset of the reader (of the error, after one).
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Only whitespace may follow.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(JsonError::TrailingCharacters),
        }
    }

    /// Whether the next value is `null` (nothing is consumed).
    pub fn at_null(&mut self) -> bool {
        self.peek() == Some(b'n')
    }

    /// Whether the next value is a string (nothing is consumed).
    pub fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    /// A string, or `null` for none; any other value is an error.
    pub fn string_or_null(&mut self) -> Result<Option<String>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            Some(b'n') => self.literal().map(|_| None),
            Some(_) => Err(JsonError::ExpectedValue),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    /// Starts reading an object: `None`, with nothing consumed, when the
    /// next value is something else.
    pub fn object(&mut self) -> Result<Option<ObjectCursor>> {
        if self.peek() != Some(b'{') {
            return Ok(None);
        }
        self.open()?;
        Ok(Some(ObjectCursor { first: true }))
    }

    /// The next key of the object; its value must be read (or skipped)
    /// before the next call. `None` once the object is closed.
    pub fn next_key(&mut self, cursor: &mut ObjectCursor) -> Result<Option<String>> {
        let first = std::mem::replace(&mut cursor.first, false);
        match self.peek() {
            Some(b'}') if first => return self.close().map(|()| None),
            _ if first => {}
            Some(b',') => self.pos += 1,
            Some(b'}') => return self.close().map(|()| None),
            Some(_) => return Err(JsonError::ExpectedCommaOrEnd),
            None => return Err(JsonError::UnexpectedEnd),
        }
        self.member_key().map(Some)
    }

    pub fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'{') => self.object_value().map(Value::Object),
            Some(b'[') => {
                self.open()?;
                let mut items = Vec::new();
                while self.next_item(items.is_empty())? {
                    items.push(self.value()?);
                }
                Ok(Value::Array(items))
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => {
                let text = self.number()?;
                Ok(Value::Number(Number(text.into())))
            }
            _ => self.literal(),
        }
    }

    /// Reads past the next value, checking its syntax as strictly as
    /// `value`, at any depth and without recursing (one byte of memory per
    /// open level). Repeated keys inside it are not looked for: nobody here
    /// reads it, so there is no choice to make.
    pub fn skip(&mut self) -> Result<()> {
        // The containers still open, innermost last: `true` for an object.
        let mut open: Vec<bool> = Vec::new();
        loop {
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        open.push(true);
                        drop(self.member_key()?);
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        open.push(false);
                        continue;
                    }
                }
                Some(b'"') => drop(self.string()?),
                Some(b'-' | b'0'..=b'9') => drop(self.number()?),
                _ => drop(self.literal()?),
            }
            // A value is complete: close what ends here, or go on to the
            // next member.
            loop {
                let Some(&in_object) = open.last() else {
                    return Ok(());
                };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            drop(self.member_key()?);
                        }
                        break;
                    }
                    Some(b'}') if in_object => self.pos += 1,
                    Some(b']') if !in_object => self.pos += 1,
                    Some(_) => return Err(JsonError::ExpectedCommaOrEnd),
                    None => return Err(JsonError::UnexpectedEnd),
                }
                open.pop();
            }
        }
    }

    /// A member's `"key":`.
    fn member_key(&mut self) -> Result<String> {
        match self.peek() {
            Some(b'"') => {}
            Some(_) => return Err(JsonError::ExpectedKey),
            None => return Err(JsonError::UnexpectedEnd),
        }
        let key = self.string()?;
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(key)
            }
            Some(_) => Err(JsonError::ExpectedColon),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    fn object_value(&mut self) -> Result<Object> {
        let mut cursor = ObjectCursor { first: true };
        self.open()?;
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some(key) = self.next_key(&mut cursor)? {
            let value = self.value()?;
            members.push((key, value));
        }
        unique(members.iter().map(|(k, _)| k.as_str()).collect())?;
        Ok(Object(members))
    }

    /// Before an array item: `false` once the array is closed.
    fn next_item(&mut self, first: bool) -> Result<bool> {
        match self.peek() {
            Some(b']') => self.close().map(|()| false),
            _ if first => Ok(true),
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Err(JsonError::ExpectedCommaOrEnd),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    /// Consumes `{` or `[`, counting the depth.
    fn open(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.pos += 1;
        Ok(())
    }
}

/// Refuses a repeated key. Sorting keeps a hostile object of many keys at
/// n·log n; a small one is cheaper to compare pairwise.
fn unique(mut keys: Vec<&str>) -> Result<()> {
    let repeated = if keys.len() <= 8 {
        keys.iter()
            .enumerate()
            .find(|(i, k)| keys[..*i].contains(k))
            .map(|(_, k)| *k)
    } else {
        keys.sort_unstable();
        keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    };
    match repeated {
        Some(key) => Err(JsonError::DuplicateKey(key.to_string())),
        None => Ok(()),
    }
}

/// Stores a member read with `Reader::next_key`, refusing a second one.
pub fn set_once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(JsonError::DuplicateKey(key.to_string()));
    }
    *slot = Some(value);
    Ok(())
}
