//! Compile-time validation: every mistake that can be seen without running is reported here, with
//! the node or edge named.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::builder::{CompileOptions, StateGraph};
use crate::error::Error;
use crate::types::{END, START};

/// Characters that separate namespaces (`parent|child:task`), so node names cannot contain them.
const RESERVED_CHARS: [char; 2] = ['|', ':'];

pub(crate) fn validate(g: &StateGraph, options: &CompileOptions) -> crate::Result<()> {
    check_names(g)?;
    check_references(g)?;
    for (what, nodes) in
        [("interrupt_before", &options.interrupt_before), ("interrupt_after", &options.interrupt_after)]
    {
        if let Some(n) = nodes.iter().find(|n| *n != "*" && !g.nodes.contains_key(n.as_str())) {
            return Err(Error::UnknownNode { node: n.clone(), context: format!("{what} breakpoint") });
        }
        if !nodes.is_empty() && options.checkpointer.is_none() {
            tracing::warn!(what, "breakpoints without a checkpointer: a paused run cannot be resumed");
        }
    }
    let has_entry = g.edges.iter().any(|(s, _)| s == START) || g.branches.contains_key(START);
    if !has_entry {
        return Err(Error::MissingEntry);
    }
    let succ = successors(g);
    let dynamic = g.branches.values().flatten().any(|b| b.path_map.0.is_none());
    if !options.allow_unreachable && !dynamic {
        check_reachable(g, &succ)?;
    }
    check_exitless_loops(g, &succ)
}

fn check_names(g: &StateGraph) -> crate::Result<()> {
    for name in g.nodes.keys() {
        if name == START || name == END {
            return Err(Error::ReservedName { name: name.clone(), reason: "START and END are reserved".into() });
        }
        if name.is_empty() {
            return Err(Error::ReservedName { name: name.clone(), reason: "node names cannot be empty".into() });
        }
        if let Some(c) = name.chars().find(|c| RESERVED_CHARS.contains(c)) {
            return Err(Error::ReservedName {
                name: name.clone(),
                reason: format!("`{c}` is reserved (it separates namespaces)"),
            });
        }
    }
    Ok(())
}

fn check_references(g: &StateGraph) -> crate::Result<()> {
    let is_node = |n: &str| g.nodes.contains_key(n);
    let unknown = |node: &str, context: String| Error::UnknownNode { node: node.to_owned(), context };
    for (s, t) in &g.edges {
        if s == END {
            return Err(Error::InvalidGraph(format!("edge {s} -> {t}: END cannot be the start of an edge")));
        }
        if t == START {
            return Err(Error::InvalidGraph(format!("edge {s} -> {t}: START cannot be the end of an edge")));
        }
        if s != START && !is_node(s) {
            return Err(unknown(s, format!("edge {s} -> {t}")));
        }
        if t != END && !is_node(t) {
            return Err(unknown(t, format!("edge {s} -> {t}")));
        }
    }
    for (sources, t) in &g.joins {
        let label = format!("join [{}] -> {t}", sources.join(", "));
        if sources.is_empty() {
            return Err(Error::InvalidGraph(format!("{label}: a join needs at least one source")));
        }
        for s in sources {
            if !is_node(s) {
                return Err(unknown(s, label.clone()));
            }
        }
        if !is_node(t) {
            // A join into END would wait for nothing observable; LangGraph rejects it too.
            return Err(unknown(t, label));
        }
    }
    for (source, branches) in &g.branches {
        if source != START && !is_node(source) {
            return Err(unknown(source, format!("conditional edge from {source}")));
        }
        for b in branches {
            if let Some(map) = &b.path_map.0 {
                for (label, target) in map {
                    if target == START {
                        return Err(Error::InvalidGraph(format!(
                            "conditional edge from {source}: label `{label}` leads to START"
                        )));
                    }
                    if target != END && !is_node(target) {
                        return Err(unknown(target, format!("conditional edge from {source}, label `{label}`")));
                    }
                }
            }
        }
    }
    for (name, spec) in &g.nodes {
        for d in &spec.options.destinations {
            if d != END && !is_node(d) {
                return Err(unknown(d, format!("destinations of {name}")));
            }
        }
    }
    Ok(())
}

