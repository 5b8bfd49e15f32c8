//! Reading the configuration JSON by hand: every error carries the JSON path
//! of its key, unknown keys and duplicated keys are refused.

use super::ConfigError;
use crate::json::{Object, Reader, Value};

type Result<T> = std::result::Result<T, ConfigError>;

/// Parses a document whose objects all have unique keys.
pub fn parse_unique(json: &[u8]) -> Result<Value> {
    let mut reader = Reader::new(json);
    let value = reader.value().and_then(|v| reader.end().map(|()| v));
    value.map_err(|e| {
        let (line, column) = line_column(json, reader.offset());
        ConfigError::new(
            "(root)",
            format!("not valid JSON: {e} (line {line}, column {column})"),
        )
    })
}

/// 1-based, counting characters, for the error message.
fn line_column(json: &[u8], offset: usize) -> (usize, usize) {
    let before = json.get(..offset).unwrap_or(json);
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let column = 1 + String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count();
    (line, column)
}

/// A JSON object being read, with the path that names it in errors.
pub struct Obj<'a> {
    map: &'a Object,
    path: String,
}

impl<'a> Obj<'a> {
    pub fn root(value: &'a Value) -> Result<Obj<'a>> {
        Obj::new(value, String::new())
    }

    fn new(value: &'a Value, path: String) -> Result<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            _ => Err(ConfigError::new(display(&path), "must be a JSON object")),
        }
    }

    /// The path of one of this object's keys.
    pub fn key(&self, key: &str) -> String {
        // An empty name must still show up in the log line.
        let key = if key.is_empty() { "\"\"" } else { key };
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Refuses keys the schema does not know, by name.
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !known.contains(k)) {
            Some(unknown) => Err(ConfigError::new(
                self.key(unknown),
                format!("unknown key (expected one of: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required<T>(&self, key: &str, value: Result<Option<T>>) -> Result<T> {
        value?.ok_or_else(|| ConfigError::new(self.key(key), "is required"))
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ConfigError::new(self.key(key), "must be a string")),
        }
    }

    /// Absent: `None`; explicitly `null`: `Some(None)`.
    pub fn string_or_null(&self, key: &str) -> Result<Option<Option<String>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(_) => self.string(key).map(Some),
        }
    }

    pub fn unsigned(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(_) => Err(ConfigError::new(
                self.key(key),
                "must be a non-negative integer",
            )),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ConfigError::new(
                    format!("{}[{i}]", self.key(key)),
                    "must be a string",
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    pub fn object(&self, key: &str) -> Result<Option<Obj<'a>>> {
        self.get(key)
            .map(|v| Obj::new(v, self.key(key)))
            .transpose()
    }

    pub fn objects(&self, key: &str) -> Result<Option<Vec<Obj<'a>>>> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| Obj::new(v, format!("{}[{i}]", self.key(key))))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// An object of strings, in key order.
    pub fn string_map(&self, key: &str) -> Result<Option<Vec<(String, String)>>> {
        let Some(obj) = self.object(key)? else {
            return Ok(None);
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        for k in obj.map.keys() {
            let value = obj.required(k, obj.string(k))?;
            pairs.push((k.to_string(), value));
        }
        Ok(Some(pairs))
    }

    fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(ConfigError::new(self.key(key), "must be an array")),
        }
    }
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "(root)".into()
    } else {
        path.to_string()
    }
}
