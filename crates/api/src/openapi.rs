//! The OpenAPI 3.1 description served at `/v1/openapi.json`. A test checks that every route of
//! the router is described and every described route exists. The bounds the server enforces
//! (page sizes, hops, header lengths, required body fields, enumerations) are declared here
//! from the same configuration, so that a schema-driven client never sends a request the
//! document allows and the server refuses.

use crate::Config;
use qinglian_model::EdgeKind;
use serde_json::{json, Value};

#[allow(clippy::needless_pass_by_value)] // schemas are built inline at every call site
fn q(name: &str, desc: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": desc, "schema": schema})
}

/// What the workbench accepts as a case number (`casebook::case_number`): printable, no
/// `/ ? # %`, no space at either end.
const CASE_NUMBER: &str =
    r"^[^\s/?#%\x00-\x1f\x7f-\x9f]([^/?#%\x00-\x1f\x7f-\x9f]*[^\s/?#%\x00-\x1f\x7f-\x9f])?$";

/// Free text of the workbench (titles, notes, reasons): any character but a control one,
/// save the line break.
const FREE_TEXT: &str = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$";

/// A case number in a path: what `POST /v1/cases` accepts as a number.
fn case_number(desc: &str) -> Value {
    json!({"name": "number", "in": "path", "required": true, "description": desc, "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": CASE_NUMBER}})
}

fn p(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string", "minLength": 1, "pattern": "^[^/?#%]+$"}})
}

/// Text with something in it: the server trims.
fn text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "^[!-~]"})
}

fn case(c: &Config) -> Vec<Value> {
    vec![
        json!({"name": "X-Case-Id", "in": "header", "required": true, "description": "the case this query serves (audited)", "schema": text(c.max_case_bytes)}),
        json!({"name": "X-Purpose", "in": "header", "required": true, "description": "why the data is needed (audited)", "schema": text(c.max_case_bytes)}),
    ]
}

