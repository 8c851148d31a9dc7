//! Lock identity: the one name of a mutex, whatever expression reaches it.
//! `mu := &s.mu; mu.Lock()` locks `s.mu`; `s.cond.L.Lock()` locks the mutex
//! the condition variable was made with (`s.cond = sync.NewCond(&s.mu)`);
//! `s.Mutex.Lock()` is `s.Lock()`; `s.inner.mu` is `s.mu` when `inner` is an
//! embedded struct whose `mu` is promoted. Lock state and guards compare
//! locks by this name.

use tree_sitter::Node;

use super::scope::{BindKind, Resolved};
use super::types::Ty;
use super::{Package, walk};
use crate::syntax::{NodeExt, field};

/// How many aliases are followed.
const MAX_DEPTH: usize = 4;

impl<'a> Package<'a> {
    /// The name of the mutex that `operand` (the `x` of `x.Lock()`) reaches.
    pub fn canonical_lock(&self, file: usize, operand: Node<'a>) -> String {
        self.canonical_lock_at(file, operand, 0)
            .unwrap_or_else(|| self.text(file, operand).to_string())
    }

    /// The name of the value a lock belongs to (`s` in `s.mu`): as written,
    /// but for the embedded and condition-variable forms inside it. A local
    /// alias of the owner (`cc := rl.cc`) keeps its own name, as the maps
    /// reached through it do.
    fn owner_name(&self, file: usize, owner: Node<'a>, depth: usize) -> String {
        match owner.kind_name() {
            "selector_expression" => self.canonical_lock_at(file, owner, depth + 1),
            _ => None,
        }
        .unwrap_or_else(|| self.text(file, owner).to_string())
    }

