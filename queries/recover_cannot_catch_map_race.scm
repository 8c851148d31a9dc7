; GML002 recover-cannot-catch-map-race: every call of the builtin recover().
; The rule keeps those that a defer statement makes (directly, or from a
; deferred function literal).
((call_expression
   function: (identifier) @recover
   arguments: (argument_list)) @call
  (#eq? @recover "recover"))
