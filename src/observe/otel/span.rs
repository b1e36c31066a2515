//! The span model the request path fills (plain data, no proto types) and its OTLP form, built
//! by the exporter's task off the request path.

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Status};

use super::context::{SpanId, TraceId};

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Strs(Vec<String>),
}

/// OpenTelemetry's span kinds that swarmgate makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal,
    Server,
    Client,
}

/// One finished span.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub trace_state: Option<String>,
    pub name: Cow<'static, str>,
    pub kind: Kind,
    /// Unix nanoseconds.
    pub start: u64,
    pub end: u64,
    pub attributes: Vec<(Cow<'static, str>, Value)>,
    /// The span's status is `Error` (a 5xx on a server span, a failure or 4xx/5xx on a client
    /// span, as OpenTelemetry's HTTP conventions say).
    pub error: bool,
}

impl Span {
    pub fn str(&mut self, key: &'static str, value: impl Into<String>) {
        self.attributes
            .push((Cow::Borrowed(key), Value::Str(value.into())));
    }

    pub fn int(&mut self, key: &'static str, value: i64) {
        self.attributes
            .push((Cow::Borrowed(key), Value::Int(value)));
    }

    /// The value of `key`, if set (tests and the access to captured headers).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// The process-wide description every batch carries (`service.name`, `resourceAttributes`).
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub attributes: Vec<(String, String)>,
}

fn key_value(key: impl Into<String>, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn proto_value(value: Value) -> any_value::Value {
    match value {
        Value::Str(s) => any_value::Value::StringValue(s),
        Value::Int(i) => any_value::Value::IntValue(i),
        Value::Strs(list) => any_value::Value::ArrayValue(ArrayValue {
            values: list
                .into_iter()
                .map(|s| AnyValue {
                    value: Some(any_value::Value::StringValue(s)),
                })
                .collect(),
        }),
    }
}

/// One OTLP export request holding `spans`.
pub fn to_request(spans: Vec<Span>, resource: &ResourceInfo) -> ExportTraceServiceRequest {
    let spans = spans
        .into_iter()
        .map(|s| {
            let kind = match s.kind {
                Kind::Internal => span::SpanKind::Internal,
                Kind::Server => span::SpanKind::Server,
                Kind::Client => span::SpanKind::Client,
            };
            opentelemetry_proto::tonic::trace::v1::Span {
                trace_id: s.trace_id.to_vec(),
                span_id: s.span_id.to_vec(),
                trace_state: s.trace_state.unwrap_or_default(),
                parent_span_id: s.parent.map(|p| p.to_vec()).unwrap_or_default(),
                // Bit 8 (0x100): the parent's remoteness is known; 0x1: sampled.
                flags: 0x101,
                name: s.name.into_owned(),
                kind: kind as i32,
                start_time_unix_nano: s.start,
                end_time_unix_nano: s.end,
                attributes: s
                    .attributes
                    .into_iter()
                    .map(|(k, v)| key_value(k.into_owned(), proto_value(v)))
                    .collect(),
                status: Some(Status {
                    message: String::new(),
                    code: if s.error {
                        status::StatusCode::Error as i32
                    } else {
                        status::StatusCode::Unset as i32
                    },
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource
                    .attributes
                    .iter()
                    .map(|(k, v)| key_value(k.clone(), any_value::Value::StringValue(v.clone())))
                    .collect(),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "swarmgate".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
