//! A tiny builder for dynamic SQL with `$N` placeholders.

use sqlx::any::AnyArguments;
use sqlx::{Arguments, Encode, Type};

/// SQL text plus its bound arguments, numbered in order of binding.
#[derive(Default)]
pub(crate) struct SqlBuf {
    pub(crate) sql: String,
    pub(crate) args: AnyArguments<'static>,
    count: usize,
}

impl SqlBuf {
    pub(crate) fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            ..Self::default()
        }
    }

    /// Appends raw SQL.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Binds a value and appends its placeholder.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, sqlx::Any> + Type<sqlx::Any>,
    {
        self.count += 1;
        // Adding to AnyArguments cannot fail for the plain types we bind.
        let _ = self.args.add(value);
        self.sql.push('$');
        self.sql.push_str(&self.count.to_string());
        self
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
