//! How a list field merges: by key (containers by name), as a set (finalizers) or
//! atomically. The real API server reads this from struct tags; the simulator's
//! kinds only need the common ones.

/// A list field's merge semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Items are identified by these fields; the first is the strategic merge key.
    Map(&'static [&'static str]),
    /// A set of scalars (merged as a union).
    Set,
    Atomic,
}

impl ListKind {
    pub fn merge_key(self) -> Option<&'static str> {
        match self {
            ListKind::Map(keys) => keys.first().copied(),
            _ => None,
        }
    }
}

/// Semantics of the list at `path`: field names from the object root, with `*`
/// standing for "an item of the enclosing list".
pub fn list_kind(path: &[&str]) -> ListKind {
    let Some(last) = path.last() else {
        return ListKind::Atomic;
    };
    let inside_item = path.len() >= 2 && path[path.len() - 2] == "*";
    match *last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => ListKind::Map(&["name"]),
        "ports" if inside_item => ListKind::Map(&["containerPort", "protocol"]),
        "ports" if path.len() == 2 && path[0] == "spec" => ListKind::Map(&["port", "protocol"]),
        "volumeMounts" => ListKind::Map(&["mountPath"]),
        "volumeDevices" => ListKind::Map(&["devicePath"]),
        "hostAliases" => ListKind::Map(&["ip"]),
        "conditions" => ListKind::Map(&["type"]),
        "ownerReferences" => ListKind::Map(&["uid"]),
        "topologySpreadConstraints" => ListKind::Map(&["topologyKey", "whenUnsatisfiable"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// The default a key field takes when an item leaves it out (ports default to TCP),
/// so `containerPort: 8080` and `{containerPort: 8080, protocol: TCP}` are one item.
pub fn key_default(key: &str) -> Option<&'static str> {
    (key == "protocol").then_some("TCP")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_lists() {
        assert_eq!(
            list_kind(&["spec", "template", "spec", "containers"]).merge_key(),
            Some("name")
        );
        assert_eq!(
            list_kind(&["spec", "template", "spec", "containers", "*", "ports"]).merge_key(),
            Some("containerPort")
        );
        assert_eq!(list_kind(&["spec", "ports"]).merge_key(), Some("port"));
        assert_eq!(list_kind(&["metadata", "finalizers"]), ListKind::Set);
        assert_eq!(
            list_kind(&["spec", "containers", "*", "args"]),
            ListKind::Atomic
        );
    }
}