/// Static successors of every node (and START): edges, joins, path-map targets, destinations.
/// END is included as a successor so "can reach END" is a plain search.
fn successors(g: &StateGraph) -> HashMap<&str, BTreeSet<&str>> {
    let mut succ: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (s, t) in &g.edges {
        succ.entry(s).or_default().insert(t);
    }
    for (sources, t) in &g.joins {
        for s in sources {
            succ.entry(s).or_default().insert(t);
        }
    }
    for (s, branches) in &g.branches {
        for b in branches {
            if let Some(map) = &b.path_map.0 {
                succ.entry(s).or_default().extend(map.values().map(String::as_str));
            }
        }
    }
    for (name, spec) in &g.nodes {
        succ.entry(name).or_default().extend(spec.options.destinations.iter().map(String::as_str));
    }
    succ
}

fn check_reachable(g: &StateGraph, succ: &HashMap<&str, BTreeSet<&str>>) -> crate::Result<()> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([START]);
    while let Some(n) = queue.pop_front() {
        if let Some(next) = succ.get(n) {
            for m in next {
                if seen.insert(m) {
                    queue.push_back(m);
                }
            }
        }
    }
    match g.nodes.keys().find(|n| !seen.contains(n.as_str())) {
        Some(node) => Err(Error::UnreachableNode { node: node.clone() }),
        None => Ok(()),
    }
}

/// Rejects a cycle that can never be left: none of its nodes has a conditional edge or declared
/// `Command` destinations, and END cannot be reached from it. LangGraph only stops such a graph
/// at run time, with a recursion error.
fn check_exitless_loops(g: &StateGraph, succ: &HashMap<&str, BTreeSet<&str>>) -> crate::Result<()> {
    let names: Vec<&str> = g.nodes.keys().map(String::as_str).collect();
    for scc in strongly_connected(&names, succ) {
        let cyclic = scc.len() > 1 || succ.get(scc[0]).is_some_and(|s| s.contains(scc[0]));
        if !cyclic {
            continue;
        }
        let conditional = scc.iter().any(|n| {
            g.branches.contains_key(*n) || g.nodes.get(*n).is_some_and(|s| !s.options.destinations.is_empty())
        });
        if conditional || reaches(succ, &scc, END) {
            continue;
        }
        return Err(Error::LoopWithoutExit { cycle: cycle_through(&scc, succ) });
    }
    Ok(())
}

fn reaches(succ: &HashMap<&str, BTreeSet<&str>>, from: &[&str], target: &str) -> bool {
    let mut seen: BTreeSet<&str> = from.iter().copied().collect();
    let mut queue: VecDeque<&str> = from.iter().copied().collect();
    while let Some(n) = queue.pop_front() {
        for m in succ.get(n).into_iter().flatten() {
            if *m == target {
                return true;
            }
            if seen.insert(m) {
                queue.push_back(m);
            }
        }
    }
    false
}

/// A concrete cycle inside `scc`, starting at its first node (in insertion order), for the error.
fn cycle_through(scc: &[&str], succ: &HashMap<&str, BTreeSet<&str>>) -> Vec<String> {
    let start = scc[0];
    let members: BTreeSet<&str> = scc.iter().copied().collect();
    let mut prev: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for m in succ.get(n).into_iter().flatten().copied() {
            if !members.contains(m) {
                continue;
            }
            if m == start {
                let mut path = vec![start.to_owned()];
                let mut cur = n;
                let mut rev = Vec::new();
                while cur != start {
                    rev.push(cur.to_owned());
                    cur = prev[cur];
                }
                path.extend(rev.into_iter().rev());
                path.push(start.to_owned());
                return path;
            }
            if m != start && !prev.contains_key(m) {
                prev.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    scc.iter().map(|s| (*s).to_owned()).collect()
}

/// Tarjan's algorithm; components come out with their members in insertion order.
fn strongly_connected<'a>(names: &[&'a str], succ: &HashMap<&str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct Tarjan<'a, 'b> {
        succ: &'b HashMap<&'b str, BTreeSet<&'a str>>,
        order: HashMap<&'a str, usize>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<&'a str>>,
    }
    impl<'a> Tarjan<'a, '_> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            let nexts: Vec<&'a str> =
                self.succ.get(v).into_iter().flatten().copied().filter(|w| self.order.contains_key(w)).collect();
            for w in nexts {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.sort_by_key(|n| self.order[n]);
                self.out.push(comp);
            }
        }
    }
    let mut t = Tarjan {
        succ,
        order: names.iter().enumerate().map(|(i, n)| (*n, i)).collect(),
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for n in names {
        if !t.index.contains_key(n) {
            t.visit(n);
        }
    }
    t.out.sort_by_key(|c| t.order[c[0]]);
    t.out
}
