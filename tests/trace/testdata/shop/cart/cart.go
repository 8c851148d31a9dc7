// Package cart keeps the items of a shopping cart.
package cart

import "sync"

// Cart is shared by the request handlers of one session.
type Cart struct {
	mu    sync.Mutex
	items map[string]int
}

func New() *Cart {
	return &Cart{items: map[string]int{}}
}

// Add puts n more of an item in the cart.
func (c *Cart) Add(id string, n int) {
	c.items[id] += n
}

// Remove takes an item out of the cart.
func (c *Cart) Remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, id)
}

// Count is how many of an item the cart holds.
func (c *Cart) Count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items[id]
}
