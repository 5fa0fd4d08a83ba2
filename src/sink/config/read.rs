//! Reading one `[[output.sink]]` table into its kind's struct, with every
//! error at its key's path (why by hand: see the parent module).

use super::{COMMON_KEYS, Common, FileSink, KafkaSink, SinkConfig, SinkKind, SyslogSink, UnixSink};
use serde::de::{self, DeserializeOwned, IgnoredAny, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::sync::OnceLock;

/// The keys a derived struct reads, taken from its `Deserialize` impl so
/// they are declared only once (on the struct).
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Grab<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Grab<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields taken"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Grab(&mut fields));
    fields
}

/// A kind's struct: its own keys, and where its [`Common`] lives.
pub(super) trait Table: DeserializeOwned {
    /// The struct's own keys.
    fn keys() -> &'static [&'static str] {
        fields_of::<Self>()
    }
    /// Where the common keys go once the struct is read.
    fn common_mut(&mut self) -> &mut Common;
}

/// Every key some kind takes (its own, not the common ones).
fn all_kind_keys() -> &'static [&'static str] {
    static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for keys in [
            FileSink::keys(),
            UnixSink::keys(),
            SyslogSink::keys(),
            KafkaSink::keys(),
        ] {
            for k in keys {
                if !all.contains(k) {
                    all.push(*k);
                }
            }
        }
        all
    })
}

/// What a key of the table is, decided while the key is read so an error
/// carries the key's path (`output.sink[0].pth`).
enum Route {
    Type,
    Common(&'static str),
    Own(String),
    Misplaced(&'static str),
}

/// Reads one key and routes it; `own` is the kind's keys when known.
struct RouteKey(Option<&'static [&'static str]>);

impl<'de> de::DeserializeSeed<'de> for RouteKey {
    type Value = Route;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Route, D::Error> {
        let key = String::deserialize(d)?;
        if key == "type" {
            return Ok(Route::Type);
        }
        if let Some(k) = COMMON_KEYS.iter().find(|k| **k == key) {
            return Ok(Route::Common(k));
        }
        let own = self.0.unwrap_or(all_kind_keys());
        if own.contains(&key.as_str()) {
            return Ok(Route::Own(key));
        }
        if let Some(k) = all_kind_keys().iter().find(|k| **k == key) {
            return Ok(Route::Misplaced(k));
        }
        let expected: Vec<String> = ["type"]
            .iter()
            .chain(COMMON_KEYS)
            .chain(own)
            .map(|k| format!("`{k}`"))
            .collect();
        Err(de::Error::custom(format!(
            "unknown field `{key}`, expected one of {}",
            expected.join(", ")
        )))
    }
}

/// The rest of the table after `type`, as the kind's struct sees it: keys
/// read before `type` first, then the table itself; common keys go to
/// `common`, misplaced ones are noted and skipped.
struct Rest<'a, A> {
    map: &'a mut A,
    own: &'static [&'static str],
    early: std::vec::IntoIter<(String, toml::Value)>,
    early_value: Option<toml::Value>,
    common: &'a mut Common,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        for (key, value) in self.early.by_ref() {
            if self.own.contains(&key.as_str()) {
                self.early_value = Some(value);
                return seed.deserialize(key.into_deserializer()).map(Some);
            }
            if let Some(k) = all_kind_keys().iter().find(|k| **k == key) {
                self.common.misplaced.push(k);
            }
        }
        loop {
            match self.map.next_key_seed(RouteKey(Some(self.own)))? {
                None => return Ok(None),
                Some(Route::Own(key)) => {
                    return seed.deserialize(key.into_deserializer()).map(Some);
                }
                Some(Route::Common(key)) => self.common.read(key, self.map)?,
                Some(Route::Misplaced(key)) => {
                    self.common.misplaced.push(key);
                    self.map.next_value::<IgnoredAny>()?;
                }
                Some(Route::Type) => return Err(de::Error::duplicate_field("type")),
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        match self.early_value.take() {
            Some(v) => seed.deserialize(v).map_err(de::Error::custom),
            None => self.map.next_value_seed(seed),
        }
    }
}

/// Reads the value of a kind's key met before `type` (TOML tables come
/// sorted, so that is most keys) and checks it against the struct that
/// declares the key, while the key's path is still known: `path = 5`
/// is reported at `output.sink[0].path`.
struct Checked<'a>(&'a str);

impl<'de> de::DeserializeSeed<'de> for Checked<'_> {
    type Value = toml::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<toml::Value, D::Error> {
        let v = toml::Value::deserialize(d)?;
        let one = || toml::Value::Table(toml::Table::from_iter([(self.0.to_string(), v.clone())]));
        fn check<T: Table>(
            key: &str,
            one: impl Fn() -> toml::Value,
        ) -> Option<Result<(), toml::de::Error>> {
            T::keys()
                .contains(&key)
                .then(|| T::deserialize(one()).map(drop))
        }
        check::<FileSink>(self.0, one)
            .or_else(|| check::<SyslogSink>(self.0, one))
            .or_else(|| check::<KafkaSink>(self.0, one))
            .unwrap_or(Ok(()))
            .map_err(|e| de::Error::custom(e.message()))?;
        Ok(v)
    }
}

/// Reads the kind's struct `T` from the rest of the table.
fn read_table<'de, T: Table, A: MapAccess<'de>>(
    map: &mut A,
    early: Vec<(String, toml::Value)>,
    mut common: Common,
) -> Result<T, A::Error> {
    let rest = Rest {
        map,
        own: T::keys(),
        early: early.into_iter(),
        early_value: None,
        common: &mut common,
    };
    let mut t = T::deserialize(de::value::MapAccessDeserializer::new(rest))?;
    *t.common_mut() = common;
    Ok(t)
}

impl<'de> Deserialize<'de> for SinkConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TableVisitor;
        impl<'de> Visitor<'de> for TableVisitor {
            type Value = SinkConfig;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sink table with a `type`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SinkConfig, A::Error> {
                // Keys before `type` (most: TOML sorts them) are held until
                // the kind is known.
                let mut common = Common::default();
                let mut early = Vec::new();
                let kind = loop {
                    match map.next_key_seed(RouteKey(None))? {
                        None => return Err(de::Error::missing_field("type")),
                        Some(Route::Type) => break map.next_value::<SinkKind>()?,
                        Some(Route::Common(k)) => common.read(k, &mut map)?,
                        Some(Route::Own(k)) => {
                            let v = map.next_value_seed(Checked(&k))?;
                            early.push((k, v));
                        }
                        Some(Route::Misplaced(_)) => unreachable!("no kind yet"),
                    }
                };
                let m = &mut map;
                Ok(match kind {
                    SinkKind::File => SinkConfig::File(read_table(m, early, common)?),
                    SinkKind::Stdout => SinkConfig::Stdout(read_table(m, early, common)?),
                    SinkKind::UnixStream => SinkConfig::UnixStream(read_table(m, early, common)?),
                    SinkKind::UnixDgram => SinkConfig::UnixDgram(read_table(m, early, common)?),
                    SinkKind::Syslog => SinkConfig::Syslog(read_table(m, early, common)?),
                    SinkKind::Kafka => SinkConfig::Kafka(read_table(m, early, common)?),
                })
            }
        }
        d.deserialize_map(TableVisitor)
    }
}
