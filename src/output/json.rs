//! Compact JSON into a byte buffer: the same bytes `serde_json::to_writer`
//! writes (same escapes, number forms, key rules), made for the event
//! writer's hot path. Strings are scanned eight bytes at a time for the few
//! bytes that need an escape and copied in runs, where serde_json looks at
//! every byte through a table and writes each run through `io::Write`; the
//! writer spent a tenth of all instructions there.
//!
//! Floats are written by serde_json itself, so their shortest form is its
//! own. Tests below compare the output with serde_json's for every shape of
//! value serde can produce.

use serde::ser::{self, Serialize};
use std::fmt;

/// Why a value could not be written (a map key that is not a string,
/// number or bool, or a `Serialize` impl that failed).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

type Result<T = ()> = std::result::Result<T, Error>;

/// Appends `value` as compact JSON to `out`. On error, what was written
/// before it stays (as with `serde_json::to_writer`).
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    value.serialize(&mut Writer { out })
}

/// Bytes that need an escape inside a JSON string (RFC 8259 section 7, as
/// serde_json writes them): control characters, quote and backslash.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// True when some byte of the little-endian word `w` needs an escape (the
/// exact "has a byte less than n" and "has a zero byte" word tests).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    control || zero(w ^ (ONES * u64::from(b'"'))) || zero(w ^ (ONES * u64::from(b'\\')))
}

/// Writes the escape of one byte that [`needs_escape`].
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

/// The contents of a JSON string (no quotes) for `s`.
fn push_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let w = u64::from_le_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            if !word_needs_escape(w) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        while i < end {
            let b = bytes[i];
            if needs_escape(b) {
                out.extend_from_slice(&bytes[run..i]);
                push_escape(out, b);
                run = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

/// A quoted, escaped JSON string.
#[inline]
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_str_contents(out, s);
    out.push(b'"');
}

/// Integers in decimal (what serde_json's `itoa` writes).
fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A finite float as serde_json writes it.
fn push_float<F: Serialize>(out: &mut Vec<u8>, v: F) -> Result {
    serde_json::to_writer(out, &v).map_err(|e| Error(e.to_string()))
}

/// The serializer: every value appends to `out`.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// A sequence, map or struct being written: `first` until its first
/// element, so the separator goes before every later one.
struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}` / `}}` for enum variants.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    #[inline]
    fn sep(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }

    #[inline]
    fn key(&mut self, key: &str) {
        self.sep();
        push_str(self.w.out, key);
        self.w.out.push(b':');
    }

    fn finish(self) -> Result {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'w, 'a> Writer<'a> {
    fn open(&'w mut self, open: &[u8], close: &'static [u8]) -> Compound<'w, 'a> {
        self.out.extend_from_slice(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` before an enum variant's content.
    fn variant_open(&mut self, variant: &str) {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result {
        push_float(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        push_float(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result {
        push_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        let mut seq = self.open(b"[", b"]");
        for b in v {
            seq.sep();
            push_int(seq.w.out, *b);
        }
        seq.finish()
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.variant_open(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.variant_open(variant);
        Ok(self.open(b"[", b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        self.variant_open(variant);
        Ok(self.open(b"{", b"}}"))
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        /// Escapes what `Display` writes, piece by piece.
        struct Escaping<'o>(&'o mut Vec<u8>);
        impl fmt::Write for Escaping<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                push_str_contents(self.0, s);
                Ok(())
            }
        }
        self.out.push(b'"');
        fmt::Write::write_fmt(&mut Escaping(self.out), format_args!("{value}"))
            .map_err(|_| Error("a Display implementation returned an error".into()))?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.sep();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.sep();
        key.serialize(KeyWriter { out: self.w.out })?;
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key);
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// Map keys, as serde_json accepts them: strings, and numbers and bools
/// written inside quotes; anything else is an error.
struct KeyWriter<'o> {
    out: &'o mut Vec<u8>,
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

impl KeyWriter<'_> {
    fn quoted_int<I: itoa::Integer>(self, v: I) -> Result {
        self.out.push(b'"');
        push_int(self.out, v);
        self.out.push(b'"');
        Ok(())
    }

    fn quoted(self, f: impl FnOnce(&mut Vec<u8>) -> Result) -> Result {
        self.out.push(b'"');
        f(self.out)?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result {
        self.quoted(|o| {
            o.extend_from_slice(if v { b"true" } else { b"false" });
            Ok(())
        })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.quoted_int(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.quoted_int(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.quoted_int(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.quoted_int(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.quoted_int(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.quoted_int(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.quoted_int(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.quoted_int(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.quoted_int(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.quoted_int(v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|o| push_float(o, v))
    }
    fn serialize_f64(self, v: f64) -> Result {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|o| push_float(o, v))
    }
    fn serialize_char(self, v: char) -> Result {
        push_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        self.serialize_str(&value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn same<T: Serialize>(v: &T) {
        let mut ours = Vec::new();
        write(&mut ours, v).unwrap();
        let theirs = serde_json::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, String),
        Struct { a: i64, b: Option<bool> },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Tup(u16, &'static str);

    #[derive(Serialize)]
    struct Nested<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        list: Vec<E>,
        map: BTreeMap<u32, f64>,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
        unit: Unit,
        tup: Tup,
        bytes: &'a [u8],
        ch: char,
        empty: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
    }

    #[test]
    fn every_shape_matches_serde_json() {
        let mut extra = BTreeMap::new();
        extra.insert(
            "x\"y".to_string(),
            serde_json::json!({"k": [1, 2.5, null, "a\u{1}b"]}),
        );
        let mut map = BTreeMap::new();
        map.insert(7, 0.1);
        map.insert(8, 1e21);
        map.insert(9, f64::NAN);
        same(&Nested {
            name: "tab\there \\ \"quoted\" \u{7f} é \u{1f}",
            skipped: None,
            list: vec![
                E::Unit,
                E::New(3),
                E::Tuple(4, "t".into()),
                E::Struct {
                    a: -5,
                    b: Some(true),
                },
            ],
            map,
            extra,
            unit: Unit,
            tup: Tup(65535, "s"),
            bytes: &[0, 255],
            ch: '\n',
            empty: vec![],
            empty_map: BTreeMap::new(),
        });
        same(&(i128::MIN, u128::MAX, f32::INFINITY, 1.5f32, -0.0f64));
        let mut bool_keys = BTreeMap::new();
        bool_keys.insert(true, 1);
        same(&bool_keys);
        same(&format_args!("a{}\"", 1).to_string());
    }

    #[test]
    fn display_values_are_escaped() {
        struct D;
        impl Serialize for D {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{}\\{}\n", "a", 5))
            }
        }
        same(&D);
    }

    proptest! {
        #[test]
        fn strings_match_serde_json(s in any::<String>(), b in proptest::collection::vec(0u8..0x80, 0..40)) {
            same(&s);
            same(&String::from_utf8(b).unwrap());
        }
    }
}
