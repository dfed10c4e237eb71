//! Generates the page's protobuf schema (a JavaScript module) from the encoded
//! `FileDescriptorSet` that `ledger-proto` compiles from `proto/`.
//!
//! The page does not use generated per-message classes: one small codec
//! (`web/protobuf.js`) reads and writes any message from a table of its fields. Tables are
//! simpler to check by eye than generated code, and the codec is the only place where wire
//! bytes are handled, so its totality (every malformed input an error, never a crash or a
//! wrong number) is reviewed once.

use std::fmt::Write as _;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

#[derive(Debug)]
pub struct SchemaError(String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

fn fail<T>(message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError(message.into()))
}

/// Names end up in JavaScript string literals; refusing anything but identifier characters
/// means no escaping is ever needed.
fn identifier(name: &str) -> Result<&str, SchemaError> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        Ok(name)
    } else {
        fail(format!("{name:?} is not a plain protobuf identifier"))
    }
}

fn type_name(t: Type) -> Result<&'static str, SchemaError> {
    Ok(match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group => return fail("groups are not supported (proto2 only)"),
    })
}

fn message(out: &mut String, scope: &str, m: &DescriptorProto) -> Result<(), SchemaError> {
    let full = format!("{scope}.{}", identifier(m.name())?);
    let _ = writeln!(out, "  \"{full}\": [");
    let mut fields = m.field.clone();
    fields.sort_by_key(|f| f.number());
    for f in &fields {
        let name = identifier(f.name())?;
        let oneof = match f.oneof_index {
            // A proto3 `optional` field is a synthetic one-member oneof: plain presence.
            Some(i) if !f.proto3_optional() => {
                let o = m
                    .oneof_decl
                    .get(i as usize)
                    .ok_or_else(|| SchemaError(format!("{full}.{name}: bad oneof index")))?;
                let o = identifier(o.name())?;
                if m.field.iter().any(|g| g.name() == o) {
                    return fail(format!(
                        "{full}: oneof {o} has the name of a field; the page's codec stores the \
                         chosen member's name under the oneof's name"
                    ));
                }
                format!("\"{o}\"")
            }
            _ => "null".to_string(),
        };
        let reference = match f.type_name() {
            "" => "null".to_string(),
            t => format!("\"{}\"", identifier(t.trim_start_matches('.'))?),
        };
        let _ = writeln!(
            out,
            "    {{ no: {}, name: \"{name}\", type: \"{}\", repeated: {}, ref: {reference}, oneof: {oneof} }},",
            f.number(),
            type_name(f.r#type())?,
            f.label() == Label::Repeated,
        );
    }
    let _ = writeln!(out, "  ],");
    for nested in &m.nested_type {
        message(out, &full, nested)?;
    }
    Ok(())
}

fn enumeration(out: &mut String, scope: &str, e: &EnumDescriptorProto) -> Result<(), SchemaError> {
    let full = format!("{scope}.{}", identifier(e.name())?);
    let _ = writeln!(out, "  \"{full}\": {{");
    for v in &e.value {
        let _ = writeln!(out, "    {}: \"{}\",", v.number(), identifier(v.name())?);
    }
    let _ = writeln!(out, "  }},");
    Ok(())
}

fn nested_enums(out: &mut String, scope: &str, m: &DescriptorProto) -> Result<(), SchemaError> {
    let full = format!("{scope}.{}", m.name());
    for e in &m.enum_type {
        enumeration(out, &full, e)?;
    }
    for nested in &m.nested_type {
        nested_enums(out, &full, nested)?;
    }
    Ok(())
}

/// The JavaScript module for the descriptor set `encoded`.
pub fn generate(encoded: &[u8]) -> Result<String, SchemaError> {
    let set = FileDescriptorSet::decode(encoded)
        .map_err(|e| SchemaError(format!("the descriptor set does not decode: {e}")))?;
    let mut files = set.file;
    files.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = String::new();
    out.push_str(
        "// Generated from proto/ by `cargo run -p ledger-web --bin ledger-web-gen`. Do not edit:\n\
         // crates/ledger-web/tests/generated.rs fails when this file is out of date.\n\
         //\n\
         // Each message is a list of its fields: number, name, wire type, repeated, the full name\n\
         // of its message or enum type, and the oneof it belongs to. web/protobuf.js reads and\n\
         // writes messages from these tables.\n\n",
    );
    let _ = writeln!(
        out,
        "// Source files: {}\n",
        files
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str("export const messages = {\n");
    for file in &files {
        let package = identifier(file.package())?;
        for m in &file.message_type {
            message(&mut out, package, m)?;
        }
    }
    out.push_str("};\n\nexport const enums = {\n");
    for file in &files {
        let package = file.package();
        for e in &file.enum_type {
            enumeration(&mut out, package, e)?;
        }
        for m in &file.message_type {
            nested_enums(&mut out, package, m)?;
        }
    }
    out.push_str("};\n\nexport const services = {\n");
    for file in &files {
        let package = file.package();
        for s in &file.service {
            let _ = writeln!(out, "  \"{package}.{}\": {{", identifier(s.name())?);
            for method in &s.method {
                let _ = writeln!(
                    out,
                    "    {}: {{ input: \"{}\", output: \"{}\", serverStreaming: {}, clientStreaming: {} }},",
                    identifier(method.name())?,
                    identifier(method.input_type().trim_start_matches('.'))?,
                    identifier(method.output_type().trim_start_matches('.'))?,
                    method.server_streaming(),
                    method.client_streaming(),
                );
            }
            let _ = writeln!(out, "  }},");
        }
    }
    out.push_str("};\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_message_enum_and_method() {
        let js = generate(ledger_proto::FILE_DESCRIPTOR_SET).unwrap();
        for name in [
            "\"ledger.v1.TransactionBody\": [",
            "\"ledger.v1.SubscribeRequest\": [",
            "\"ledger.v1.SubscribeRequest.Start\": {",
            "\"ledger.v1.FundSource\": {",
            "Subscribe: { input: \"ledger.v1.SubscribeRequest\", output: \"ledger.v1.SubscribeEvent\", serverStreaming: true",
            "{ no: 15, name: \"funds_received\", type: \"message\", repeated: false, ref: \"ledger.v1.FundsReceived\", oneof: \"kind\" }",
            "{ no: 2, name: \"signatures\", type: \"message\", repeated: true, ref: \"ledger.v1.Signature\", oneof: null }",
            "{ no: 2, name: \"amount_fen\", type: \"uint64\", repeated: false, ref: null, oneof: null }",
        ] {
            assert!(js.contains(name), "{name} missing from:\n{js}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(generate(b"\xff\xff\xff").is_err());
    }
}
