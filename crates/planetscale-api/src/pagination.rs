//! Paged lists as streams that follow `next_page` until it is `null`.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::client::Client;
use crate::models::Page;
use crate::request::Request;

/// A stream of list items, fetched a page at a time as it is polled. Owns a client clone, so
/// it can outlive the borrow it was created from.
pub type Paged<T> = BoxStream<'static, Result<T>>;

/// What to fetch for each page.
pub(crate) struct ListRequest {
    pub(crate) operation: &'static str,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(&'static str, String)>,
}

impl ListRequest {
    pub(crate) fn new<S: ToString>(operation: &'static str, segments: &[S]) -> Self {
        Self {
            operation,
            segments: segments.iter().map(ToString::to_string).collect(),
            query: Vec::new(),
        }
    }

    pub(crate) fn query(mut self, pairs: Vec<(&'static str, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    fn page_request(&self, page: u32, per_page: u32) -> Request {
        let mut query = self.query.clone();
        query.push(("page", page.to_string()));
        query.push(("per_page", per_page.to_string()));
        Request::new(self.operation, Method::GET, &self.segments).query(query)
    }
}

impl Client {
    /// Streams every item of a paged list.
    pub(crate) fn paginate<T>(&self, list: ListRequest) -> Paged<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let per_page = self.inner.page_size;
        stream::try_unfold(
            (client, list, Some(1u32)),
            move |(client, list, next)| async move {
                let Some(page_number) = next else {
                    return Ok(None);
                };
                let page: Page<T> = client
                    .send(list.page_request(page_number, per_page))
                    .await?;
                // Stop on a missing next page, and on one that does not move forward (a server bug
                // must not turn into an endless loop).
                let next = page.next_page.filter(|n| *n > page_number);
                Ok(Some((page.data, (client, list, next))))
            },
        )
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Collects every item of a paged list.
    pub(crate) async fn collect_all<T>(&self, list: ListRequest) -> Result<Vec<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.paginate(list).try_collect().await
    }
}