    fn canonical_lock_at(&self, file: usize, operand: Node<'a>, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        match operand.kind_name() {
            "parenthesized_expression" => {
                self.canonical_lock_at(file, operand.named_child(0)?, depth + 1)
            }
            "unary_expression" => {
                let inner = self.alias_operand(file, operand)?;
                self.canonical_lock_at(file, inner, depth + 1)
            }
            // `mu := &s.mu`, then `mu.Lock()`.
            "identifier" => {
                let Resolved::Local(b) = self.resolve(file, operand) else {
                    return None;
                };
                // A mutex parameter (`mu *sync.Mutex`) that every caller fills
                // with the same mutex of its receiver (`s.visit(&s.mu)`).
                if let BindKind::Param {
                    func,
                    index,
                    role: super::scope::ParamRole::Param,
                    ..
                } = b.kind
                {
                    return self.param_mutex(file, func, index);
                }
                if !matches!(b.kind, BindKind::Var { .. }) {
                    return None;
                }
                let value = b.value()?;
                if !self.assigned_once(file, b.name) {
                    return None;
                }
                // Only an alias of a mutex: `&s.mu`, `&mu`, or a field that
                // holds a `*sync.Mutex`. (`gw := s.gateway` is another name for
                // the gateway, whose maps are reached through `gw` too.)
                let target = match value.kind_name() {
                    "unary_expression" => self.alias_operand(file, value)?,
                    "selector_expression" if self.is_mutex_field(file, value) => value,
                    _ => return None,
                };
                if !matches!(target.kind_name(), "selector_expression" | "identifier") {
                    return None;
                }
                Some(
                    self.canonical_lock_at(file, target, depth + 1)
                        .unwrap_or_else(|| self.text(file, target).to_string()),
                )
            }
            "selector_expression" => {
                let owner = operand.child_by_field_id(field::OPERAND)?;
                let field = self.text(file, operand.child_by_field_id(field::FIELD)?);
                // The mutex a `sync.Cond` was made with: `s.cond.L` is `s.mu`.
                if field == "L" {
                    if let Some(mu) = self.cond_mutex(file, owner, depth) {
                        return Some(mu);
                    }
                }
                let owner_name = self.owner_name(file, owner, depth);
                // `s.Mutex` is the mutex embedded in `s`: `s.Lock()` locks it too.
                if matches!(field, "Mutex" | "RWMutex") {
                    return Some(owner_name);
                }
                // `s.inner.mu` where `inner` is embedded: `mu` is promoted to `s.mu`.
                if let Some(inner) = operand.child_by_field_id(field::OPERAND) {
                    if let Some(promoted) = self.through_embedded(file, inner) {
                        return Some(format!("{promoted}.{field}"));
                    }
                }
                Some(format!("{owner_name}.{field}"))
            }
            _ => None,
        }
    }

    /// For `x.e` where `e` is an embedded struct field of `x`'s type, the name
    /// of `x`: fields reached through `x.e` are promoted to `x`.
    fn through_embedded(&self, file: usize, expr: Node<'a>) -> Option<String> {
        if expr.kind_name() != "selector_expression" {
            return None;
        }
        let owner = expr.child_by_field_id(field::OPERAND)?;
        let field = self.text(file, expr.child_by_field_id(field::FIELD)?);
        let Ty::Struct(t) = self.type_of(file, owner) else {
            return None;
        };
        let (tfile, ty) = self.type_decl(&t)?;
        let mut embedded = false;
        walk(ty, |n| {
            if n.kind_name() == "field_declaration" && n.child_by_field_id(field::NAME).is_none() {
                let text = n
                    .child_by_field_id(field::TYPE)
                    .map_or("", |t| self.text(tfile, t));
                let base = text.trim_start_matches('*');
                embedded |= base.rsplit('.').next() == Some(field);
            }
            !embedded
        });
        embedded.then(|| self.owner_name(file, owner, 1))
    }

    /// The mutex a condition variable was made with: for a local `c :=
    /// sync.NewCond(&mu)`, `mu`; for a field, what the package assigns it
    /// (`s.cond = sync.NewCond(&s.mu)` makes `x.cond`'s mutex `x.mu`).
    fn cond_mutex(&self, file: usize, cond: Node<'a>, depth: usize) -> Option<String> {
        let new_cond_arg = |f: usize, v: Node<'a>| -> Option<Node<'a>> {
            let function = v.child_by_field_id(field::FUNCTION)?;
            (v.kind_name() == "call_expression" && self.text(f, function).ends_with("NewCond"))
                .then(|| v.child_by_field_id(field::ARGUMENTS)?.named_child(0))?
        };
        match cond.kind_name() {
            "identifier" => {
                let Resolved::Local(b) = self.resolve(file, cond) else {
                    return None;
                };
                let arg = new_cond_arg(file, b.value()?)?;
                Some(
                    self.canonical_lock_at(file, arg, depth + 1)
                        .unwrap_or_else(|| self.text(file, arg).to_string()),
                )
            }
            "selector_expression" => {
                let owner = cond.child_by_field_id(field::OPERAND)?;
                let field = self.text(file, cond.child_by_field_id(field::FIELD)?);
                // An assignment `o.field = sync.NewCond(&o.mu)` anywhere in the package.
                for (f, source) in self.files.iter().enumerate() {
                    if !crate::queries::mentions_any(&source.text, &["NewCond"]) {
                        continue;
                    }
                    let mut found = None;
                    walk(source.tree().root_node(), |n| {
                        if found.is_some() {
                            return false;
                        }
                        if n.kind_name() == "assignment_statement"
                            || n.kind_name() == "keyed_element"
                        {
                            let (target, value) = if n.kind_name() == "keyed_element" {
                                (n.named_child(0), n.named_child(1))
                            } else {
                                (
                                    n.child_by_field_id(field::LEFT)
                                        .and_then(|l| l.named_child(0)),
                                    n.child_by_field_id(field::RIGHT)
                                        .and_then(|r| r.named_child(0)),
                                )
                            };
                            let value = value.map(|v| {
                                if v.kind_name() == "literal_element" {
                                    v.named_child(0).unwrap_or(v)
                                } else {
                                    v
                                }
                            });
                            let named = target.is_some_and(|t| {
                                let t = self.text(f, t);
                                t == field || t.ends_with(&format!(".{field}"))
                            });
                            if let (true, Some(arg)) =
                                (named, value.and_then(|v| new_cond_arg(f, v)))
                            {
                                let arg = self.alias_operand(f, arg).unwrap_or(arg);
                                // `&s.mu` -> the field `mu` of the same owner.
                                if let Some(mu) = arg.child_by_field_id(field::FIELD) {
                                    found = Some(self.text(f, mu).to_string());
                                }
                            }
                        }
                        true
                    });
                    if let Some(mu) = found {
                        let owner_name = self.owner_name(file, owner, depth);
                        return Some(format!("{owner_name}.{mu}"));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The mutex every call site of method `func` passes as parameter
    /// `index`, when each passes `&x.f` for its receiver `x`: `recv.f`.
    fn param_mutex(&self, file: usize, func: Node<'a>, index: usize) -> Option<String> {
        if func.kind_name() != "method_declaration" || self.used_as_value(file, func) {
            return None;
        }
        let recv_name = func
            .child_by_field_id(field::RECEIVER)
            .and_then(|r| r.named_child(0))
            .and_then(|p| p.child_by_field_id(field::NAME))
            .map(|n| self.text(file, n))?;
        let sites = self.call_sites(file, func);
        let mut field: Option<String> = None;
        for site in sites.iter() {
            let arg = *site.args.get(index)?;
            let arg = self.alias_operand(site.file, arg).unwrap_or(arg);
            let receiver = self.text(site.file, site.receiver?);
            let rest = self
                .text(site.file, arg)
                .strip_prefix(receiver)
                .filter(|r| r.starts_with('.'))?
                .to_string();
            match &field {
                None => field = Some(rest),
                Some(f) if *f == rest => {}
                Some(_) => return None,
            }
        }
        field.map(|f| format!("{recv_name}{f}"))
    }

    /// Whether `o.f` is a field declared as a mutex (`sync.Mutex`,
    /// `*sync.RWMutex`, ...).
    fn is_mutex_field(&self, file: usize, selector: Node<'a>) -> bool {
        let (Some(owner), Some(field)) = (
            selector.child_by_field_id(field::OPERAND),
            selector.child_by_field_id(field::FIELD),
        ) else {
            return false;
        };
        let Ty::Struct(t) = self.type_of(file, owner) else {
            return false;
        };
        let Some((tfile, ty)) = self.type_decl(&t) else {
            return false;
        };
        let field = self.text(file, field);
        let mut mutex = false;
        walk(ty, |n| {
            if n.kind_name() == "field_declaration" {
                let mut c = n.walk();
                let named = n
                    .children_by_field_name("name", &mut c)
                    .any(|f| self.text(tfile, f) == field);
                if named {
                    mutex = n
                        .child_by_field_id(field::TYPE)
                        .is_some_and(|t| self.text(tfile, t).ends_with("Mutex"));
                }
                return false;
            }
            true
        });
        mutex
    }

    /// Whether a local variable is never assigned after its declaration.
    fn assigned_once(&self, file: usize, name: Node<'a>) -> bool {
        let Some(func) = super::enclosing_function(name) else {
            return false;
        };
        let text = self.text(file, name);
        let mut reassigned = false;
        walk(func, |n| {
            if n.kind_name() == "assignment_statement" {
                let mut c = n.walk();
                reassigned |= n
                    .child_by_field_id(field::LEFT)
                    .is_some_and(|l| l.named_children(&mut c).any(|t| self.text(file, t) == text));
            }
            !reassigned
        });
        !reassigned
    }
}
