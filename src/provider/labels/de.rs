//! A serde `Deserializer` over a label [`Node`] tree, so any config type deserializes from labels the
//! way Traefik's label parser fills Go structs: option names match the serde names ignoring case,
//! enum tags (middleware types) likewise, list options take comma-separated values or `[n]`
//! indices, and numbers and booleans are parsed from the label text.
//!
//! New config types and middleware kinds work without touching this file. Errors carry the label
//! path that caused them. Pure.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::tree::{join_key, parse_bool, Node};

/// A label value that does not fit the target type; `path` is relative to the deserialized node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) struct DeError {
    /// Innermost segment first (pushed while the error bubbles up).
    rev_path: Vec<String>,
    pub message: String,
}

impl DeError {
    /// The label path below the deserialized node (`healthcheck.interval`), possibly empty.
    pub(crate) fn path(&self) -> String {
        let path: Vec<String> = self.rev_path.iter().rev().cloned().collect();
        join_key(&path)
    }

    fn at(mut self, seg: &str) -> Self {
        self.rev_path.push(seg.to_string());
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            rev_path: Vec::new(),
            message: msg.to_string(),
        }
    }

    /// A misspelled label key: the nearest option, as for static options.
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let message = match nearest(field, expected) {
            Some(s) => format!("unknown label key `{field}`; did you mean `{s}`?"),
            None => format!(
                "unknown label key `{field}`, expected one of {}",
                one_of(expected)
            ),
        };
        de::Error::custom(message)
    }

    /// A misspelled middleware type (`stripprefx`).
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let message = match nearest(variant, expected) {
            Some(s) => format!("unknown kind `{variant}`; did you mean `{s}`?"),
            None => format!(
                "unknown kind `{variant}`, expected one of {}",
                one_of(expected)
            ),
        };
        de::Error::custom(message)
    }
}

/// The expected name nearest to `word` (case ignored), when it is near enough to be a typo.
pub(crate) fn nearest(word: &str, expected: &[&'static str]) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    expected
        .iter()
        .map(|e| {
            let d = crate::config::traefik::edit_distance(&lower, &e.to_ascii_lowercase());
            (d, *e)
        })
        .filter(|(d, e)| *d <= 2.max(e.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

fn one_of(expected: &[&str]) -> String {
    expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserializes `T` from a label subtree.
pub(crate) fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDe { node })
}

struct NodeDe<'a> {
    node: &'a Node,
}

impl<'a> NodeDe<'a> {
    fn leaf(&self) -> Result<&'a str, DeError> {
        self.node
            .leaf()
            .ok_or_else(|| de::Error::custom("expected a value, found nested options".to_string()))
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        let s = self.leaf()?;
        s.trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("invalid value {s:?}: expected {what}")))
    }

    fn entries(&self) -> Vec<(String, String, &'a Node)> {
        self.node
            .children
            .iter()
            .map(|(k, v)| (k.clone(), k.clone(), v))
            .collect()
    }
}

