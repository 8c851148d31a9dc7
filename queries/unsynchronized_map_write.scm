; GML001 unsynchronized-map-write: every map mutation. @access is the whole
; mutation, @map the expression that names the map. The rule decides whether
; @map really is a map, whether it outlives a goroutine, and whether a lock is held.

; m[k] = v and m[k] op= v, also as one of several left-hand sides
(assignment_statement
  left: (expression_list
    (index_expression
      operand: (_) @map) @access))

; m[k]++ and m[k]--
(inc_statement
  (index_expression
    operand: (_) @map) @access)

(dec_statement
  (index_expression
    operand: (_) @map) @access)

; delete(m, k) and clear(m)
((call_expression
   function: (identifier) @builtin
   arguments: (argument_list
     .
     (_) @map)) @access
  (#any-of? @builtin "delete" "clear"))

; m = make(...), s.cache = map[K]V{}, s.m = nil: replacing a shared map writes
; the variable that holds it. Here @access and @map are the same node.
(assignment_statement
  left: (expression_list
    [
      (identifier)
      (selector_expression)
    ] @map @access))

; h.Set(k, v), h.Add(k, v), h.Del(k) on a map type of another package
; (http.Header, url.Values, textproto.MIMEHeader, metadata.MD): the model
; keeps only receivers of those types (src/model/library.rs).
((call_expression
   function: (selector_expression
     operand: (_) @map
     field: (field_identifier) @method)) @access
  (#any-of? @method "Set" "Add" "Del" "Append" "Delete"))

; maps.Copy(dst, src), maps.DeleteFunc(m, f), maps.Insert(m, seq) write their
; first argument.
((call_expression
   function: (selector_expression
     operand: (identifier) @package
     field: (field_identifier) @function)
   arguments: (argument_list
     .
     (_) @map)) @access
  (#eq? @package "maps")
  (#any-of? @function "Copy" "DeleteFunc" "Insert"))
