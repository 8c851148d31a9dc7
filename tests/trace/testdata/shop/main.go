// A shop whose cart is updated by many requests at once.
package main

import (
	"fmt"
	"sync"

	"shop/cart"
)

func main() {
	c := cart.New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				id := fmt.Sprint("sku-", j%50)
				c.Add(id, 1)
				if j%3 == 0 {
					c.Remove(id)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println(c.Count("sku-1"))
}
