//! Scanning of literal tokens: numbers, durations and quoted strings.
//!
//! The accepted shapes are upstream's (`scanNumber`, `acceptRemainingDuration`, `lexString`,
//! `lexEscape` in Prometheus 3.14 `promql/parser/lex.go`), including their quirks: a hex number
//! may not contain `e`, and a duration's units are only checked loosely here and strictly when
//! its value is taken ([`super::literals`]).

use super::lexer::{LexResult, Lexer, is_alphanumeric};
use super::literals::go_quote;
use super::token::TokenKind;

impl Lexer<'_> {
    pub(super) fn lex_number_or_duration(&mut self, start: usize) -> LexResult {
        self.pos = start;
        if self.scan_number() {
            self.emit(TokenKind::Number, start);
            return Ok(());
        }
        if self.accept_remaining_duration() {
            self.emit(TokenKind::Duration, start);
            return Ok(());
        }
        let text = go_quote(self.input.get(start..self.pos).unwrap_or(""));
        self.fail(start, format!("bad number or duration syntax: {text}"))
    }

    /// Upstream's `acceptRemainingDuration`: units after the leading digits.
    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept(b"smhdwy") {
            return false;
        }
        self.accept(b"s");
        while self.accept(b"0123456789") {
            while self.accept(b"0123456789") {}
            if !self.accept(b"smhdw") {
                return false;
            }
            self.accept(b"s");
        }
        match self.peek() {
            Some(b) if is_alphanumeric(b) => {
                self.pos += 1;
                false
            }
            _ => true,
        }
    }

    /// Upstream's `scanNumber`: decimal, hex, exponent and `_` separators; the text is validated
    /// again when its value is taken.
    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        let mut digits: &[u8] = b"0123456789";
        if self.accept(b"0") && self.accept(b"xX") {
            self.accept(b"_");
            digits = b"0123456789abcdefABCDEF";
        }
        let is = |this: &Self, set: &[u8]| this.peek().is_some_and(|b| set.contains(&b));
        self.accept(b".");
        self.accept(digits);
        let hex = digits.len() > 10;
        let (mut dot, mut exponent) = (false, false);
        while is(self, digits) || is(self, b"._eE") {
            if (is(self, b".") && dot) || (is(self, b"eE") && exponent) {
                self.pos += 1;
                return false;
            }
            if self.accept(b".") {
                dot = true;
                if self.accept(b"_.") || hex {
                    return false;
                }
                continue;
            }
            if self.accept(b"eE") {
                exponent = true;
                self.accept(b"+-");
                if self.accept(b"._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept(b"_") {
                if self.accept(b"._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            while self.accept(digits) {}
        }
        if self.pos == initial {
            return false;
        }
        !self.peek().is_some_and(is_alphanumeric)
    }

    pub(super) fn lex_string(&mut self, start: usize, quote: u8) -> LexResult {
        loop {
            let Some(c) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
                let message = if quote == b'`' {
                    "unterminated raw string"
                } else {
                    "unterminated quoted string"
                };
                return self.fail(start, message.to_owned());
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => break,
                '\n' if quote != b'`' => {
                    return self.fail(start, "unterminated quoted string".to_owned());
                }
                '\\' if quote != b'`' => {
                    if let Err(message) = self.check_escape(quote) {
                        return self.fail(start, message);
                    }
                }
                _ => {}
            }
        }
        self.emit(TokenKind::String, start);
        Ok(())
    }

    /// Validates the escape after a backslash (upstream's `lexEscape`).
    fn check_escape(&mut self, quote: u8) -> Result<(), String> {
        let Some(c) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
            return Err("escape sequence not terminated".to_owned());
        };
        self.pos += c.len_utf8();
        let (count, base, max): (usize, u32, u32) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => return Ok(()),
            c if c as u32 == u32::from(quote) => return Ok(()),
            '0'..='7' => {
                self.pos -= 1;
                (3, 8, 255)
            }
            'x' => (2, 16, 255),
            'u' => (4, 16, 0x10FFFF),
            'U' => (8, 16, 0x10FFFF),
            c => return Err(format!("unknown escape sequence U+{:04X} {c:?}", c as u32)),
        };
        let mut value: u32 = 0;
        for _ in 0..count {
            let Some(d) = self.input.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err("escape sequence not terminated".to_owned());
            };
            match d.to_digit(base) {
                Some(digit) => value = value.saturating_mul(base).saturating_add(digit),
                None => {
                    return Err(format!(
                        "illegal character U+{:04X} {d:?} in escape sequence",
                        d as u32
                    ));
                }
            }
            self.pos += d.len_utf8();
        }
        if value > max || (0xD800..0xE000).contains(&value) {
            return Err("escape sequence is an invalid Unicode code point".to_owned());
        }
        Ok(())
    }
}
