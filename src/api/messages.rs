//! BPMN messages: send one or an array (all or nothing), and an instance's open subscriptions.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::apex::{
    Answer, FlowsResult, Problem, RawJson, echo_all, elements, failed, found, judge_all, text,
};
use super::dto::SubscriptionItem;
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::services::App;
use crate::services::processes::{self, Message};

/// One message of `PUT /v1/messages/:message_name` (or an array of them).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct MessageIn {
    /// Correlation key name.
    pub key: Option<String>,
    /// Correlation value.
    pub value: Option<String>,
    /// Stored in the catch event's payload variable.
    pub payload: Option<Value>,
}

fn message(item: &Map<String, Value>) -> Result<Message, Problem> {
    Ok(Message {
        key: text(item, "key")?,
        value: text(item, "value")?,
        payload: item.get("payload").filter(|p| !p.is_null()).cloned(),
    })
}

pub struct MessagesApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Messages")]
impl MessagesApi {
    /// Open message subscriptions of an instance.
    ///
    /// Needs the Admin role; without it the answer is an empty collection. Each item names the
    /// message and the correlation `key` and `value` it expects (`null` when it has none);
    /// `limit` (default 100, at most 1000) and `offset` page the list. An unknown instance has
    /// none.
    #[oai(
        path = "/v1/processes/:prcs_id/message_subscriptions",
        method = "get",
        operation_id = "listMessageSubscriptions"
    )]
    async fn subscriptions(
        &self,
        _auth: BearerAuth,
        req: &Request,
        prcs_id: Path<i64>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<SubscriptionItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let all = found(processes::show(&self.app, prcs_id.0).await)?
            .map(|p| {
                p.instance
                    .subscriptions()
                    .iter()
                    .map(|s| SubscriptionItem {
                        name: s.message_name.clone(),
                        key: s.correlation_key.clone(),
                        value: s.correlation_value.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Json(Collection::from_all(
            all,
            paging,
            &self.app.public_url,
            req,
        )))
    }

    /// Send a message: one object or an array of `{key, value, payload}`, all or nothing.
    ///
    /// Needs the Messages role (403 without it). Each message must be awaited by an open
    /// subscription of a running instance; its `payload` is stored in the catch event's payload
    /// variable. A message nobody awaits is refused with 409 `Message could not be correlated`, or,
    /// in an array, with 422 `Processing Error` marking the element.
    #[oai(
        path = "/v1/messages/:message_name",
        method = "put",
        operation_id = "sendMessage"
    )]
    async fn message(
        &self,
        _auth: BearerAuth,
        message_name: Path<String>,
        body: RawJson<MessageIn>,
    ) -> FlowsResult<Json<Answer>> {
        let (items, is_array) = elements(body.parse(true)?)?;
        let messages = judge_all(&items, is_array, message)?;
        if let Err(refused) = processes::correlate(&self.app, &message_name.0, &messages).await {
            return Err(match refused.index {
                Some(index) => failed(&items, is_array, vec![(index, refused.error.into())]),
                None => refused.error.into(),
            });
        }
        Ok(Answer::new(
            "message processed",
            None,
            Some(echo_all(items)),
        ))
    }
}

impl poem_openapi::types::Example for MessageIn {
    fn example() -> Self {
        MessageIn {
            key: Some("order_id".into()),
            value: Some("A-1001".into()),
            payload: Some(serde_json::json!({"paid": 1200})),
        }
    }
}
