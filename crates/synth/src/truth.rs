//! Findings: what `truth.jsonl` lists, and their identity (the scorer's key).

use crate::util::NONE;
use crate::world::Ent;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) enum Pattern {
    RelativeWins,
    SelfDealing,
    LinkedSubsidy,
    BidRigging,
    BlacklistedBidder,
    DeceasedRecipient,
    RevolvingDoor,
    UndeclaredInterest,
    EvaluatorConflict,
    DoubleDipping,
    ShellRecipient,
    SplitApplication,
    ColleagueSubsidy,
}

pub(crate) const PATTERNS: [Pattern; 13] = [
    Pattern::RelativeWins,
    Pattern::SelfDealing,
    Pattern::LinkedSubsidy,
    Pattern::BidRigging,
    Pattern::BlacklistedBidder,
    Pattern::DeceasedRecipient,
    Pattern::RevolvingDoor,
    Pattern::UndeclaredInterest,
    Pattern::EvaluatorConflict,
    Pattern::DoubleDipping,
    Pattern::ShellRecipient,
    Pattern::SplitApplication,
    Pattern::ColleagueSubsidy,
];

impl Pattern {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Pattern::RelativeWins => "relative_wins",
            Pattern::SelfDealing => "self_dealing",
            Pattern::LinkedSubsidy => "linked_subsidy",
            Pattern::BidRigging => "bid_rigging",
            Pattern::BlacklistedBidder => "blacklisted_bidder",
            Pattern::DeceasedRecipient => "deceased_recipient",
            Pattern::RevolvingDoor => "revolving_door",
            Pattern::UndeclaredInterest => "undeclared_interest",
            Pattern::EvaluatorConflict => "evaluator_conflict",
            Pattern::DoubleDipping => "double_dipping",
            Pattern::ShellRecipient => "shell_recipient",
            Pattern::SplitApplication => "split_application",
            Pattern::ColleagueSubsidy => "colleague_subsidy",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) enum Kind {
    Planted,
    Incidental,
    Decoy,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Planted => "planted",
            Kind::Incidental => "incidental",
            Kind::Decoy => "decoy",
        }
    }
}

/// What a finding is about: a contract, a tender, a subsidy, or nothing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) enum RefId {
    None,
    Contract(u32),
    Tender(u32),
    Subsidy(u32),
}

/// One step of an evidence path. `Phone(c)` / `Addr(c)` stand for company `c`'s phone
/// or address (written as `phone:...` / `addr:...`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tok {
    P(u32),
    C(u32),
    A(u32),
    T(u32),
    K(u32),
    S(u32),
    Phone(u32),
    Addr(u32),
}

impl From<Ent> for Tok {
    fn from(e: Ent) -> Tok {
        match e {
            Ent::P(p) => Tok::P(p),
            Ent::C(c) => Tok::C(c),
        }
    }
}

/// The identity of a finding, as `score.py`'s `key()` sees it.
pub(crate) type Key = (Pattern, u32, Ent, Option<Ent>, RefId);

#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub pattern: Pattern,
    /// Person id of the official, or NONE.
    pub official: u32,
    pub target: Ent,
    pub target2: Option<Ent>,
    pub r: RefId,
    pub path: Vec<Tok>,
    pub extra: Vec<(&'static str, String)>,
}

impl Finding {
    pub(crate) fn new(
        pattern: Pattern,
        official: u32,
        target: Ent,
        r: RefId,
        path: Vec<Tok>,
    ) -> Finding {
        Finding {
            pattern,
            official,
            target,
            target2: None,
            r,
            path,
            extra: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, k: &'static str, v: &dyn std::fmt::Display) -> Finding {
        self.extra.push((k, v.to_string()));
        self
    }

    pub(crate) fn key(&self) -> Key {
        let p = self.pattern;
        match p {
            Pattern::BidRigging | Pattern::SplitApplication => {
                let y = self.target2.unwrap_or(self.target);
                let (a, b) = if self.target <= y {
                    (self.target, y)
                } else {
                    (y, self.target)
                };
                (p, NONE, a, Some(b), self.r)
            }
            Pattern::UndeclaredInterest => (p, self.official, self.target, None, RefId::None),
            Pattern::BlacklistedBidder
            | Pattern::DeceasedRecipient
            | Pattern::DoubleDipping
            | Pattern::ShellRecipient => (p, NONE, self.target, None, self.r),
            _ => (p, self.official, self.target, None, self.r),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Truth {
    pub kind: Kind,
    pub f: Finding,
}
