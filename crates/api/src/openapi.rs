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

/// Sets the schema of an operation's 200 answer (JSON).
#[allow(clippy::needless_pass_by_value)] // schemas are built inline at every call site
fn ok(mut o: Value, schema: Value) -> Value {
    o["responses"]["200"] =
        json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    o
}

/// A reference to a component schema.
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An object with `required` keys of the given schemas (other keys allowed: answers grow).
#[allow(clippy::needless_pass_by_value)] // schemas are built inline at every call site
fn obj(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

#[allow(clippy::needless_pass_by_value)] // schemas are built inline at every call site
fn arr(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// The component schemas the answers are made of.
fn schemas() -> Value {
    let s = json!({"type": "string"});
    let sn = json!({"type": ["string", "null"]});
    let i = json!({"type": "integer"});
    let i_n = json!({"type": ["integer", "null"]});
    let n = json!({"type": "number"});
    let b = json!({"type": "boolean"});
    let colour = json!({"type": "string", "enum": ["red", "yellow", "green"]});
    json!({
        "Source": obj(json!({"file": sn, "line": i, "load": i_n}), &["line"]),
        "Validity": obj(json!({"start": sn, "end": sn}), &["start", "end"]),
        "Node": obj(json!({"id": s, "kind": s, "name": s, "source": r("Source")}), &["id", "kind", "name"]),
        "Edge": obj(json!({"from": s, "to": s, "kind": s, "label": s, "valid": r("Validity"), "source": r("Source"),
            "amount": n, "share_pct": n, "probability": n, "submitted": s, "won": b, "props": {"type": "object"}}), &["from", "to", "kind", "valid", "source"]),
        "Evidence": obj(json!({"nodes": arr(r("Node")), "edges": arr(r("Edge")), "windows": arr(s.clone())}), &["nodes", "edges"]),
        "Finding": obj(json!({"id": s, "pattern": s, "severity": colour, "score": n, "official": s, "official_name": s,
            "target": s, "target_name": s, "target2": s, "ref": s, "ref_type": s, "agency": s, "explanation": s,
            "evidence": r("Evidence"), "weakest_link": obj(json!({"a": s, "b": s, "probability": n, "status": s, "crossed": i}), &["a", "b", "probability", "status", "crossed"])}),
            &["id", "pattern", "severity", "score", "explanation", "evidence"]),
        "DataVersion": obj(json!({"generation": i, "loads": arr(obj(json!({"number": i, "bundle_sha256": s}), &["number"]))}), &["generation", "loads"]),
        "State": obj(json!({"status": {"type": "string", "enum": ["open", "confirmed", "dismissed"]}, "stale": b, "assignee": sn}), &["status"]),
        "Page": obj(json!({"limit": i, "offset": i, "total": i}), &["limit", "offset", "total"]),
        "Count": obj(json!({"red": i, "yellow": i, "green": i}), &["red", "yellow", "green"]),
        "Case": obj(json!({"number": s, "title": sn, "status": s, "assignee": sn, "created": {"type": "object"},
            "findings": {"type": ["array", "integer"]}, "history": arr(json!({"type": "object"})), "notes": arr(json!({"type": "object"}))}), &["number", "status"]),
        "AuditRecord": obj(json!({"seq": i, "prev": s, "hash": s, "entry": obj(json!({"ts": i, "route": s, "status": i}), &["ts"])}), &["seq", "hash", "entry"]),
    })
}

/// The 200 schema of each JSON route, by path and method.
fn answers() -> Vec<(&'static str, &'static str, Value)> {
    let s = json!({"type": "string"});
    let sn = json!({"type": ["string", "null"]});
    let i = json!({"type": "integer"});
    let b = json!({"type": "boolean"});
    let page = |key: &str, item: Value| json!({"allOf": [r("Page"), obj(json!({key: arr(item), "truncated": b}), &[key])]});
    vec![
        (
            "/v1/openapi.json",
            "get",
            obj(
                json!({"openapi": s, "paths": {"type": "object"}}),
                &["openapi", "paths"],
            ),
        ),
        (
            "/v1/entities",
            "get",
            obj(
                json!({"query": s, "truncated": b, "results": arr(obj(json!({"id": s, "kind": s, "name": s, "match": s}), &["id", "kind", "name"]))}),
                &["results", "truncated"],
            ),
        ),
        (
            "/v1/entities/{id}",
            "get",
            obj(
                json!({"id": s, "kind": s, "name": s, "identifier": sn, "aliases": arr(s.clone()), "attributes": {"type": "object"},
            "properties": {"type": "object"}, "source": r("Source"), "sources": arr(r("Source")), "blacklist": arr(json!({"type": "object"})),
            "edges": arr(obj(json!({"kind": s, "direction": s, "total": i, "offset": i, "truncated": b, "edges": arr(r("Edge"))}), &["kind", "direction", "edges"]))}),
                &["id", "kind", "name", "edges"],
            ),
        ),
        (
            "/v1/paths",
            "get",
            obj(
                json!({"from": r("Node"), "to": r("Node"), "hops": {"type": ["integer", "null"]}, "paths": arr(obj(json!({"hops": i, "edges": arr(r("Edge"))}), &["edges"])),
            "truncated": b, "message": s}),
                &["from", "to", "paths", "truncated"],
            ),
        ),
        (
            "/v1/screen",
            "post",
            obj(
                json!({"verdict": s, "findings": arr(r("Finding")), "checked": {"type": "object"}, "data_version": r("DataVersion"),
            "clearance": obj(json!({"clearance_id": s, "signature": s, "known_at": i}), &["clearance_id", "signature"])}),
                &["verdict", "findings", "checked", "data_version"],
            ),
        ),
        (
            "/v1/findings",
            "get",
            json!({"allOf": [page("findings", json!({"allOf": [r("Finding"), obj(json!({"state": {"anyOf": [r("State"), {"type": "null"}]}}), &[])]})),
            obj(json!({"data_version": r("DataVersion")}), &["data_version"])]}),
        ),
        (
            "/v1/findings/summary",
            "get",
            obj(
                json!({"total": i, "load": i, "data_version": r("DataVersion"),
            "rules": arr(json!({"allOf": [r("Count"), obj(json!({"rule": s}), &["rule"])]})),
            "agencies": arr(json!({"allOf": [r("Count"), obj(json!({"id": s, "name": s}), &["id"])]})),
            "officials": arr(json!({"allOf": [r("Count"), obj(json!({"id": s, "name": s}), &["id"])]})),
            "alerts": obj(json!({"new": i, "resolved": i, "changed": i}), &["new", "resolved", "changed"])}),
                &["total", "rules", "agencies", "officials"],
            ),
        ),
        (
            "/v1/findings/{id}",
            "get",
            obj(
                json!({"finding": r("Finding"), "state": {"anyOf": [r("State"), {"type": "null"}]}, "rule": obj(json!({"id": s, "text": s}), &["id"]),
            "related": arr(obj(json!({"id": s, "pattern": s, "severity": s, "score": {"type": "number"}, "explanation": s, "entities": arr(s.clone())}),
                &["id", "pattern", "severity", "explanation"])),
            "data_version": r("DataVersion")}),
                &["finding", "rule", "related", "data_version"],
            ),
        ),
        (
            "/v1/findings/{id}/state",
            "post",
            json!({"allOf": [r("State"), obj(json!({"id": s, "history": arr(json!({"type": "object"}))}), &["id", "history"])]}),
        ),
        (
            "/v1/cases",
            "get",
            obj(json!({"cases": arr(r("Case"))}), &["cases"]),
        ),
        ("/v1/cases", "post", r("Case")),
        ("/v1/cases/{number}", "get", r("Case")),
        ("/v1/cases/{number}", "post", r("Case")),
        (
            "/v1/cases/{number}/audit",
            "get",
            json!({"allOf": [page("records", r("AuditRecord")), obj(json!({"case": s}), &["case"])]}),
        ),
        (
            "/v1/alerts",
            "get",
            json!({"allOf": [page("alerts", json!({"allOf": [r("Finding"), obj(json!({"change": {"type": "string", "enum": ["new", "resolved", "changed"]},
            "first_seen": i, "last_seen": i, "status": s}), &["change"])]})), obj(json!({"since": i, "load": i, "data_version": r("DataVersion")}), &["since", "load"])]}),
        ),
        (
            "/v1/declarations/sample",
            "get",
            obj(
                json!({"sample": obj(json!({"method": s, "seed": s, "population": i,
                    "strata": arr(obj(json!({"agency": s, "rank": s, "population": i, "drawn": i}), &["agency", "rank", "population", "drawn"])),
                    "officials": arr(obj(json!({"official": s, "name": s, "agency": s, "rank": s, "key": s}), &["official", "key"]))}),
                    &["method", "seed", "population", "strata", "officials"]),
                    "data_version": r("DataVersion")}),
                &["sample", "data_version"],
            ),
        ),
        (
            "/v1/officials/{id}/risk",
            "get",
            obj(
                json!({"official": r("Node"), "colour": {"type": ["string", "null"]}, "findings": i, "by_rule": {"type": "object"},
            "finding_ids": arr(s.clone()), "data_version": r("DataVersion")}),
                &["official", "findings", "by_rule"],
            ),
        ),
        // Kept shallow: the deep version made schemathesis 4.32 crash inside its own generator
        // (CPython 3.11's AST recursion counter shared between threads, gh-106905; the probe now
        // runs one worker). The bundle's parts have the shared schemas' shapes.
        (
            "/v1/evidence/{finding}",
            "post",
            obj(
                json!({"bundle": obj(json!({"finding": obj(json!({"id": s, "pattern": s}), &["id", "pattern"]), "nodes": arr(json!({"type": "object"})), "edges": arr(json!({"type": "object"})),
            "rule": obj(json!({"id": s, "sha256": s, "text": s}), &["id", "sha256"]), "data_version": r("DataVersion")}), &["finding", "nodes", "edges", "rule", "data_version"]),
            "sha256": s, "signature": s}),
                &["bundle", "sha256", "signature"],
            ),
        ),
        (
            "/v1/clearances/verify",
            "post",
            obj(
                json!({"valid": b, "data_unchanged_since": {"type": ["boolean", "null"]}}),
                &["valid"],
            ),
        ),
        (
            "/v1/admin/tokens",
            "get",
            obj(
                json!({"tokens": arr(obj(json!({"id": s, "role": s, "revoked": b, "created": i, "expires": i}), &["id", "role", "revoked"]))}),
                &["tokens"],
            ),
        ),
        (
            "/v1/admin/tokens",
            "post",
            obj(
                json!({"id": s, "role": s, "token": s, "expires": i}),
                &["id", "role", "token"],
            ),
        ),
        (
            "/v1/admin/tokens/{id}",
            "delete",
            obj(json!({"revoked": s}), &["revoked"]),
        ),
        (
            "/v1/admin/loads",
            "get",
            obj(
                json!({"generation": i, "loads": arr(obj(json!({"number": i, "bundle_sha256": s, "files": arr(json!({"type": "object"})), "unix_time": i}), &["number"]))}),
                &["loads"],
            ),
        ),
        ("/v1/audit", "get", page("records", r("AuditRecord"))),
        (
            "/v1/audit/verify",
            "get",
            obj(
                json!({"valid": b, "records": i, "head": s}),
                &["valid", "records"],
            ),
        ),
    ]
}

const READERS: &str = "investigator, analyst (names of people without a position pseudonymised)";

/// The document, with the bounds of this server's configuration and data (`load`: the load
/// whose data it serves, the largest `since` an alert feed accepts).
pub fn document(c: &Config, load: u32) -> Value {
    let mut doc = paths(c, load);
    for (path, method, schema) in answers() {
        if let Some(o) = doc["paths"][path].get_mut(method) {
            *o = ok(o.take(), schema);
        }
    }
    doc["paths"]["/healthz"]["get"]["responses"]["200"] = json!({"description": "OK", "content": {"application/json": {"schema":
        obj(json!({"status": {"type": "string"}, "generation": {"type": "integer"}, "nodes": {"type": "integer"}}), &["status"])}}});
    doc["paths"]["/v1/subgraph"]["get"]["responses"]["200"] = subgraph_answer();
    doc["paths"]["/v1/officials/{id}/declarations"]["get"]["responses"]["200"] = sheet_answer();
    doc
}

/// A declaration sheet: JSON, a printable HTML page or CSV.
fn sheet_answer() -> Value {
    let text = json!({"schema": {"type": "string"}});
    let item = obj(
        json!({"kind": {"type": "string"}, "subject": {"type": "string"}, "relation": {"type": "string"},
               "status": {"type": "string", "enum": ["declared", "under-declared", "not declared", "not required"]},
               "evidence": {"type": "object"}}),
        &["kind", "subject", "status", "evidence"],
    );
    let sheet = obj(
        json!({"official": {"type": "string"}, "name": {"type": "string"}, "offices": arr(json!({"type": "object"})),
               "declared": arr(obj(json!({"subject": {"type": "string"}, "relation": {"type": "string"}, "confirmed": {"type": "boolean"}}), &["subject", "confirmed"])),
               "discovered": arr(item), "interest_rule": {"type": "string"}}),
        &["official", "declared", "discovered"],
    );
    json!({"description": "The comparison sheet in the format asked for", "content": {
        "application/json": {"schema": obj(json!({"sheet": sheet, "data_version": r("DataVersion")}), &["sheet", "data_version"])},
        "text/html": text, "text/csv": text}})
}

/// The subgraph download: the JSON graph, or a file in one of the other formats.
fn subgraph_answer() -> Value {
    let text = json!({"schema": {"type": "string"}});
    json!({"description": "The neighbourhood in the format asked for", "content": {
        "application/json": {"schema": obj(json!({"nodes": arr(r("Node")), "edges": arr(r("Edge")), "truncated": {"type": "boolean"}}), &["nodes", "edges", "truncated"])},
        "application/graphml+xml": text, "application/gexf+xml": text, "text/csv": text, "text/vnd.graphviz": text, "application/x-ndjson": text}})
}

/// The document's operations, before the answers' schemas are set.
fn paths(c: &Config, load: u32) -> Value {
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
            "schemas": schemas(),
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
            "/v1/findings/{id}": {"get": op(c, "One finding with its evidence, its decision (status, assignee, history), its rule's text and the other findings about the same procedure (tender)", READERS, vec![p("id", "finding id")], None, true)},
            "/v1/findings/{id}/state": {"post": op(c, "Decide on a finding: status (a dismissal needs a reason and holds until the evidence changes), assignee, comment", "investigator", vec![p("id", "finding id")],
                Some(json!({"type": "object", "additionalProperties": false, "minProperties": 1,
                    "if": {"required": ["status"], "properties": {"status": {"const": "dismissed"}}},
                    "then": {"required": ["reason"], "properties": {"reason": {"pattern": "\\S"}}},
                    "properties": {
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
            "/v1/officials/{id}/declarations": {"get": op(c, "Declaration check: what the official declared beside what the registers show, each item with its evidence and whether it was declared", "investigator",
                vec![p("id", "official"), q("format", "json, a printable html page, or csv", false, json!({"type": "string", "enum": ["json", "html", "csv"]}))], None, true)},
            "/v1/declarations/sample": {"get": op(c, "A reproducible stratified random sample of officials for a declaration check (same seed, same data, same sample)", "investigator",
                vec![q("seed", "any text", true, json!({"type": "string", "minLength": 1, "maxLength": 128})),
                     q("rate", "share of each stratum, in (0, 1]; default 0.1", false, json!({"type": "number", "exclusiveMinimum": 0, "maximum": 1})),
                     q("count", "officials in all, spread over the strata (wins over rate)", false, json!({"type": "integer", "minimum": 1, "maximum": 100000})),
                     q("agency", "agency ids, comma-separated (sub-agencies included)", false, json!({"type": "string", "maxLength": 128})),
                     q("rank", "position titles, comma-separated", false, json!({"type": "string", "maxLength": 128})),
                     q("as_of", "offices held on this day, YYYY-MM-DD (default: now)", false, date.clone())], None, true)},
            "/v1/subgraph": {"get": op(c, "Neighbourhood or finding-evidence export for Gephi, yEd, networkx, spreadsheets or FtM tools", "investigator",
                vec![q("center", "entity (required unless finding is given)", false, id.clone()),
                     q("finding", "a finding id: export its evidence chain instead of a neighbourhood", false, json!({"type": "string", "maxLength": 64})), q("hops", "radius", false, json!({"type": "integer", "minimum": 1, "maximum": c.max_export_hops})),
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
