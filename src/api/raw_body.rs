//! Request bodies taken as they came, with the schema they are documented by. The OAuth
//! endpoints and the process API judge their bodies themselves, so that every problem gets the
//! answer its protocol prescribes (RFC 6749 §5.2, Flows' messages) rather than a framework error.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The media types a raw body is documented with and taken in, and whether it is required.
pub trait BodyKind {
    const CONTENT_TYPES: &'static [&'static str];
    const REQUIRED: bool;
}

/// `application/x-www-form-urlencoded`, required (the OAuth endpoints).
pub struct Form;

impl BodyKind for Form {
    const CONTENT_TYPES: &'static [&'static str] = &["application/x-www-form-urlencoded"];
    const REQUIRED: bool = true;
}

/// `application/json`, optional for some calls (the process API decides per call).
pub struct JsonBody;

impl BodyKind for JsonBody {
    const CONTENT_TYPES: &'static [&'static str] = &["application/json"];
    const REQUIRED: bool = false;
}

/// BPMN XML: `application/xml`, `text/xml`, or (as earlier clients send it) `text/plain`.
pub struct XmlBody;

impl BodyKind for XmlBody {
    const CONTENT_TYPES: &'static [&'static str] = &["application/xml", "text/xml", "text/plain"];
    const REQUIRED: bool = true;
}

/// A body of kind `K`, documented by `Doc`.
pub struct RawBody<Doc, K> {
    /// Whether the request declared the documented media type.
    pub declared: bool,
    pub bytes: Vec<u8>,
    _doc: PhantomData<(Doc, K)>,
}

pub type RawForm<Doc> = RawBody<Doc, Form>;
pub type RawJson<Doc> = RawBody<Doc, JsonBody>;
pub type RawXml = RawBody<String, XmlBody>;

impl<Doc, K: BodyKind> RawBody<Doc, K> {
    /// The media types this body may be sent as.
    pub fn accepted() -> &'static [&'static str] {
        K::CONTENT_TYPES
    }
}

impl<'a, Doc: Type, K: BodyKind + Send> ApiExtractor<'a> for RawBody<Doc, K> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        Doc::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: K::CONTENT_TYPES
                .iter()
                .map(|content_type| MetaMediaType {
                    content_type,
                    schema: Doc::schema_ref(),
                })
                .collect(),
            required: K::REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let declared = request
            .content_type()
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|ct| {
                K::CONTENT_TYPES
                    .iter()
                    .any(|accepted| ct.trim().eq_ignore_ascii_case(accepted))
            });
        let bytes = body.take()?.into_vec().await?;
        Ok(RawBody {
            declared,
            bytes,
            _doc: PhantomData,
        })
    }
}
