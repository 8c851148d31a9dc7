module stdmaps

go 1.25
