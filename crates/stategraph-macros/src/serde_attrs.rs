//! The few `#[serde(...)]` attributes that change what a state key is called or whether a field
//! can be missing. Serde is the one that reads and writes the state, so the channel names must
//! be the names serde uses; everything else serde accepts is left to serde.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Error, LitStr, Result, Token};

/// What `#[serde(...)]` on the struct says.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    /// `rename_all = "..."`.
    pub(crate) rename_all: Option<RenameRule>,
    /// `default`: every field may be missing.
    pub(crate) default: bool,
}

/// What `#[serde(...)]` on a field says.
#[derive(Default)]
pub(crate) struct SerdeField {
    /// `rename = "..."`.
    pub(crate) rename: Option<String>,
    /// `skip`: not part of the state at all.
    pub(crate) skip: bool,
    /// `default` or `default = "..."`: the field may be missing.
    pub(crate) default: bool,
}

/// Serde's `rename_all` rules, applied to snake_case field names as serde does.
#[derive(Clone, Copy)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    fn parse(lit: &LitStr) -> Result<Self> {
        Ok(match lit.value().as_str() {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            other => return Err(Error::new(lit.span(), format!("unknown serde rename rule `{other}`"))),
        })
    }

    /// The key serde uses for the field `name`.
    pub(crate) fn apply(self, name: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => name.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => name.to_ascii_uppercase(),
            RenameRule::Kebab => name.replace('_', "-"),
            RenameRule::ScreamingKebab => name.to_ascii_uppercase().replace('_', "-"),
            RenameRule::Pascal => {
                let mut out = String::with_capacity(name.len());
                let mut upper = true;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.apply(name);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => pascal,
                }
            }
        }
    }
}

impl SerdeContainer {
    pub(crate) fn parse(attrs: &[Attribute]) -> Result<Self> {
        let mut out = SerdeContainer::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    out.rename_all = Some(RenameRule::parse(&one_name(&meta, "rename_all")?)?);
                } else if meta.path.is_ident("default") {
                    out.default = true;
                    skip_value(&meta)?;
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

impl SerdeField {
    pub(crate) fn parse(attrs: &[Attribute]) -> Result<Self> {
        let mut out = SerdeField::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    out.rename = Some(one_name(&meta, "rename")?.value());
                } else if meta.path.is_ident("skip") {
                    out.skip = true;
                } else if meta.path.is_ident("default") {
                    out.default = true;
                    skip_value(&meta)?;
                } else if meta.path.is_ident("flatten") {
                    return Err(meta.error(
                        "#[derive(State)] does not support #[serde(flatten)]: every state key must be a field of \
                         its own",
                    ));
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

/// Reads `name = "x"`, or `name(serialize = "x", deserialize = "x")` when both sides agree: a
/// state key has one name.
fn one_name(meta: &ParseNestedMeta<'_>, what: &str) -> Result<LitStr> {
    if meta.input.peek(Token![=]) {
        return meta.value()?.parse();
    }
    let mut ser: Option<LitStr> = None;
    let mut de: Option<LitStr> = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            ser = Some(inner.value()?.parse()?);
        } else if inner.path.is_ident("deserialize") {
            de = Some(inner.value()?.parse()?);
        } else {
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    match (ser, de) {
        (Some(s), Some(d)) if s.value() == d.value() => Ok(s),
        _ => Err(meta.error(format!(
            "#[derive(State)] needs one name per state key: use `{what} = \"...\"` (not different names for \
             serialize and deserialize)"
        ))),
    }
}

/// Consumes the value of a serde option we do not care about (`= expr` or `(...)`).
fn skip_value(meta: &ParseNestedMeta<'_>) -> Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_match_serde() {
        let name = "last_user_message";
        assert_eq!(RenameRule::Pascal.apply(name), "LastUserMessage");
        assert_eq!(RenameRule::Camel.apply(name), "lastUserMessage");
        assert_eq!(RenameRule::ScreamingSnake.apply(name), "LAST_USER_MESSAGE");
        assert_eq!(RenameRule::Kebab.apply(name), "last-user-message");
        assert_eq!(RenameRule::ScreamingKebab.apply(name), "LAST-USER-MESSAGE");
        assert_eq!(RenameRule::Lower.apply(name), name);
    }
}
