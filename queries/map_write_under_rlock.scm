; GML004 map-write-under-rlock: every `x.RLock()` statement. The rule looks for
; map writes that follow it while only this read lock is held.
(expression_statement
  (call_expression
    function: (selector_expression
      field: (field_identifier) @method)
    arguments: (argument_list)) @rlock
  (#eq? @method "RLock"))
