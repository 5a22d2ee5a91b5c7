//! The OpenAPI 3.1 description served at `/v1/openapi.json`. A test checks that every route of
//! the router is described and every described route exists.

use serde_json::{json, Value};

#[allow(clippy::needless_pass_by_value)] // schemas are built inline at every call site
fn q(name: &str, desc: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": desc, "schema": schema})
}

fn p(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}})
}

fn case() -> Vec<Value> {
    vec![
        json!({"name": "X-Case-Id", "in": "header", "required": true, "description": "the case this query serves (audited)", "schema": {"type": "string"}}),
        json!({"name": "X-Purpose", "in": "header", "required": true, "description": "why the data is needed (audited)", "schema": {"type": "string"}}),
    ]
}

fn op(
    summary: &str,
    roles: &str,
    params: Vec<Value>,
    body: Option<Value>,
    personal: bool,
) -> Value {
    let mut all = if personal { case() } else { Vec::new() };
    all.extend(params);
    let mut o = json!({
        "summary": summary,
        "description": format!("Roles: {roles}."),
        "parameters": all,
        "responses": {
            "200": {"description": "OK"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "413": {"$ref": "#/components/responses/Error"},
            "429": {"$ref": "#/components/responses/Error"},
            "503": {"$ref": "#/components/responses/Error"},
        },
    });
    if let Some(b) = body {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    o
}

const READERS: &str = "investigator, analyst (names of people without a position pseudonymised)";

/// The document.
pub fn document() -> Value {
    let limit = || {
        q(
            "limit",
            "page size (server maximum applies)",
            false,
            json!({"type": "integer"}),
        )
    };
    let offset = || q("offset", "items to skip", false, json!({"type": "integer"}));
    let ids = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Qinglian investigator API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Conflicts of interest in public money, with evidence. Every call but /healthz needs a bearer token and is written to a hash-chained audit trail before the answer is sent."},
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error with a stable code", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}}}},
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness; no authentication", "security": [], "responses": {"200": {"description": "OK"}}}},
            "/v1/openapi.json": {"get": op("This document", "every role", vec![], None, false)},
            "/v1/entities": {"get": op("Search by identifier, bundle id or name (exact identifiers first; same-name people listed separately)", READERS,
                vec![q("q", "resident ID, credit code, bundle id or name", true, json!({"type": "string"})), limit()], None, true)},
            "/v1/entities/{id}": {"get": op("An entity with its edges (paginated per kind and direction), each with validity and source row", READERS,
                vec![p("id", "bundle id, alias or identifier"), limit(), offset()], None, true)},
            "/v1/paths": {"get": op("Shortest evidence chains between two entities (bidirectional, bounded)", READERS,
                vec![q("from", "entity", true, json!({"type": "string"})), q("to", "entity", true, json!({"type": "string"})),
                     q("max_hops", "at most the server's bound (6)", false, json!({"type": "integer"})),
                     q("as_of", "YYYY-MM-DD: only edges holding that day", false, json!({"type": "string", "format": "date"})),
                     q("kinds", "comma-separated edge kinds", false, json!({"type": "string"})), limit()], None, true)},
            "/v1/screen": {"post": op("Pre-award screening: findings, verdict, and a signed clearance when clear", READERS, vec![],
                Some(json!({"type": "object", "properties": {"tender": {"type": "string"}, "agency": {"type": "string"}, "bidders": ids, "officials": ids,
                    "as_of": {"type": "string", "format": "date"}}})), true)},
            "/v1/findings": {"get": op("Stored screening results (every built-in rule), paginated", READERS,
                vec![q("rule", "rule id", false, json!({"type": "string"})), q("severity", "red, yellow, green", false, json!({"type": "string"})),
                     q("official", "official's id", false, json!({"type": "string"})), q("agency", "agency id", false, json!({"type": "string"})), limit(), offset()], None, true)},
            "/v1/officials/{id}/risk": {"get": op("An official's roll-up: colour and findings per rule", READERS, vec![p("id", "official")], None, true)},
            "/v1/subgraph": {"get": op("Neighbourhood export for Gephi, yEd or spreadsheets", "investigator",
                vec![q("center", "entity", true, json!({"type": "string"})), q("hops", "radius (server maximum applies)", false, json!({"type": "integer"})),
                     q("format", "json, graphml, gexf, csv or dot", false, json!({"type": "string"})), q("as_of", "YYYY-MM-DD", false, json!({"type": "string"}))], None, true)},
            "/v1/evidence/{finding}": {"post": op("Evidence bundle: finding, chain, source rows with file hashes, rule text, data version; hashed and signed", "investigator",
                vec![p("finding", "finding id")], None, true)},
            "/v1/clearances/verify": {"post": op("Checks a clearance's signature and whether the data changed since", "investigator, analyst, auditor", vec![],
                Some(json!({"type": "object"})), false)},
            "/v1/admin/tokens": {
                "get": op("List tokens (never their secrets)", "admin", vec![], None, false),
                "post": op("Create a token; the response shows it once", "admin", vec![],
                    Some(json!({"type": "object", "properties": {"role": {"type": "string"}, "days": {"type": "integer"}, "note": {"type": "string"}}})), false),
            },
            "/v1/admin/tokens/{id}": {"delete": op("Revoke a token", "admin", vec![p("id", "token id")], None, false)},
            "/v1/admin/loads": {"get": op("Committed loads and their files", "admin", vec![], None, false)},
            "/v1/audit": {"get": op("Audit records", "auditor", vec![limit(), offset()], None, false)},
            "/v1/audit/verify": {"get": op("Verify the audit chain", "auditor", vec![], None, false)},
        }
    })
}
