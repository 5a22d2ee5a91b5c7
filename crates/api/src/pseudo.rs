//! Pseudonymisation for analysts: people who hold no position (relatives, owners) keep their
//! ids but lose their names and identifiers, replaced by a stable keyed pseudonym.

use crate::AppState;
use qinglian_engine::snapshot::flag;
use serde_json::Value;

/// Rewrites a response in place.
pub(crate) fn apply(st: &AppState, v: &mut Value) {
    let mut names: Vec<(String, String, String)> = Vec::new(); // (id, real, pseudonym)
    collect(st, v, &mut names);
    rewrite(v, &names);
}

fn private_person(st: &AppState, id: &str) -> bool {
    match st.snap.lookup(id) {
        Some(n) => {
            st.snap.kind_of(n) == qinglian_model::NodeKind::Person
                && st.snap.flags()[n as usize] & flag::OFFICIAL == 0
        }
        None => false,
    }
}

fn collect(st: &AppState, v: &mut Value, names: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(m) => {
            let person = m.get("kind").and_then(Value::as_str) == Some("Person");
            if let (true, Some(id)) = (
                person,
                m.get("id").and_then(Value::as_str).map(str::to_owned),
            ) {
                if private_person(st, &id) {
                    let pseudo = st.key.pseudonym(&id);
                    if let Some(Value::String(real)) = m.get("name") {
                        names.push((id.clone(), real.clone(), pseudo.clone()));
                    }
                    m.insert("name".into(), Value::String(pseudo));
                    m.remove("identifier");
                    m.remove("attributes");
                }
            }
            for (k, x) in m.iter_mut() {
                if k == "target" || k == "official" {
                    if let Some(id) = x.as_str().filter(|id| private_person(st, id)) {
                        if let Some(n) = st.snap.lookup(id) {
                            names.push((
                                id.to_owned(),
                                st.snap.name(n).to_owned(),
                                st.key.pseudonym(id),
                            ));
                        }
                    }
                }
                collect(st, x, names);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| collect(st, x, names)),
        _ => {}
    }
}

fn rewrite(v: &mut Value, names: &[(String, String, String)]) {
    match v {
        Value::Object(m) => {
            let target = m.get("target").and_then(Value::as_str).map(str::to_owned);
            let official = m.get("official").and_then(Value::as_str).map(str::to_owned);
            for (k, x) in m.iter_mut() {
                match (k.as_str(), &x) {
                    ("target_name" | "official_name", Value::String(_)) => {
                        let who = if k == "target_name" {
                            &target
                        } else {
                            &official
                        };
                        if let Some((_, _, p)) =
                            names.iter().find(|(id, ..)| Some(id) == who.as_ref())
                        {
                            *x = Value::String(p.clone());
                        }
                    }
                    ("explanation", Value::String(s)) => {
                        let mut s = s.clone();
                        for (id, real, p) in names {
                            s = s.replace(&format!("{real} ({id})"), &format!("{p} ({id})"));
                        }
                        *x = Value::String(s);
                    }
                    _ => rewrite(x, names),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, names)),
        _ => {}
    }
}
