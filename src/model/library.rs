//! What the standard library (and gRPC) does with maps, for code that never
//! writes `m[k]` or `range m` itself: named types that are maps
//! (`http.Header`, `url.Values`, `textproto.MIMEHeader`, gRPC's
//! `metadata.MD`) and their methods that write or read them, and package
//! functions that iterate the maps passed to them (`json.Marshal`, `fmt` and
//! `log` printing, `reflect.DeepEqual`, the `maps` package). The access walk
//! (`access.rs`) and the access queries state the same lists; a test keeps
//! them in step.

/// Named types of other packages that are maps: (package name, type name).
pub const MAP_TYPES: &[(&str, &str)] = &[
    ("http", "Header"),
    ("url", "Values"),
    ("textproto", "MIMEHeader"),
    ("metadata", "MD"),
];

/// Methods of those types that write the map.
pub const WRITE_METHODS: &[&str] = &["Set", "Add", "Del", "Append", "Delete"];

/// Methods of those types that read the map (`Encode`, `Clone` and `Write`
/// iterate it).
pub const READ_METHODS: &[&str] = &[
    "Get",
    "Values",
    "Has",
    "Encode",
    "Clone",
    "Write",
    "WriteSubset",
    "Len",
    "Copy",
];

/// What a package function does to the maps among its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgUse {
    /// Reads (iterates) every map argument: `json.Marshal(m)`, `fmt.Println(m)`.
    ReadAll,
    /// Writes its first argument: `maps.DeleteFunc(m, f)`, `maps.Insert(m, seq)`.
    WriteFirst,
    /// Writes its first argument and iterates the others: `maps.Copy(dst, src)`.
    WriteFirstReadRest,
}

/// Package functions that iterate or write the maps passed to them:
/// (package name, functions, what they do to their map arguments).
pub const PACKAGE_CALLS: &[(&str, &[&str], ArgUse)] = &[
    ("json", &["Marshal", "MarshalIndent"], ArgUse::ReadAll),
    (
        "fmt",
        &[
            "Print", "Println", "Printf", "Sprint", "Sprintln", "Sprintf", "Fprint", "Fprintln",
            "Fprintf", "Errorf", "Append", "Appendf", "Appendln",
        ],
        ArgUse::ReadAll,
    ),
    (
        "log",
        &[
            "Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf",
            "Panicln",
        ],
        ArgUse::ReadAll,
    ),
    ("reflect", &["DeepEqual"], ArgUse::ReadAll),
    (
        "maps",
        &["Keys", "Values", "All", "Clone", "Equal", "EqualFunc"],
        ArgUse::ReadAll,
    ),
    ("maps", &["DeleteFunc", "Insert"], ArgUse::WriteFirst),
    ("maps", &["Copy"], ArgUse::WriteFirstReadRest),
];

/// How the function `package.function` uses the maps passed to it, when it is
/// one that iterates or writes them.
pub fn package_call(package: &str, function: &str) -> Option<ArgUse> {
    PACKAGE_CALLS
        .iter()
        .find(|(p, functions, _)| *p == package && functions.contains(&function))
        .map(|&(_, _, uses)| uses)
}
