//! `/api/v1/format_query` and `/api/v1/parse_query`: answers, POST forms, parse errors.

use super::*;

fn syntax_app() -> Router {
    app(Arc::new(FakeStore::default()))
}

#[tokio::test]
async fn format_query_returns_the_prettified_expression() {
    let answer = get(
        syntax_app(),
        "/api/v1/format_query?query=sum(rate(x%7Bjob%3D%22a%22%7D%5B5m%5D))by(job)",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": "sum by (job) (rate(x{job=\"a\"}[5m]))"})
    );
    // `+` is a space in a form body.
    let long = format!("{0} %2B {0}", "m".repeat(60));
    let answer = post_form(
        syntax_app(),
        "/api/v1/format_query",
        &format!("query={long}"),
    )
    .await;
    let m = "m".repeat(60);
    assert_eq!(answer.json()["data"], format!("  {m}\n+\n  {m}"));
}

#[tokio::test]
async fn parse_query_returns_the_syntax_tree() {
    let answer = post_form(syntax_app(), "/api/v1/parse_query", "query=-up%20%3E%202").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    assert_eq!(data["type"], "binaryExpr");
    assert_eq!(data["op"], ">");
    assert_eq!(data["lhs"]["type"], "unaryExpr");
    assert_eq!(data["lhs"]["expr"]["name"], "up");
    assert_eq!(data["rhs"], json!({"type": "numberLiteral", "val": "2"}));
    assert_eq!(data["matching"], Value::Null);
}

#[tokio::test]
async fn unparsable_queries_are_bad_data_with_the_position() {
    for path in ["format_query", "parse_query"] {
        let answer = get(syntax_app(), &format!("/api/v1/{path}?query=sum(x)%20by")).await;
        assert_error(
            &answer,
            400,
            "bad_data",
            "invalid parameter \"query\": 1:10: parse error: unexpected end of input in grouping opts",
        );
        let answer = get(syntax_app(), &format!("/api/v1/{path}")).await;
        assert_error(&answer, 400, "bad_data", "no expression found in input");
    }
}
