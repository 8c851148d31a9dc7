; Shared by the package model: every go statement and the call it starts.
(go_statement
  (call_expression
    function: (_) @function
    arguments: (argument_list) @arguments) @call) @go
