//! Tokens of the query language.

use crate::ast::Pos;
use crate::RuleError;

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it starts.
    pub pos: Pos,
}

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Num(f64),
    /// `'text'`
    Str(String),
    /// Punctuation, as written.
    Punct(&'static str),
    /// End of input.
    End,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(i) => format!("`{i}`"),
            Tok::Num(n) => format!("`{n}`"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::End => "the end of the query".into(),
        }
    }
}

const PUNCT: &[&str] = &[
    "->", "<-", "<=", ">=", "<>", "..", "!=", "(", ")", "[", "]", "{", "}", ",", ":", "|", "*",
    ".", "=", "<", ">", "-", "!", "+", "?",
];

/// Splits `src` into tokens. `origin` is the position of `src`'s first character in the file.
pub fn lex(src: &str, origin: Pos) -> Result<Vec<Token>, RuleError> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0usize, origin.line, origin.col);
    let advance = |i: &mut usize, line: &mut u32, col: &mut u32, n: usize, chars: &[char]| {
        for _ in 0..n {
            if chars[*i] == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1, &chars);
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                pos,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            let is_float =
                chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if is_float {
                advance(&mut i, &mut line, &mut col, 1, &chars);
                while i < chars.len() && chars[i].is_ascii_digit() {
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                let text: String = chars[start..i].iter().collect();
                let v = text
                    .parse()
                    .map_err(|_| RuleError::at(pos, format!("bad number {text}")))?;
                out.push(Token {
                    tok: Tok::Num(v),
                    pos,
                });
            } else {
                let text: String = chars[start..i].iter().collect();
                let v = text
                    .parse()
                    .map_err(|_| RuleError::at(pos, format!("number {text} is too large")))?;
                out.push(Token {
                    tok: Tok::Int(v),
                    pos,
                });
            }
            continue;
        }
        if c == '\'' {
            advance(&mut i, &mut line, &mut col, 1, &chars);
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(RuleError::at(
                            pos,
                            "unterminated string: expected a closing '",
                        ))
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        advance(&mut i, &mut line, &mut col, 2, &chars);
                    }
                    Some('\'') => {
                        advance(&mut i, &mut line, &mut col, 1, &chars);
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        advance(&mut i, &mut line, &mut col, 1, &chars);
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match PUNCT.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    pos,
                });
                advance(&mut i, &mut line, &mut col, p.len(), &chars);
            }
            None => return Err(RuleError::at(pos, format!("unexpected character {c:?}"))),
        }
    }
    out.push(Token {
        tok: Tok::End,
        pos: Pos { line, col },
    });
    Ok(out)
}
