; GML005 sync-map-inner-map-mutation: values taken out of a sync.Map, an
; atomic.Value or an atomic.Pointer. The rule keeps the calls on such values
; and follows the loaded value to map writes made with no lock held.

; v, ok := m.Load(k), m.LoadOrStore(k, v), m.LoadAndDelete(k), m.Swap(k, v), av.Load()
((call_expression
   function: (selector_expression
     operand: (_) @container
     field: (field_identifier) @method)) @load
  (#any-of? @method "Load" "LoadOrStore" "LoadAndDelete" "Swap"))

; m.Range(func(k, v any) bool { ... })
((call_expression
   function: (selector_expression
     operand: (_) @container
     field: (field_identifier) @method)
   arguments: (argument_list
     .
     (func_literal) @callback
     .)) @load
  (#eq? @method "Range"))
