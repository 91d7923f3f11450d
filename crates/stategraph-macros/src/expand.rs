//! Generates the code for `#[derive(State)]` from the model read by `attrs`.
//!
//! Generated code names only `::stategraph` (and `core`/`std`), so a user crate needs no direct
//! dependency on serde, serde_json or regex. Calls to user functions are spanned at the user's
//! path, so a wrong signature is reported there.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attrs::{Bound, Channel, Check, StateField, StateStruct, option_inner};

pub(crate) fn expand(state: &StateStruct) -> TokenStream {
    let schema_impl = schema_impl(state);
    let update = update_struct(state);
    quote! {
        #schema_impl
        #update
    }
}

fn update_ident(state: &StateStruct) -> syn::Ident {
    format_ident!("{}Update", state.ident)
}

fn schema_impl(state: &StateStruct) -> TokenStream {
    let ident = &state.ident;
    let update = update_ident(state);
    let entries = state.fields.iter().map(|f| {
        let key = &f.key;
        match &f.channel {
            Channel::Managed(variant) => quote! { .managed(#key, ::stategraph::Managed::#variant) },
            _ => {
                let spec = channel_spec(f);
                quote! { .key(#key, #spec) }
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl ::stategraph::typed::StateSchema for #ident {
            type Update = #update;

            fn schema() -> ::stategraph::Schema {
                ::stategraph::Schema::new() #(#entries)*
            }
        }
    }
}

fn channel_spec(f: &StateField) -> TokenStream {
    let ty = &f.ty;
    let default = quote_spanned! {ty.span()=> ::stategraph::__private::default_value::<#ty>() };
    let spec = match &f.channel {
        Channel::LastValue => quote! { ::stategraph::ChannelSpec::last_value() },
        Channel::Builtin(name) => quote! {
            ::stategraph::ChannelSpec::reducer(::stategraph::Reducer::#name()).with_default(#default)
        },
        Channel::ReducerFn(path) => {
            let name = quote!(#path).to_string().replace(' ', "");
            let reducer = quote_spanned! {path.span()=> ::stategraph::__private::reducer_fn(#name, #path) };
            quote! { ::stategraph::ChannelSpec::reducer(#reducer).with_default(#default) }
        }
        Channel::Ephemeral => quote! { ::stategraph::ChannelSpec::ephemeral() },
        Channel::Topic { accumulate } => quote! { ::stategraph::ChannelSpec::topic(#accumulate) },
        Channel::Untracked => quote! { ::stategraph::ChannelSpec::untracked() },
        Channel::Managed(_) => unreachable!("managed values are not channels"),
    };
    if f.checks.is_empty() {
        return spec;
    }
    let checks = f.checks.iter().map(|c| check(c, ty));
    quote! {
        #spec.with_validator(::std::sync::Arc::new(
            |__value: &::stategraph::Value| -> ::core::result::Result<(), ::std::string::String> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        ))
    }
}

fn check(c: &Check, ty: &syn::Type) -> TokenStream {
    let p = quote!(::stategraph::__private);
    match c {
        Check::Length { min, max } => {
            let min = option(min.as_ref().map(|l| quote!(#l)));
            let max = option(max.as_ref().map(|l| quote!(#l)));
            quote! { #p::check_length(__value, #min, #max)?; }
        }
        Check::Range { min, max } => {
            let bound = |b: &Bound| match *b {
                Bound::Int(i) => quote!(#p::Bound::Int(#i)),
                Bound::Float(f) => quote!(#p::Bound::Float(#f)),
            };
            let min = option(min.as_ref().map(bound));
            let max = option(max.as_ref().map(bound));
            quote! { #p::check_range(__value, #min, #max)?; }
        }
        Check::Pattern(lit) => quote! {
            {
                // Compiled on first use, once per process.
                static __PATTERN: ::std::sync::OnceLock<#p::regex::Regex> = ::std::sync::OnceLock::new();
                #p::check_pattern(__value, &__PATTERN, #lit)?;
            }
        },
        Check::Custom(path) => {
            // Like the other checks, and like the `validator` crate, an `Option<T>` field's check
            // sees only present values, as `&T`.
            let call = match option_inner(ty) {
                Some(inner) => quote_spanned! {path.span()=> #p::check_custom_present::<#inner, _>(__value, #path) },
                None => quote_spanned! {path.span()=> #p::check_custom::<#ty, _>(__value, #path) },
            };
            quote! { #call?; }
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn update_struct(state: &StateStruct) -> TokenStream {
    let ident = &state.ident;
    let vis = &state.vis;
    let update = update_ident(state);
    let writable = state.fields.iter().filter(|f| !matches!(f.channel, Channel::Managed(_)));
    let struct_doc = format!(
        "A partial update of [`{ident}`], generated by `#[derive(State)]`: the fields that are `Some` are \
         written to the state (through each key's reducer, if it has one); the others are left alone. \
         Return it from a node, or pass it as the input of a run."
    );
    let fields = writable.map(|f| {
        let (name, fvis, ty, key) = (&f.ident, &f.vis, &f.update_ty, &f.key);
        let mut doc = match &f.channel {
            Channel::Builtin(r) if r == "append" => {
                format!("Appended to `{key}` as one item by the `append` reducer; `None` writes nothing.")
            }
            Channel::Builtin(r) => format!("Folded into `{key}` by the `{r}` reducer; `None` writes nothing."),
            Channel::ReducerFn(path) => {
                let path = quote!(#path).to_string().replace(' ', "");
                format!("Folded into `{key}` by the reducer `{path}`; `None` writes nothing.")
            }
            _ => format!("New value of `{key}`; `None` writes nothing."),
        };
        if option_inner(&f.ty).is_some() {
            doc.push_str(" Setting the key to `null` takes an untyped update.");
        }
        quote! {
            #[doc = #doc]
            #[serde(rename = #key, skip_serializing_if = "::core::option::Option::is_none")]
            #fvis #name: ::core::option::Option<#ty>
        }
    });
    let update_str = update.to_string();
    quote! {
        #[doc = #struct_doc]
        #[derive(
            ::core::default::Default,
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::stategraph::__private::serde::Serialize
        )]
        #[serde(crate = "::stategraph::__private::serde")]
        #vis struct #update {
            #(#fields,)*
        }

        #[automatically_derived]
        impl ::core::convert::From<#update> for ::stategraph::NodeOutput {
            fn from(update: #update) -> Self {
                ::stategraph::__private::update_output(#update_str, &update)
            }
        }

        #[automatically_derived]
        impl ::stategraph::typed::StateInput<#ident> for #update {
            fn into_input(self) -> ::stategraph::Result<::stategraph::Value> {
                ::stategraph::__private::update_input(#update_str, &self)
            }
        }
    }
}
