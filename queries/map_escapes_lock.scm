; GML007 map-escapes-lock: a map reference taken into a variable, or returned.
; The rule keeps those taken while the map's guard is held and used after it
; is released.

; m := s.m
(short_var_declaration
  left: (expression_list
    .
    (identifier) @alias
    .)
  right: (expression_list
    .
    (_) @value
    .)) @take

; m = s.m
(assignment_statement
  left: (expression_list
    .
    (identifier) @alias
    .)
  right: (expression_list
    .
    (_) @value
    .)) @take

; var m = s.m
(var_spec
  name: (identifier) @alias
  value: (expression_list
    .
    (_) @value
    .)) @take

; return s.m
(return_statement
  (expression_list
    .
    (_) @value
    .)) @return
