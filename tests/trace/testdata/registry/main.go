// The goroutines that call Add live in another package than the map.
package main

import (
	"fmt"
	"sync"

	"registry/reg"
)

func main() {
	r := reg.New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 100000; j++ {
				r.Add(fmt.Sprint(j % 100))
			}
		})
	}
	wg.Wait()
}