macro_rules! parse_num {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse::<$ty>(stringify!($ty))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.children.is_empty() {
            visitor.visit_str(self.node.value.as_deref().unwrap_or(""))
        } else {
            visitor.visit_map(MapAcc::new(self.entries()))
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let s = self.leaf()?;
        match parse_bool(s) {
            Some(b) => visitor.visit_bool(b),
            None => Err(de::Error::custom(format!(
                "invalid value {s:?}: expected a boolean"
            ))),
        }
    }

    parse_num!(
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64, deserialize_f32 visit_f32 f32,
        deserialize_f64 visit_f64 f64, deserialize_char visit_char char
    );

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.leaf()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.leaf()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items: Vec<Node> = if self.node.children.is_empty() {
            // Traefik: a list option is one comma-separated value.
            let raw = self.node.value.as_deref().unwrap_or("");
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Node {
                    value: Some(s.to_string()),
                    children: Default::default(),
                })
                .collect()
        } else {
            let mut indexed = Vec::new();
            for (key, node) in &self.node.children {
                let index = key
                    .strip_prefix('[')
                    .and_then(|k| k.strip_suffix(']'))
                    .and_then(|k| k.parse::<usize>().ok())
                    .ok_or_else(|| {
                        <DeError as de::Error>::custom(format!(
                            "expected a list index [n], found {key:?}"
                        ))
                        .at(key)
                    })?;
                indexed.push((index, node.clone()));
            }
            indexed.sort_by_key(|(i, _)| *i);
            indexed.into_iter().map(|(_, n)| n).collect()
        };
        visitor.visit_seq(SeqAcc { items, next: 0 })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.children.is_empty() && !self.leaf()?.is_empty() {
            return Err(de::Error::custom("expected nested options, found a value"));
        }
        visitor.visit_map(MapAcc::new(self.entries()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if self.node.children.is_empty() {
            // `sticky.cookie=true`, `tls=true`: the section is present with its defaults.
            let s = self.leaf()?;
            if !(s.is_empty() || parse_bool(s) == Some(true)) {
                return Err(de::Error::custom(format!(
                    "invalid value {s:?}: expected nested options"
                )));
            }
        }
        let entries = self
            .entries()
            .into_iter()
            .map(|(name, key, v)| (canonical(&name, fields), key, v))
            .collect();
        visitor.visit_map(MapAcc::new(entries))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if self.node.children.is_empty() {
            let tag = canonical(self.leaf()?, variants);
            return visitor.visit_enum(tag.into_deserializer());
        }
        let mut entries = self.entries();
        if entries.len() != 1 {
            let kinds: Vec<String> = entries.into_iter().map(|(k, _, _)| k).collect();
            return Err(de::Error::custom(format!(
                "expected exactly one type, found {}",
                kinds.join(", ")
            )));
        }
        let (key, _, node) = entries.remove(0);
        visitor.visit_enum(EnumAcc {
            tag: canonical(&key, variants),
            key,
            node,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// `name` spelled as the matching serde name (ignoring ASCII case), or as written when none matches.
fn canonical(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |k| (*k).to_string())
}

struct SeqAcc {
    items: Vec<Node>,
    next: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAcc {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.next) else {
            return Ok(None);
        };
        let index = self.next;
        self.next += 1;
        seed.deserialize(NodeDe { node })
            .map(Some)
            .map_err(|e| e.at(&format!("[{index}]")))
    }
}

struct MapAcc<'a> {
    /// (name given to serde, name as written, value)
    entries: std::vec::IntoIter<(String, String, &'a Node)>,
    current: Option<(String, &'a Node)>,
}

impl<'a> MapAcc<'a> {
    fn new(entries: Vec<(String, String, &'a Node)>) -> Self {
        MapAcc {
            entries: entries.into_iter(),
            current: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAcc<'_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((name, key, node)) = self.entries.next() else {
            return Ok(None);
        };
        let de: de::value::StrDeserializer<'_, DeError> = name.as_str().into_deserializer();
        let out = seed.deserialize(de).map_err(|e| e.at(&key))?;
        self.current = Some((key, node));
        Ok(Some(out))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        let (key, node) = self
            .current
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value requested before key"))?;
        seed.deserialize(NodeDe { node }).map_err(|e| e.at(&key))
    }
}

struct EnumAcc<'a> {
    /// The variant's serde name, and the key as written (for error paths).
    tag: String,
    key: String,
    node: &'a Node,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAcc<'a> {
    type Error = DeError;
    type Variant = VariantDe<'a>;

    fn variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, VariantDe<'a>), DeError> {
        let de: de::value::StrDeserializer<'_, DeError> = self.tag.as_str().into_deserializer();
        let tag = seed.deserialize(de).map_err(|e| e.at(&self.key))?;
        Ok((
            tag,
            VariantDe {
                key: self.key,
                node: self.node,
            },
        ))
    }
}

struct VariantDe<'a> {
    key: String,
    node: &'a Node,
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DeError> {
        seed.deserialize(NodeDe { node: self.node })
            .map_err(|e| e.at(&self.key))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(NodeDe { node: self.node }, visitor)
            .map_err(|e| e.at(&self.key))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(NodeDe { node: self.node }, "", fields, visitor)
            .map_err(|e| e.at(&self.key))
    }
}

#[cfg(test)]
mod tests;
