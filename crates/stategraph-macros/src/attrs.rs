//! Reads a struct and its `#[state]`, `#[reducer]` and `#[validate]` attributes into a model of
//! the state schema. Every mistake is a `syn::Error` spanning the attribute that caused it.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Expr, ExprLit, ExprUnary, Fields, Ident, Lit, LitInt, LitStr, Path, Result};
use syn::{Type, UnOp, Visibility};

use crate::serde_attrs::{SerdeContainer, SerdeField};

/// The struct being derived.
pub(crate) struct StateStruct {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) fields: Vec<StateField>,
}

/// One field: one state key.
pub(crate) struct StateField {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) ty: Type,
    /// The state key (the name serde uses).
    pub(crate) key: String,
    pub(crate) channel: Channel,
    pub(crate) checks: Vec<Check>,
    /// The type of the field in the update struct (wrapped in `Option` there).
    pub(crate) update_ty: Type,
}

/// How the key's writes combine.
pub(crate) enum Channel {
    LastValue,
    /// A built-in reducer, by constructor name (`add`, `append`, ...).
    Builtin(Ident),
    /// `#[reducer(fn = path)]`.
    ReducerFn(Path),
    Ephemeral,
    Topic {
        accumulate: bool,
    },
    Untracked,
    /// A managed value; the ident is the `Managed` variant.
    Managed(Ident),
}

/// One `#[validate(...)]` rule.
pub(crate) enum Check {
    Length { min: Option<LitInt>, max: Option<LitInt> },
    Range { min: Option<Bound>, max: Option<Bound> },
    Pattern(LitStr),
    Custom(Path),
}

/// A numeric bound of `range(...)`, checked at compile time.
#[derive(Clone, Copy)]
pub(crate) enum Bound {
    Int(i128),
    Float(f64),
}

impl Bound {
    fn as_f64(self) -> f64 {
        match self {
            Bound::Int(i) => i as f64,
            Bound::Float(f) => f,
        }
    }
}

const BUILTIN_REDUCERS: [&str; 6] = ["add", "append", "extend", "merge", "min", "max"];

impl StateStruct {
    pub(crate) fn parse(input: &DeriveInput) -> Result<Self> {
        let named = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(_) | Fields::Unit => {
                    return Err(Error::new(
                        input.ident.span(),
                        "#[derive(State)] needs a struct with named fields: each field is a state key",
                    ));
                }
            },
            Data::Enum(e) => {
                return Err(Error::new(
                    e.enum_token.span,
                    "#[derive(State)] needs a struct with named fields, not an enum: each field is a state key",
                ));
            }
            Data::Union(u) => {
                return Err(Error::new(u.union_token.span, "#[derive(State)] needs a struct with named fields"));
            }
        };
        if let Some(param) = input.generics.params.first() {
            return Err(Error::new(param.span(), "#[derive(State)] does not support generic state structs"));
        }
        for attr in &input.attrs {
            if attr.path().is_ident("reducer") || attr.path().is_ident("validate") || attr.path().is_ident("state") {
                return Err(Error::new(attr.span(), "this attribute belongs on a field of the state struct"));
            }
        }
        let container = SerdeContainer::parse(&input.attrs)?;
        let mut fields = Vec::with_capacity(named.named.len());
        let mut errors: Option<Error> = None;
        for field in &named.named {
            match StateField::parse(field, &container) {
                Ok(Some(f)) => fields.push(f),
                Ok(None) => {}
                // Report every bad field at once rather than one per build.
                Err(e) => match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                },
            }
        }
        if let Some(e) = errors {
            return Err(e);
        }
        Ok(StateStruct { ident: input.ident.clone(), vis: input.vis.clone(), fields })
    }
}

