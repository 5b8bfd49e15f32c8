//! Writing the filter's few JSON documents, byte for byte as serde_json
//! would (same escapes), members in the order they are added.

/// `s` as a JSON string: quotes, backslashes and control characters
/// escaped; everything else, non-ASCII included, as is.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(s.get(plain..).unwrap_or_default());
    out.push('"');
}

/// A JSON object under construction: `ObjectWriter::new().string("a", "b").finish()`.
pub struct ObjectWriter {
    out: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        ObjectWriter::new()
    }
}

impl ObjectWriter {
    pub fn new() -> ObjectWriter {
        ObjectWriter {
            out: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_string(&mut self.out, key);
        self.out.push(':');
    }

    pub fn string(mut self, key: &str, value: &str) -> ObjectWriter {
        self.key(key);
        push_string(&mut self.out, value);
        self
    }

    pub fn strings<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> ObjectWriter {
        self.key(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_string(&mut self.out, v.as_ref());
        }
        self.out.push(']');
        self
    }

    pub fn number(mut self, key: &str, value: u64) -> ObjectWriter {
        self.key(key);
        self.out.push_str(&value.to_string());
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.finish().into_bytes()
    }
}
