; Shared by the package model: the calls that start Go code running concurrently
; with its caller. Declarations that net/http, gRPC and `go test` call
; concurrently (ServeHTTP methods, service methods, parallel tests) are found
; from the package's declarations instead.

; go f(...), go func() { ... }(), go x.m(...)
(go_statement
  (call_expression
    function: (_) @function
    arguments: (argument_list) @arguments) @call) @go

; wg.Go(f) (sync.WaitGroup, Go 1.25), g.Go(f) and g.TryGo(f) (errgroup)
((call_expression
   function: (selector_expression
     field: (field_identifier) @method) @starter
   arguments: (argument_list
     .
     (_) @task
     .)) @call
  (#any-of? @method "Go" "TryGo"))

; time.AfterFunc(d, f)
((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @method) @starter
   arguments: (argument_list
     .
     (_)
     .
     (_) @task
     .)) @call
  (#eq? @package "time")
  (#eq? @method "AfterFunc"))

; http.HandleFunc(pattern, f) and mux.HandleFunc(pattern, f)
((call_expression
   function: (selector_expression
     field: (field_identifier) @method) @starter
   arguments: (argument_list
     .
     (_)
     .
     (_) @handler
     .)) @call
  (#eq? @method "HandleFunc"))

; http.HandlerFunc(f)
((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @method) @starter
   arguments: (argument_list
     .
     (_) @handler
     .)) @call
  (#eq? @package "http")
  (#eq? @method "HandlerFunc"))

; t.Run(name, func(t *testing.T) { ... }): a subtest, parallel if it calls t.Parallel()
((call_expression
   function: (selector_expression
     field: (field_identifier) @method) @starter
   arguments: (argument_list
     .
     (_)
     .
     (func_literal) @subtest
     .)) @call
  (#eq? @method "Run"))
