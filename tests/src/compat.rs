//! The HTTP client of every harness [`SdkConfig`](aws_config::SdkConfig), with the one
//! wire fix the emulator needs.
//!
//! Why: fakecloud 0.51.0 answers operations whose output has no members (e.g.
//! `DeleteOrganization`) with HTTP 200 and the body `null`; the SDK's awsJson1_1
//! deserializer expects an object and turns the *successful* call into a
//! `ResponseError(TypeMismatch "expected object")`. AWS sends `{}` (or nothing). This
//! client rewrites a 200 response whose body is exactly `null` into `{}`, and changes
//! nothing else. Because it sits in the `SdkConfig`, any client built from a harness
//! config gets it, including the product's adapters under test.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// A plain-HTTP client (the emulator listens on 127.0.0.1 without TLS) with the fix.
pub fn emulator_http_client() -> SharedHttpClient {
    SharedHttpClient::new(EmulatorHttpClient {
        inner: aws_smithy_http_client::Builder::new().build_http(),
    })
}

#[derive(Debug)]
struct EmulatorHttpClient {
    inner: SharedHttpClient,
}

impl HttpClient for EmulatorHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NullBodyFix {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct NullBodyFix {
    inner: SharedHttpConnector,
}

impl HttpConnector for NullBodyFix {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let response = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = response.await?;
            let null_sized = response.headers().get("content-length") == Some("4");
            if response.status().as_u16() == 200 && null_sized {
                let body = std::mem::replace(response.body_mut(), SdkBody::empty());
                let bytes = ByteStream::new(body)
                    .collect()
                    .await
                    .map_err(|e| {
                        aws_smithy_runtime_api::client::result::ConnectorError::io(e.into())
                    })?
                    .into_bytes();
                let fixed = if bytes.as_ref() == b"null" {
                    response.headers_mut().insert("content-length", "2");
                    SdkBody::from("{}")
                } else {
                    SdkBody::from(bytes)
                };
                *response.body_mut() = fixed;
            }
            Ok(response)
        })
    }
}
