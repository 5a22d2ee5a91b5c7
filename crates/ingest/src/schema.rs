//! The files of a bundle and their columns (SCHEMA.md).

/// What a file describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// people.csv
    People,
    /// agencies.csv
    Agencies,
    /// companies.csv
    Companies,
    /// tenders.csv
    Tenders,
    /// contracts.csv
    Contracts,
    /// subsidies.csv
    Subsidies,
    /// positions.csv
    Positions,
    /// relations.csv
    Relations,
    /// ownership.csv
    Ownership,
    /// roles.csv
    Roles,
    /// tender_officials.csv
    TenderOfficials,
    /// bids.csv
    Bids,
    /// declarations.csv
    Declarations,
    /// blacklist.csv
    Blacklist,
    /// placeholders.csv: values that mean "no value", beyond the built-in list
    Placeholders,
}

/// A file of the bundle format: its name and its columns, all required in the header.
#[derive(Debug)]
pub struct FileSpec {
    /// What it describes.
    pub kind: FileKind,
    /// File name.
    pub name: &'static str,
    /// Columns SCHEMA.md lists; cells may be empty where SCHEMA.md allows, but the header must
    /// name every one, so that a misspelt header is an error instead of a column of blanks.
    pub columns: &'static [&'static str],
}

/// Every file, in the order they are resolved: entities before the rows that refer to them.
pub const FILES: &[FileSpec] = &[
    FileSpec {
        kind: FileKind::People,
        name: "people.csv",
        columns: &["id", "name", "id_number", "birth_date", "death_date"],
    },
    FileSpec {
        kind: FileKind::Agencies,
        name: "agencies.csv",
        columns: &["id", "name", "parent_id", "region"],
    },
    FileSpec {
        kind: FileKind::Companies,
        name: "companies.csv",
        columns: &[
            "id",
            "name",
            "credit_code",
            "address",
            "phone",
            "founded",
            "status",
        ],
    },
    FileSpec {
        kind: FileKind::Tenders,
        name: "tenders.csv",
        columns: &["id", "agency_id", "title", "budget", "published"],
    },
    FileSpec {
        kind: FileKind::Contracts,
        name: "contracts.csv",
        columns: &[
            "id",
            "agency_id",
            "company_id",
            "tender_id",
            "amount",
            "signed",
            "approver_id",
        ],
    },
    FileSpec {
        kind: FileKind::Subsidies,
        name: "subsidies.csv",
        columns: &[
            "id",
            "agency_id",
            "recipient_id",
            "amount",
            "paid",
            "approver_id",
        ],
    },
    FileSpec {
        kind: FileKind::Positions,
        name: "positions.csv",
        columns: &["person_id", "agency_id", "title", "start", "end"],
    },
    FileSpec {
        kind: FileKind::Relations,
        name: "relations.csv",
        columns: &["person_id", "relative_id", "relation"],
    },
    FileSpec {
        kind: FileKind::Ownership,
        name: "ownership.csv",
        columns: &["owner_id", "company_id", "share_pct", "start", "end"],
    },
    FileSpec {
        kind: FileKind::Roles,
        name: "roles.csv",
        columns: &["person_id", "company_id", "role", "start", "end"],
    },
    FileSpec {
        kind: FileKind::TenderOfficials,
        name: "tender_officials.csv",
        columns: &["tender_id", "person_id", "role"],
    },
    FileSpec {
        kind: FileKind::Bids,
        name: "bids.csv",
        columns: &["tender_id", "company_id", "amount", "submitted", "won"],
    },
    FileSpec {
        kind: FileKind::Declarations,
        name: "declarations.csv",
        columns: &["person_id", "subject_id", "relation"],
    },
    FileSpec {
        kind: FileKind::Blacklist,
        name: "blacklist.csv",
        columns: &["entity_id", "reason", "listed", "source"],
    },
    FileSpec {
        kind: FileKind::Placeholders,
        name: "placeholders.csv",
        columns: &["value", "field"],
    },
];

/// The spec of a file name.
pub fn spec(name: &str) -> Option<&'static FileSpec> {
    FILES.iter().find(|f| f.name == name)
}

/// The kind of node an entity file's rows become (`None` for relationship files and the
/// blacklist).
pub fn node_kind(kind: FileKind) -> Option<qinglian_model::NodeKind> {
    use qinglian_model::NodeKind;
    match kind {
        FileKind::People => Some(NodeKind::Person),
        FileKind::Agencies => Some(NodeKind::Agency),
        FileKind::Companies => Some(NodeKind::Company),
        FileKind::Tenders => Some(NodeKind::Tender),
        FileKind::Contracts => Some(NodeKind::Contract),
        FileKind::Subsidies => Some(NodeKind::Subsidy),
        _ => None,
    }
}

/// The file whose rows describe nodes of `kind`.
pub fn entity_file(kind: qinglian_model::NodeKind) -> &'static str {
    FILES
        .iter()
        .find(|f| node_kind(f.kind) == Some(kind))
        .map_or("?", |f| f.name)
}
