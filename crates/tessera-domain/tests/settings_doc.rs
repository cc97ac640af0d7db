//! Keeps `docs/settings.md` and `InstanceSettings` in step: every key of the
//! settings document has a row with its true default, no row names a key that
//! is gone, and every recipe is a patch the server would accept.

use std::collections::BTreeMap;

use serde_json::Value;
use tessera_domain::settings::InstanceSettings;

const DOC: &str = include_str!("../../../docs/settings.md");

/// One reference row: the key's dotted path and the text of its default cell.
struct Row {
    path: String,
    default: String,
}

/// One fenced code block: its info string (`sh`, `json`) and its body.
struct Block {
    lang: String,
    body: String,
}

/// Every leaf of the default document by dotted path. A leaf is any value that
/// is not an object with keys (arrays and `null` are leaves).
fn default_leaves() -> BTreeMap<String, Value> {
    let doc = serde_json::to_value(InstanceSettings::default()).expect("settings serialize");
    let mut out = BTreeMap::new();
    collect_leaves(&doc, "", &mut out);
    out
}

fn collect_leaves(value: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                collect_leaves(inner, &path, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// Splits a table row into its cells at every `|` not written as `\|`.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        if c == '|' && !escaped {
            cells.push(cell.trim().to_owned());
            cell.clear();
        } else {
            cell.push(c);
        }
        escaped = c == '\\';
    }
    if !cell.trim().is_empty() {
        cells.push(cell.trim().to_owned());
    }
    cells
}

/// The text of a cell that is exactly one code span (`` `x` `` or
/// ``` `` x `` ```), read as GitHub renders it: one padding space on each
/// side dropped, `\|` standing for `|`.
fn code_span(cell: &str) -> Option<String> {
    let ticks = cell.len() - cell.trim_start_matches('`').len();
    if ticks == 0 || cell.len() < 2 * ticks + 1 {
        return None;
    }
    let inner = cell.get(ticks..cell.len() - ticks)?;
    let closing = cell.get(cell.len() - ticks..)?;
    let closes_early = inner.split(|c| c != '`').any(|run| run.len() == ticks);
    if closing.chars().any(|c| c != '`')
        || inner.starts_with('`')
        || inner.ends_with('`')
        || closes_early
    {
        return None;
    }
    let inner = match inner.strip_prefix(' ').and_then(|s| s.strip_suffix(' ')) {
        Some(padded) if !padded.trim().is_empty() => padded,
        _ => inner,
    };
    Some(inner.replace("\\|", "|"))
}

fn is_key_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

/// The reference rows: table rows whose first cell is a key path in a code
/// span (header and separator rows are not).
fn documented_rows() -> Vec<Row> {
    DOC.lines()
        .filter(|line| line.trim_start().starts_with('|'))
        .map(cells)
        .filter_map(|cells| {
            let path = code_span(cells.first()?).filter(|p| is_key_path(p))?;
            let default = cells.get(2).cloned().unwrap_or_default();
            Some(Row { path, default })
        })
        .collect()
}

/// The fenced code blocks of the document, in order.
fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in DOC.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (fence, open.take()) {
            (Some(info), None) => {
                open = Some(Block {
                    lang: info.trim().to_owned(),
                    body: String::new(),
                });
            }
            (Some(_), Some(block)) => blocks.push(block),
            (None, Some(mut block)) => {
                block.body.push_str(line);
                block.body.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    blocks
}

#[test]
fn every_key_has_a_row_with_its_default() {
    let rows = documented_rows();
    for (path, default) in default_leaves() {
        let Some(row) = rows.iter().find(|r| r.path == path) else {
            panic!("docs/settings.md has no row for `{path}` (default {default})");
        };
        let text = code_span(&row.default).unwrap_or_else(|| {
            panic!(
                "the default of `{path}` must be one code span, found {:?}",
                row.default
            )
        });
        let documented: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("the default of `{path}` is not JSON ({e}): {text}");
        });
        assert_eq!(documented, default, "documented default of `{path}`");
    }
}

#[test]
fn every_row_names_a_key_once() {
    let leaves = default_leaves();
    let mut seen = Vec::new();
    for row in documented_rows() {
        assert!(
            leaves.contains_key(&row.path),
            "docs/settings.md documents `{}`, which is not a key of the settings document",
            row.path
        );
        assert!(
            !seen.contains(&row.path),
            "`{}` is documented twice",
            row.path
        );
        seen.push(row.path);
    }
}

#[test]
fn recipes_are_valid_patches_that_change_something() {
    let defaults = InstanceSettings::default();
    let recipes: Vec<Block> = blocks().into_iter().filter(|b| b.lang == "json").collect();
    assert!(!recipes.is_empty(), "docs/settings.md has no recipes");
    for recipe in recipes {
        let body: Value = serde_json::from_str(&recipe.body)
            .unwrap_or_else(|e| panic!("recipe is not JSON ({e}):\n{}", recipe.body));
        let next = defaults.merged(&body).unwrap_or_else(|e| {
            panic!(
                "recipe refused at `{}` ({}):\n{}",
                e.path, e.detail, recipe.body
            )
        });
        assert_ne!(next, defaults, "recipe changes nothing:\n{}", recipe.body);
    }
}

#[test]
fn code_blocks_are_curl_examples_and_recipes() {
    for block in blocks() {
        assert!(
            block.lang == "sh" || block.lang == "json",
            "unexpected ```{} block:\n{}",
            block.lang,
            block.body
        );
    }
}
