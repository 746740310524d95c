//! A header whose value is fixed when the program is built (`Cache-Control: no-store`). As a
//! `String`, poem-openapi would copy it into the answer and then into a `HeaderValue`: two
//! allocations per header, on endpoints that answer tens of thousands of times a second. The
//! document shows it as the string it is.

use std::borrow::Cow;

use poem::http::HeaderValue;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ToHeader, Type};

pub struct FixedHeader(pub &'static str);

impl Type for FixedHeader {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToHeader for FixedHeader {
    fn to_header(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_its_value_documented_as_a_string() {
        let header = FixedHeader("no-store").to_header().unwrap();
        assert_eq!(header, "no-store");
        assert_eq!(FixedHeader::name(), String::name());
    }
}
