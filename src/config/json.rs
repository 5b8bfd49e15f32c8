//! Reading the configuration JSON by hand: every error carries the JSON path
//! of its key, unknown keys and duplicated keys are refused. (Derived serde
//! visitors with path tracking cost a third of the filter's size.)

use super::ConfigError;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

type Result<T> = std::result::Result<T, ConfigError>;

/// Parses a document whose objects all have unique keys.
pub fn parse_unique(json: &[u8]) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let UniqueValue(value) = UniqueValue::deserialize(&mut de).map_err(|e| {
        let text = e.to_string();
        let reason = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        ConfigError::new("(root)", format!("not valid JSON: {reason}"))
    })?;
    de.end()
        .map_err(|_| ConfigError::new("(root)", "trailing characters after the JSON"))?;
    Ok(value)
}

/// A JSON object being read, with the path that names it in errors.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
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
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
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
            pairs.push((k.clone(), value));
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

/// `serde_json::Value`, except that an object with a repeated key is an
/// error instead of silently keeping the last value.
struct UniqueValue(Value);

impl<'de> Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = UniqueValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::String(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<UniqueValue, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(UniqueValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<UniqueValue, A::Error> {
        let mut out = Map::new();
        while let Some((key, UniqueValue(value))) = map.next_entry::<String, UniqueValue>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            out.insert(key, value);
        }
        Ok(UniqueValue(Value::Object(out)))
    }
}
