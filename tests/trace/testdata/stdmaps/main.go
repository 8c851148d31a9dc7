// A config map cloned for each reader while a reloader writes it: the
// runtime's `concurrent map clone and map write`, or, when the clone is not
// the one caught, `concurrent map writes` in the reloader.
package main

import (
	"fmt"
	"maps"
	"os"
	"sync"
)

var settings = map[string]string{}

func snapshot() map[string]string {
	return maps.Clone(settings)
}

func reload(i int) {
	settings[fmt.Sprint("key-", i%64)] = fmt.Sprint(i)
}

func keys() int {
	n := 0
	for range maps.Keys(settings) {
		n++
	}
	return n
}

func main() {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200000; i++ {
			reload(i)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 20000; i++ {
			if len(os.Args) > 1 {
				_ = keys()
			} else {
				_ = snapshot()
			}
		}
	}()
	wg.Wait()
}
