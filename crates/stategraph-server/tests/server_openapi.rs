//! `GET /openapi.json` is a valid OpenAPI 3 document that describes every route the server
//! answers, and every documented operation is routed (not the 404/405 fallback).

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use openapiv3::{OpenAPI, ReferenceOr};
use support::http::start;

#[tokio::test]
async fn openapi_json_is_valid_openapi_3_and_every_operation_is_routed() {
    let s = start().await;
    let r = s.client.get(format!("{}/openapi.json", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    let doc: OpenAPI = serde_json::from_str(&text).expect("/openapi.json parses as an OpenAPI 3 document");
    assert!(doc.openapi.starts_with("3."), "version {}", doc.openapi);

    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let ReferenceOr::Item(item) = item else { panic!("{path}: a $ref path item") };
        for (method, op) in item.iter() {
            assert!(op.operation_id.is_some(), "{method} {path} has no operationId");
            assert!(!op.responses.responses.is_empty(), "{method} {path} has no responses");
            // Every `$ref` points at a component that exists.
            for r in op.responses.responses.values() {
                if let ReferenceOr::Item(resp) = r {
                    for media in resp.content.values() {
                        if let Some(ReferenceOr::Reference { reference }) = &media.schema {
                            let name = reference.trim_start_matches("#/components/schemas/");
                            assert!(doc.components.as_ref().unwrap().schemas.contains_key(name), "{reference}");
                        }
                    }
                }
            }
            if let Some(ReferenceOr::Item(body)) = &op.request_body
                && let Some(ReferenceOr::Reference { reference }) =
                    body.content.get("application/json").and_then(|m| m.schema.as_ref())
            {
                let name = reference.trim_start_matches("#/components/schemas/");
                assert!(doc.components.as_ref().unwrap().schemas.contains_key(name), "{reference}");
            }
            // The route answers: path ids are filled with a (missing) UUID, so a routed operation
            // answers with its own 404/422/2xx, never the router's "Not Found"/"Method Not Allowed".
            let url = path
                .replace("{checkpoint_id}", "1ef4f797-8335-6428-8001-8a1503f9b875")
                .replace(['{', '}'], "")
                .replace("assistant_id", "5e0f6b46-d00f-5af4-87dc-ea2105ff526d")
                .replace("thread_id", "00000000-0000-4000-8000-000000000001")
                .replace("run_id", "00000000-0000-4000-8000-000000000002");
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let res = s
                .client
                .request(method.clone(), format!("{}{url}", s.base))
                .header("content-type", "application/json")
                .body(if method == reqwest::Method::GET || method == reqwest::Method::DELETE { "" } else { "{}" })
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            assert!(
                !(status == 404 && body == r#"{"detail":"Not Found"}"# && !path.contains("run_id")),
                "{method} {path} is documented but not routed: {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 39, "only {checked} operations documented");
    let (status, _) = s.get("/ok").await;
    assert_eq!(status, 200, "the server still serves");

    let page = s.client.get(format!("{}/docs", s.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/threads/{thread_id}/runs/stream"));
}