impl StateField {
    /// `None` for `#[serde(skip)]` fields, which are not part of the state.
    fn parse(field: &syn::Field, container: &SerdeContainer) -> Result<Option<Self>> {
        let ident = field.ident.clone().expect("named field");
        let serde = SerdeField::parse(&field.attrs)?;
        let ours = field.attrs.iter().find(|a| ["state", "reducer", "validate"].iter().any(|n| a.path().is_ident(n)));
        if serde.skip {
            if let Some(attr) = ours {
                return Err(Error::new(
                    attr.span(),
                    "a #[serde(skip)] field is not a state key and takes no attributes",
                ));
            }
            return Ok(None);
        }
        let name = ident.unraw().to_string();
        let key = match (serde.rename, container.rename_all) {
            (Some(k), _) => k,
            (None, Some(rule)) => rule.apply(&name),
            (None, None) => name.clone(),
        };

        let mut channel: Option<(Channel, Span)> = None;
        let mut checks = Vec::new();
        for attr in &field.attrs {
            if attr.path().is_ident("reducer") {
                let parsed = parse_reducer(attr)?;
                set_channel(&mut channel, parsed, attr.span())?;
            } else if attr.path().is_ident("state") {
                attr.parse_nested_meta(|meta| {
                    let kind = parse_state_option(&meta)?;
                    set_channel(&mut channel, kind, meta.path.span())
                })?;
            } else if attr.path().is_ident("validate") {
                attr.parse_nested_meta(|meta| {
                    checks.push(parse_check(&meta)?);
                    Ok(())
                })?;
            }
        }
        let (channel, channel_span) = channel.unwrap_or((Channel::LastValue, Span::call_site()));

        let may_be_missing = serde.default || container.default || is_option(&field.ty);
        let often_missing = match &channel {
            Channel::Managed(_) => Some("a managed value is never part of the graph output"),
            Channel::Ephemeral => Some("an ephemeral key is empty except in the step after it is written"),
            Channel::Topic { .. } => Some("a topic is empty until written to"),
            _ => None,
        };
        if let (Some(why), false) = (often_missing, may_be_missing) {
            return Err(Error::new(
                channel_span,
                format!(
                    "{why}, so field `{name}` must be able to be missing: make it an `Option<_>` or add \
                     `#[serde(default)]`"
                ),
            ));
        }
        if let (Channel::Managed(_), Some(check)) =
            (&channel, field.attrs.iter().find(|a| a.path().is_ident("validate")))
        {
            return Err(Error::new(check.span(), "a managed value is computed by the engine and cannot be validated"));
        }

        // An `Option<T>` field takes a `T` update (the update struct wraps it in `Option` again,
        // `None` meaning "not written", as in diesel's changesets), and an `append` field takes
        // one item.
        let value_ty = option_inner(&field.ty).unwrap_or(&field.ty);
        let update_ty = match &channel {
            Channel::Builtin(r) if r == "append" => match vec_item(value_ty) {
                Some(item) => item.clone(),
                None => {
                    return Err(Error::new(
                        field.ty.span(),
                        "#[reducer(append)] adds one item to a list, so the field must be a `Vec<T>` (its update \
                         is one `T`); use #[reducer(add)] or #[reducer(extend)] to add lists",
                    ));
                }
            },
            _ => value_ty.clone(),
        };

        Ok(Some(StateField { ident, vis: field.vis.clone(), ty: field.ty.clone(), key, channel, checks, update_ty }))
    }
}

fn set_channel(slot: &mut Option<(Channel, Span)>, channel: Channel, span: Span) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            span,
            "a field has one channel kind: use one of #[reducer(...)], #[state(ephemeral)], #[state(topic)], \
             #[state(untracked)] or #[state(managed = \"...\")]",
        ));
    }
    *slot = Some((channel, span));
    Ok(())
}

fn parse_reducer(attr: &syn::Attribute) -> Result<Channel> {
    let mut out: Option<Channel> = None;
    attr.parse_nested_meta(|meta| {
        if out.is_some() {
            return Err(meta.error("a field has one reducer"));
        }
        if meta.path.is_ident("fn") {
            let path: Path = meta.value()?.parse()?;
            out = Some(Channel::ReducerFn(path));
            return Ok(());
        }
        if let Some(ident) = meta.path.get_ident().filter(|i| BUILTIN_REDUCERS.iter().any(|b| *i == b)) {
            out = Some(Channel::Builtin(ident.clone()));
            return Ok(());
        }
        Err(meta.error(format!(
            "unknown reducer `{}`; expected one of {}, or `fn = path::to::function`",
            path_string(&meta.path),
            BUILTIN_REDUCERS.join(", ")
        )))
    })?;
    out.ok_or_else(|| Error::new(attr.span(), "name a reducer, e.g. #[reducer(add)] or #[reducer(fn = my_reducer)]"))
}

fn parse_state_option(meta: &ParseNestedMeta<'_>) -> Result<Channel> {
    if meta.path.is_ident("ephemeral") {
        Ok(Channel::Ephemeral)
    } else if meta.path.is_ident("untracked") {
        Ok(Channel::Untracked)
    } else if meta.path.is_ident("topic") {
        let mut accumulate = false;
        if meta.input.peek(syn::token::Paren) {
            meta.parse_nested_meta(|inner| {
                if inner.path.is_ident("accumulate") {
                    accumulate = true;
                    Ok(())
                } else {
                    Err(inner.error("expected `accumulate`"))
                }
            })?;
        }
        Ok(Channel::Topic { accumulate })
    } else if meta.path.is_ident("managed") {
        let lit: LitStr = meta.value()?.parse()?;
        let variant = match lit.value().as_str() {
            "remaining_steps" => "RemainingSteps",
            "is_last_step" => "IsLastStep",
            other => {
                return Err(Error::new(
                    lit.span(),
                    format!("unknown managed value `{other}`; expected \"remaining_steps\" or \"is_last_step\""),
                ));
            }
        };
        Ok(Channel::Managed(Ident::new(variant, lit.span())))
    } else {
        Err(meta.error(format!(
            "unknown state option `{}`; expected ephemeral, topic, topic(accumulate), untracked or managed = \"...\"",
            path_string(&meta.path)
        )))
    }
}

