//! Request bodies taken as they came, with the schema they are documented by. The OAuth
//! endpoints and the process API judge their bodies themselves, so that every problem gets the
//! answer its protocol prescribes (RFC 6749 §5.2, Flows' messages) rather than a framework error.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The media type a raw body is documented with, and whether the body is required.
pub trait BodyKind {
    const CONTENT_TYPE: &'static str;
    const REQUIRED: bool;
}

/// `application/x-www-form-urlencoded`, required (the OAuth endpoints).
pub struct Form;

impl BodyKind for Form {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";
    const REQUIRED: bool = true;
}

/// `application/json`, optional for some calls (the process API decides per call).
pub struct JsonBody;

impl BodyKind for JsonBody {
    const CONTENT_TYPE: &'static str = "application/json";
    const REQUIRED: bool = false;
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
            content: vec![MetaMediaType {
                content_type: K::CONTENT_TYPE,
                schema: Doc::schema_ref(),
            }],
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
            .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(K::CONTENT_TYPE));
        let bytes = body.take()?.into_vec().await?;
        Ok(RawBody {
            declared,
            bytes,
            _doc: PhantomData,
        })
    }
}
