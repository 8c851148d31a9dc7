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
