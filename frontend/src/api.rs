//! Calls to the querier's HTTP API (relative to the console's prefix) and their errors.
//! Response types come from `shared::api` and `shared::query_result`; this module knows no
//! page.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::api::{ErrorBody, Status, Success};

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request did not get a response.
    #[error("request to {url} failed: {reason}")]
    Network {
        /// The URL asked.
        url: String,
        /// The browser's reason.
        reason: String,
    },
    /// The server answered with a Prometheus error body.
    #[error("{error_type}: {message}")]
    Server {
        /// `errorType`, e.g. `bad_data`.
        error_type: String,
        /// `error`.
        message: String,
    },
    /// The response was not the JSON expected.
    #[error("unexpected response from {url} (HTTP {status}): {reason}")]
    Decode {
        /// The URL asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// What did not parse.
        reason: String,
    },
}

/// `GET url`, decoded as a success envelope of `T`.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<Success<T>, ApiError> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|e| network(url, &e))?;
    decode(url, response).await
}

/// `POST url` with a form body, decoded as a success envelope of `T`.
pub async fn post_form<T: DeserializeOwned>(
    url: &str,
    pairs: &[(&str, String)],
) -> Result<Success<T>, ApiError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    let response = Request::post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .map_err(|e| network(url, &e))?
        .send()
        .await
        .map_err(|e| network(url, &e))?;
    decode(url, response).await
}

fn network(url: &str, e: &gloo_net::Error) -> ApiError {
    ApiError::Network {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

async fn decode<T: DeserializeOwned>(
    url: &str,
    response: Response,
) -> Result<Success<T>, ApiError> {
    let status = response.status();
    let text = response.text().await.map_err(|e| network(url, &e))?;
    decode_body(url, status, &text)
}

/// An API body: the success envelope, or the server's error, or a decode error.
pub fn decode_body<T: DeserializeOwned>(
    url: &str,
    status: u16,
    text: &str,
) -> Result<Success<T>, ApiError> {
    if let Ok(err) = serde_json::from_str::<ErrorBody>(text)
        && err.status == Status::Error
    {
        let error_type = serde_json::to_value(err.error_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(ApiError::Server {
            error_type,
            message: err.error,
        });
    }
    serde_json::from_str::<Success<T>>(text).map_err(|e| ApiError::Decode {
        url: url.to_owned(),
        status,
        reason: if (200..300).contains(&status) {
            e.to_string()
        } else {
            text.chars().take(300).collect()
        },
    })
}
