; Shared by the package model: calls of functions by name, to find calls of the
; package's goroutine wrappers (functions that start their argument with `go`).
(call_expression
  function: (identifier) @callee
  arguments: (argument_list) @arguments) @call
