; GML003 concurrent-map-read-write: every map read. @access is the read, @map
; the expression that names the map. Index expressions that are the targets of
; writes are dropped by the model; the rule pairs reads with concurrent writes.

; m[k], v := m[k], v, ok := m[k]
(index_expression
  operand: (_) @map) @access

; for k, v := range m
(range_clause
  right: (_) @map) @access

; len(m)
((call_expression
   function: (identifier) @builtin
   arguments: (argument_list
     .
     (_) @map
     .)) @access
  (#eq? @builtin "len"))

; h.Get(k), h.Values(k), v.Encode() on a map type of another package
; (http.Header, url.Values, ...): the model keeps only receivers of those types.
((call_expression
   function: (selector_expression
     operand: (_) @map
     field: (field_identifier) @method)) @access
  (#any-of? @method "Get" "Values" "Has" "Encode" "Clone" "Write" "WriteSubset" "Len" "Copy"))

; Hidden iteration: library functions that range over the maps passed to them.
((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     (_) @map)) @access
  (#eq? @package "json")
  (#any-of? @function "Marshal" "MarshalIndent"))

((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     (_) @map)) @access
  (#eq? @package "fmt")
  (#any-of? @function "Print" "Println" "Printf" "Sprint" "Sprintln" "Sprintf" "Fprint" "Fprintln" "Fprintf" "Errorf" "Append" "Appendf" "Appendln"))

((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     (_) @map)) @access
  (#eq? @package "log")
  (#any-of? @function "Print" "Printf" "Println" "Fatal" "Fatalf" "Fatalln" "Panic" "Panicf" "Panicln"))

((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     (_) @map)) @access
  (#eq? @package "reflect")
  (#eq? @function "DeepEqual"))

((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     (_) @map)) @access
  (#eq? @package "maps")
  (#any-of? @function "Keys" "Values" "All" "Clone" "Equal" "EqualFunc"))

; maps.Copy(dst, src) iterates src.
((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     .
     (_)
     (_) @map)) @access
  (#eq? @package "maps")
  (#eq? @function "Copy"))
