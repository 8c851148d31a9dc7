module registry

go 1.25