fn op(
    c: &Config,
    summary: &str,
    roles: &str,
    params: Vec<Value>,
    body: Option<Value>,
    personal: bool,
) -> Value {
    let mut all = if personal { case(c) } else { Vec::new() };
    all.extend(params);
    let err = json!({"$ref": "#/components/responses/Error"});
    let mut responses = json!({"200": {"description": "OK"}});
    for code in [
        "400", "401", "403", "404", "405", "408", "413", "414", "429", "431", "500", "503",
    ] {
        responses[code] = err.clone();
    }
    let mut o = json!({
        "summary": summary,
        "description": format!("Roles: {roles}."),
        "parameters": all,
        "responses": responses,
    });
    if let Some(b) = body {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    o
}

const READERS: &str = "investigator, analyst (names of people without a position pseudonymised)";

/// The document, with the bounds of this server's configuration and data (`load`: the load
/// whose data it serves, the largest `since` an alert feed accepts).
pub fn document(c: &Config, load: u32) -> Value {
    let limit = || {
        q(
            "limit",
            "page size",
            false,
            json!({"type": "integer", "minimum": 1, "maximum": c.max_page}),
        )
    };
    let offset = || {
        q(
            "offset",
            "items to skip",
            false,
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
        )
    };
    let id = json!({"type": "string", "minLength": 1, "maxLength": 256});
    let ids = |max: usize| json!({"type": "array", "items": id, "maxItems": max});
    let date =
        json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"});
    let kinds: Vec<&str> = EdgeKind::ALL.iter().map(|k| k.as_str()).collect();
    let kinds = json!({"name": "kinds", "in": "query", "required": false, "style": "form", "explode": false,
        "description": "edge kinds to follow (all when absent)", "schema": {"type": "array", "items": {"type": "string", "enum": kinds}}});
    let screen_body = json!({
        "type": "object",
        "properties": {"tender": id, "agency": id, "bidders": ids(c.max_bidders), "officials": ids(c.max_bidders), "as_of": date},
        "anyOf": [{"required": ["tender"]},
                  {"required": ["agency", "bidders"], "properties": {"bidders": {"minItems": 1}}}],
    });
    let token_body = json!({
        "type": "object", "required": ["role"],
        "properties": {"role": {"type": "string", "enum": ["investigator", "analyst", "admin", "auditor"]},
                       "days": {"type": "integer", "minimum": 1, "maximum": 3650},
                       "note": {"type": "string", "maxLength": 256}},
    });
    let mut alerts = op(c, "What changed since a load: findings of the built-in rules that are new, resolved or changed, each with its first and last load seen and status (the findings store)", READERS,
        vec![q("since", "load number, at most the load served (0: everything is new)", true, json!({"type": "integer", "minimum": 0, "maximum": load})),
             q("rule", "rule id", false, json!({"type": "string"})), limit(), offset()], None, true);
    alerts["responses"]["409"] = json!({"$ref": "#/components/responses/Error"});
    let conflict = |mut o: Value| {
        o["responses"]["409"] = json!({"$ref": "#/components/responses/Error"});
        o
    };
    let err_schema = json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
        "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Qinglian investigator API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Conflicts of interest in public money, with evidence. Every call but /healthz needs a bearer token and is written to a hash-chained audit trail before the answer is sent."},
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error with a stable code", "content": {"application/json": {"schema": err_schema}}}},
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness; no authentication", "security": [], "responses": {"200": {"description": "OK"}, "429": {"$ref": "#/components/responses/Error"}}}},
            "/v1/openapi.json": {"get": op(c, "This document", "every role", vec![], None, false)},
            "/v1/entities": {"get": op(c, "Search by identifier, bundle id or name (exact identifiers first; same-name people listed separately)", READERS,
                vec![q("q", "resident ID, credit code, bundle id or name", true, json!({"type": "string", "minLength": 1, "maxLength": crate::handlers::MAX_QUERY_CHARS, "pattern": "\\S"})), limit()], None, true)},
            "/v1/entities/{id}": {"get": op(c, "An entity with its edges (paginated per kind and direction), each with validity and source row", READERS,
                vec![p("id", "bundle id, alias or identifier"), limit(), offset()], None, true)},
            "/v1/paths": {"get": op(c, "Shortest evidence chains between two entities (bidirectional, bounded)", READERS,
                vec![q("from", "entity", true, id.clone()), q("to", "entity", true, id.clone()),
                     q("max_hops", "longest chain", false, json!({"type": "integer", "minimum": 1, "maximum": c.max_hops})),
                     q("as_of", "YYYY-MM-DD: only edges holding that day", false, date.clone()),
                     kinds, q("limit", "chains", false, json!({"type": "integer", "minimum": 1, "maximum": 50}))], None, true)},
            "/v1/screen": {"post": op(c, "Pre-award screening: findings, verdict, and a signed clearance when clear", READERS, vec![],
                Some(screen_body), true)},
            "/v1/findings": {"get": op(c, "Stored screening results (every built-in rule), paginated", READERS,
                vec![q("rule", "rule id", false, json!({"type": "string"})), q("severity", "colour", false, json!({"type": "string", "enum": ["red", "yellow", "green"]})),
                     q("official", "official's id", false, json!({"type": "string"})), q("agency", "agency id", false, json!({"type": "string"})),
                     q("status", "the workbench's decision", false, json!({"type": "string", "enum": ["open", "confirmed", "dismissed"]})),
                     q("sort", "order (default: canonical)", false, json!({"type": "string", "enum": ["score", "-score", "rule", "severity"]})), limit(), offset()], None, true)},
            "/v1/findings/summary": {"get": op(c, "The dashboard: red/yellow/green per rule, per agency and per official, and what is new since the last load", READERS, vec![], None, true)},
            "/v1/findings/{id}": {"get": op(c, "One finding with its evidence, its decision (status, assignee, history) and its rule's text", READERS, vec![p("id", "finding id")], None, true)},
            "/v1/findings/{id}/state": {"post": op(c, "Decide on a finding: status (a dismissal needs a reason and holds until the evidence changes), assignee, comment", "investigator", vec![p("id", "finding id")],
                Some(json!({"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "status": {"type": "string", "enum": ["open", "confirmed", "dismissed"]}, "reason": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT},
                    "assignee": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT}, "comment": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT}}})), true)},
            "/v1/cases": {
                "get": op(c, "Cases", "investigator", vec![], None, true),
                "post": conflict(op(c, "Open a case (409 when the number is taken)", "investigator", vec![], Some(json!({"type": "object", "additionalProperties": false, "required": ["number"], "properties": {
                    "number": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": CASE_NUMBER}, "title": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT}}})), true)),
            },
            "/v1/cases/{number}": {
                "get": op(c, "A case: findings, notes, history", "investigator", vec![case_number("case number")], None, true),
                "post": op(c, "Change a case: status, assignee, a note, findings attached or detached", "investigator", vec![case_number("case number")],
                    Some(json!({"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                        "status": {"type": "string", "enum": ["open", "closed"]}, "assignee": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT},
                        "note": {"type": "string", "maxLength": 2000, "pattern": FREE_TEXT}, "attach": ids(c.max_page), "detach": ids(c.max_page)}})), true),
            },
            "/v1/cases/{number}/audit": {"get": op(c, "The audit records made under one case number", "investigator, auditor", vec![case_number("case number"), limit(), offset()], None, false)},
            "/v1/alerts": {"get": alerts},
            "/v1/officials/{id}/risk": {"get": op(c, "An official's roll-up: colour and findings per rule", READERS, vec![p("id", "official")], None, true)},
            "/v1/subgraph": {"get": op(c, "Neighbourhood export for Gephi, yEd or spreadsheets", "investigator",
                vec![q("center", "entity", true, id.clone()), q("hops", "radius", false, json!({"type": "integer", "minimum": 1, "maximum": c.max_export_hops})),
                     q("format", "file format", false, json!({"type": "string", "enum": ["json", "graphml", "gexf", "csv", "dot", "ftm"]})), q("table", "the CSV table: edges (Source,Target,…) or nodes (Id,Label,…)", false, json!({"type": "string", "enum": ["edges", "nodes"]})), q("as_of", "YYYY-MM-DD", false, date.clone())], None, true)},
            "/v1/evidence/{finding}": {"post": op(c, "Evidence bundle: finding, chain, source rows with file hashes, rule text, data version; hashed and signed", "investigator",
                vec![p("finding", "finding id")], None, true)},
            "/v1/clearances/verify": {"post": op(c, "Checks a clearance's signature and whether the data changed since", "investigator, analyst, auditor", vec![],
                Some(json!({"type": "object", "required": ["signature"], "properties": {"signature": {"type": "string"}}})), false)},
            "/v1/admin/tokens": {
                "get": op(c, "List tokens (never their secrets)", "admin", vec![], None, false),
                "post": op(c, "Create a token; the response shows it once", "admin", vec![], Some(token_body), false),
            },
            "/v1/admin/tokens/{id}": {"delete": op(c, "Revoke a token", "admin", vec![p("id", "token id")], None, false)},
            "/v1/admin/loads": {"get": op(c, "Committed loads and their files", "admin", vec![], None, false)},
            "/v1/audit": {"get": op(c, "Audit records, optionally of one case number or containing a text", "auditor",
                vec![q("case", "case number", false, json!({"type": "string"})), q("q", "text in token, route, path, query, case or purpose", false, json!({"type": "string"})), limit(), offset()], None, false)},
            "/v1/audit/verify": {"get": op(c, "Verify the audit chain", "auditor", vec![], None, false)},
        }
    })
}
