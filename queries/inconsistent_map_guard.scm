; GML006 inconsistent-map-guard: the places where code takes a lock. A package
; without any has no guarded map, and the rule skips it; otherwise the rule
; infers from every map access which lock guards each struct-field and
; package-level map, and reports the accesses made without it.
((call_expression
   function: (selector_expression
     field: (field_identifier) @method)
   arguments: (argument_list)) @lock
  (#any-of? @method "Lock" "RLock"))