fn parse_check(meta: &ParseNestedMeta<'_>) -> Result<Check> {
    if meta.path.is_ident("length") {
        let (mut min, mut max) = (None, None);
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("min") {
                min = Some(inner.value()?.parse::<LitInt>()?);
            } else if inner.path.is_ident("max") {
                max = Some(inner.value()?.parse::<LitInt>()?);
            } else {
                return Err(inner.error("expected `min = ...` or `max = ...`"));
            }
            Ok(())
        })?;
        for lit in min.iter().chain(max.iter()) {
            lit.base10_parse::<usize>()?;
        }
        if let (Some(lo), Some(hi)) = (&min, &max)
            && lo.base10_parse::<usize>()? > hi.base10_parse::<usize>()?
        {
            return Err(Error::new(hi.span(), "`max` is below `min`"));
        }
        if min.is_none() && max.is_none() {
            return Err(meta.error("give `min`, `max` or both, e.g. length(min = 1, max = 10)"));
        }
        Ok(Check::Length { min, max })
    } else if meta.path.is_ident("range") {
        let (mut min, mut max) = (None, None);
        let mut max_span = Span::call_site();
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("min") {
                min = Some(parse_bound(&inner.value()?.parse()?)?);
            } else if inner.path.is_ident("max") {
                let expr: Expr = inner.value()?.parse()?;
                max_span = expr.span();
                max = Some(parse_bound(&expr)?);
            } else {
                return Err(inner.error("expected `min = ...` or `max = ...`"));
            }
            Ok(())
        })?;
        if let (Some(lo), Some(hi)) = (min, max)
            && lo.as_f64() > hi.as_f64()
        {
            return Err(Error::new(max_span, "`max` is below `min`"));
        }
        if min.is_none() && max.is_none() {
            return Err(meta.error("give `min`, `max` or both, e.g. range(min = 0, max = 100)"));
        }
        Ok(Check::Range { min, max })
    } else if meta.path.is_ident("pattern") {
        let lit: LitStr = meta.value()?.parse()?;
        if let Err(e) = regex::Regex::new(&lit.value()) {
            return Err(Error::new(lit.span(), format!("invalid pattern: {e}")));
        }
        Ok(Check::Pattern(lit))
    } else if meta.path.is_ident("custom") {
        Ok(Check::Custom(meta.value()?.parse()?))
    } else {
        Err(meta.error(format!(
            "unknown validator `{}`; expected length(min = .., max = ..), range(min = .., max = ..), \
             pattern = \"...\" or custom = path::to::function",
            path_string(&meta.path)
        )))
    }
}

/// A number literal, possibly negated.
fn parse_bound(expr: &Expr) -> Result<Bound> {
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            other => return Err(Error::new(other.span(), "expected a number literal")),
        },
        other => return Err(Error::new(other.span(), "expected a number literal")),
    };
    let sign = if negative { -1 } else { 1 };
    match lit {
        Lit::Int(i) => Ok(Bound::Int(sign * i.base10_parse::<i128>()?)),
        Lit::Float(f) => Ok(Bound::Float(sign as f64 * f.base10_parse::<f64>()?)),
        other => Err(Error::new(other.span(), "expected a number literal")),
    }
}

/// Whether the type is spelled `Option<...>` (the usual way to say a key may be absent).
fn is_option(ty: &Type) -> bool {
    option_inner(ty).is_some()
}

/// `T` when the type is spelled `Option<T>` (an alias of `Option` is not recognised).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

/// `T` when the type is spelled `Vec<T>` or `VecDeque<T>`.
fn vec_item(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Vec").or_else(|| generic_arg(ty, "VecDeque"))
}

/// `T` when the type is spelled `<name><T>`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if last.ident != name {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first()? {
                    syn::GenericArgument::Type(inner) => Some(inner),
                    _ => None,
                },
                _ => None,
            }
        }
        Type::Group(g) => generic_arg(&g.elem, name),
        Type::Paren(p) => generic_arg(&p.elem, name),
        _ => None,
    }
}

fn path_string(path: &Path) -> String {
    path.segments.iter().map(|s| s.ident.unraw().to_string()).collect::<Vec<_>>().join("::")
}
