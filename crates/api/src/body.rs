//! Request bodies read with a hard size cap and parsed with errors that point at the problem.

use actix_web::web;
use futures::StreamExt;
use serde_json::Value as Json;
use weft_runtime::Error;

use crate::error::{ApiError, RequestError};

pub const RECORD_LIMIT: usize = 1024 * 1024;
pub const BULK_LIMIT: usize = 16 * 1024 * 1024;
pub const META_LIMIT: usize = 4 * 1024 * 1024;
pub const FILE_LIMIT: usize = 100 * 1024 * 1024;

/// Read the whole body, refusing more than `limit` bytes (streams are otherwise unbounded).
pub async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| RequestError::BadBody(e.to_string()))?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge(format!("the body exceeds {limit} bytes")).into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Read and parse the JSON body of an operation whose document requires one: an absent (or
/// blank) body is refused with 400 `missing_body`.
pub async fn json(payload: web::Payload, limit: usize) -> Result<Json, ApiError> {
    let bytes = read_limited(payload, limit).await?;
    parse(&bytes)
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Parse a required JSON body.
pub fn parse(bytes: &[u8]) -> Result<Json, ApiError> {
    if is_blank(bytes) {
        return Err(RequestError::MissingBody.into());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        RequestError::MalformedJson(format!("{e} (line {}, column {})", e.line(), e.column()))
            .into()
    })
}
